import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let img = try? RGBImage.decode(png: Data(bytes: data, count: size), path: "fuzz") else { return 0 }
    if img.width * img.height <= 1 << 16 { _ = img.centreCropSquare().resized(width: 8, height: 8) }
    return 0
}
