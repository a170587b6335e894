import Foundation

/// A valid one-block Llama GGUF (d 8, 2 heads, 1 KV head, FFN 16, the 256 byte tokens) written here,
/// with fuzzed *values*: the architecture's metadata (width, blocks, heads, FFN, context) and,
/// sometimes, one tensor's dimensions. Reading and importing must refuse, never trap or allocate
/// what the file does not hold.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    var w = GGUFBytes()
    w.string("general.architecture", "llama")
    for (key, def) in [
        ("embedding_length", 8), ("block_count", 1), ("attention.head_count", 2), ("attention.head_count_kv", 1),
        ("feed_forward_length", 16), ("context_length", 32),
    ] {
        w.uint64("llama." + key, v.small(def))
    }
    w.string("tokenizer.ggml.model", "gpt2")
    w.strings("tokenizer.ggml.tokens", (0..<256).map { String(UnicodeScalar(GGUFBytes.byteChar($0))!) })
    w.strings("tokenizer.ggml.merges", [])
    var tensors: [(String, [Int])] = [("token_embd.weight", [8, 256]), ("output_norm.weight", [8])]
    for (n, dims) in [
        ("attn_norm", [8]), ("attn_q", [8, 8]), ("attn_k", [8, 4]), ("attn_v", [8, 4]), ("attn_output", [8, 8]),
        ("ffn_norm", [8]), ("ffn_gate", [8, 16]), ("ffn_up", [8, 16]), ("ffn_down", [16, 8]),
    ] {
        tensors.append(("blk.0.\(n).weight", dims))
    }
    var declared = tensors
    if v.bool() {
        let i = Int(v.byte()) % declared.count
        declared[i].1 = declared[i].1.map { _ in v.int() }.map { $0 == Int.min ? 0 : $0 }
    }
    guard let file = w.file(tensors: tensors, declared: declared) else { return 0 }
    // FUZZ_VERBOSE=1 says how an input ended (the empty input must import: the writer is valid).
    let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil
    do {
        let m = try GGUFImport.load(try GGUFFile(data: file, path: "fuzz"), maxSeqLen: 16)
        if verbose {
            print("imported: d_model \(m.model.dModel), \(m.model.nLayers) block(s), vocabulary \(m.model.vocabSize)")
        }
    } catch {
        if verbose { print("refused: \(error)") }
    }
    return 0
}

/// GGUF v3 bytes: metadata key/values, then tensor infos (F32) with their data 32-byte aligned.
struct GGUFBytes {
    var kv = Data()
    var count = 0

    /// GPT-2's byte → printable character map (so the 256 byte tokens are what the reader expects).
    static func byteChar(_ b: Int) -> UInt32 {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        if printable.contains(b) { return UInt32(b) }
        return UInt32(256 + (0..<b).filter { !printable.contains($0) }.count)
    }

    static func u32(_ x: UInt32, _ d: inout Data) { withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
    static func u64(_ x: UInt64, _ d: inout Data) { withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
    static func str(_ s: String, _ d: inout Data) { u64(UInt64(s.utf8.count), &d); d.append(contentsOf: s.utf8) }

    mutating func string(_ key: String, _ value: String) {
        Self.str(key, &kv); Self.u32(8, &kv); Self.str(value, &kv); count += 1
    }
    mutating func uint64(_ key: String, _ value: Int) {
        Self.str(key, &kv); Self.u32(10, &kv); Self.u64(UInt64(bitPattern: Int64(value)), &kv); count += 1
    }
    mutating func strings(_ key: String, _ values: [String]) {
        Self.str(key, &kv); Self.u32(9, &kv); Self.u32(8, &kv); Self.u64(UInt64(values.count), &kv)
        for s in values { Self.str(s, &kv) }
        count += 1
    }

    /// The file: `declared` dims go in the tensor infos; the data is sized by the true `tensors`.
    func file(tensors: [(String, [Int])], declared: [(String, [Int])]) -> Data? {
        var d = Data("GGUF".utf8)
        Self.u32(3, &d); Self.u64(UInt64(tensors.count), &d); Self.u64(UInt64(count), &d)
        d.append(kv)
        var offset = 0
        var payload = Data()
        for (t, decl) in zip(tensors, declared) {
            Self.str(t.0, &d); Self.u32(UInt32(decl.1.count), &d)
            for x in decl.1 { Self.u64(UInt64(bitPattern: Int64(x)), &d) }
            Self.u32(0, &d); Self.u64(UInt64(offset), &d)
            let n = t.1.reduce(1, *) * 4
            payload.append(Data(count: n))
            offset += n
            let pad = (32 - offset % 32) % 32
            payload.append(Data(count: pad)); offset += pad
        }
        d.append(Data(count: (32 - d.count % 32) % 32))
        d.append(payload)
        return d
    }
}
