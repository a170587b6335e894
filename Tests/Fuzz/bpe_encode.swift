import Foundation

/// Any bytes through a trained byte-level BPE must decode back to themselves.
nonisolated(unsafe) let fuzzTokenizer: BPETokenizer = {
    let path =
        ProcessInfo.processInfo.environment["TESSERA_FUZZ_TOKENIZER"]
        ?? "Tests/TesseraCoreTests/Fixtures/bpe_austen2k_digits.tokenizer.json"
    return try! TokenizerFiles.load(path)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBPEEncode(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let ids = fuzzTokenizer.encode(bytes: bytes)
    guard (try? fuzzTokenizer.decodeBytes(ids)) == bytes else { fatalError("BPE round trip failed") }
    return 0
}
