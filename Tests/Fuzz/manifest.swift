import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = try? TokenShards.parseManifest(Data(bytes: data, count: size), path: "fuzz")
    return 0
}
