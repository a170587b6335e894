import Foundation

/// A valid token-shard manifest with fuzzed counts: vocabulary size, split and shard token
/// counts, sequence length and the text-to-image layout. Parsing must refuse, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifestValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    let shards = (0..<(1 + Int(v.byte() % 3))).map { i in
        ["file": "train-0000\(i).tok.zst", "tokens": v.small(100), "checksum": "0"] as [String: Any]
    }
    var m: [String: Any] = [
        "format": "tessera-token-shards", "format_version": 1, "vocab_size": v.small(300), "tokenizer": "bytes",
        "tokenizer_hash": "bytes",
        "sources": [], "splits": ["train": ["tokens": v.small(300), "shards": shards]],
    ]
    if v.bool() { m["sequence_length"] = v.small(100) }
    if v.bool() {
        // The layout's own form: text [0, T), image [T, T+K), specials after, vocab rounded up.
        let t = v.small(256), k = v.small(16), mult = v.small(8)
        let specials = Dictionary(
            uniqueKeysWithValues: VocabularyLayout.specials.enumerated().map { ($1, t &+ k &+ $0) })
        m["layout"] = [
            "text": [0, t], "image": [t, t &+ k], "specials": specials, "multiple_of": mult, "vocab_size": v.small(280),
        ]
    }
    guard let json = try? JSONSerialization.data(withJSONObject: m) else { return 0 }
    _ = try? TokenShards.parseManifest(json, path: "fuzz")
    return 0
}
