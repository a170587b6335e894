import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShard(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let d = Data(bytes: data, count: size)
    _ = try? TokenShards.decodeShard(d, file: "fuzz", vocabSize: 1000)
    // The same bytes as a zstd frame's payload, so the parser past decompression is reached too.
    _ = try? TokenShards.decodeShard(Zstd.compress(d, level: 1), file: "fuzz", vocabSize: 1000)
    return 0
}
