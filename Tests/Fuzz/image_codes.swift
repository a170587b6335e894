import Foundation

/// An image-code manifest.json (tokenize images): arbitrary bytes must give an error, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageCodesManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    if let m = try? ImageCodes.parseManifest(Data(bytes: data, count: size), path: "fuzz") {
        _ = m.splits.values.reduce(0) { $0 + $1.images * m.tokensPerImage }
    }
    return 0
}
