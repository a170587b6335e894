import Foundation

/// dictd index + body (Debian FreeDict, the translation probe's source): input = index bytes, a NUL,
/// then the decompressed body. Arbitrary bytes must give an error or entries, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFreedict(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Data(bytes: data, count: size)
    let cut = input.firstIndex(of: 0) ?? input.endIndex
    let body = cut < input.endIndex ? input[(cut + 1)...] : Data()
    if let d = try? FreedictDictionary(
        index: input[..<cut], body: Data(body), indexPath: "fuzz.index", dictPath: "fuzz.dict")
    {
        _ = d.wordPairs(count: 5, seed: 1, exclude: [])
    }
    return 0
}
