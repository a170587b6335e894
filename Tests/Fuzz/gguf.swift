import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let g = try? GGUFFile(data: Data(bytes: data, count: size), path: "fuzz") else { return 0 }
    for n in g.tensorOrder where g.tensors[n]!.count < 1 << 20 { _ = try? g.floats(n) }
    if let t = try? GGUFImport.tokenizer(g) { _ = t.encode("fuzz 123 héllo") }
    _ = try? GGUFImport.load(g, maxSeqLen: 16)
    return 0
}
