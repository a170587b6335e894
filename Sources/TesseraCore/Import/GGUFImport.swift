import Foundation

/// A pre-trained model read by one of the importers (GGUF, Hugging Face, open_lm): its shape,
/// weights under Tessera's names, tokenizer when it has one, and where it came from.
public struct ImportedModel {
    public let model: ModelConfig
    public let tokenizer: BPETokenizer?
    public let store: ParameterStore
    public let metadata: [String: String]
}

/// A Llama-architecture GGUF (e.g. SmolLM2) as a Tessera model, tokenizer and config.
///
/// Name map (GGUF → Tessera):
///   token_embd.weight                 → tok_embeddings.weight
///   blk.N.attn_norm.weight            → layers.N.attention_norm.weight
///   blk.N.attn_{q,k,v}.weight         → layers.N.attention.in_proj.weight   (rows q | k | v)
///   blk.N.attn_output.weight          → layers.N.attention.out_proj.weight
///   blk.N.ffn_norm.weight             → layers.N.ffn_norm.weight
///   blk.N.ffn_{gate,up}.weight        → layers.N.feed_forward.w12.weight    (rows gate | up)
///   blk.N.ffn_down.weight             → layers.N.feed_forward.w3.weight
///   output_norm.weight                → norm.weight
///   output.weight                     → output.weight (absent: tied to the embedding)
/// RoPE pairs are interleaved: llama.cpp's converter permutes q/k rows for that pairing.
/// Every tensor must be used and present with the shape the metadata implies.
public enum GGUFImport {
    public static func load(_ g: GGUFFile, maxSeqLen: Int? = nil) throws -> ImportedModel {
        func bad(_ m: String) -> TesseraError { .data(file: g.path, m) }
        let arch = g.metadata["general.architecture"]?.string ?? "?"
        guard arch == "llama" else { throw bad("architecture \(arch) is not supported (llama)") }
        func int(_ k: String) throws -> Int {
            guard let v = g.metadata["llama." + k]?.int, v > 0 else { throw bad("metadata llama.\(k) is missing or not a positive integer") }
            return v
        }
        let tokenizer = try GGUFImport.tokenizer(g)
        let d = try int("embedding_length"), layers = try int("block_count"), heads = try int("attention.head_count")
        let kvHeads = g.metadata["llama.attention.head_count_kv"]?.int ?? heads
        let context = try int("context_length")
        let config = ModelConfig(
            dModel: d, nLayers: layers, nHeads: heads, nKVHeads: kvHeads, vocabSize: tokenizer.vocabSize,
            ffnHidden: try int("feed_forward_length"), norm: .rmsNorm,
            normEps: Float(g.metadata["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5),
            rope: .interleaved, ropeTheta: g.metadata["llama.rope.freq_base"]?.double ?? 10000,
            tieEmbeddings: g.tensors["output.weight"] == nil, maxSeqLen: min(context, maxSeqLen ?? context))
        if let p = config.problems().first { throw bad("metadata describes an invalid model: \(p)") }

        let store = ParameterStore(shapes: Transformer.parameterShapes(config))
        var used = Set<String>()
        /// Copies GGUF tensor `name` (row-major [rows, cols] = dims reversed) to `dst`.
        func copy(_ name: String, rows: Int, cols: Int, to dst: UnsafeMutablePointer<Float>) throws {
            guard let t = g.tensors[name] else { throw bad("missing tensor \"\(name)\"") }
            let want = rows == 1 ? [cols] : [cols, rows]
            guard t.dims == want else { throw bad("tensor \"\(name)\" has dims \(t.dims), expected \(want)") }
            try g.read(name, into: dst)
            used.insert(name)
        }
        let hd = config.headDim, h = config.ffnHidden
        try copy("token_embd.weight", rows: config.vocabSize, cols: d, to: store.value("tok_embeddings.weight"))
        for i in 0..<layers {
            let b = "blk.\(i).", p = "layers.\(i)."
            try copy(b + "attn_norm.weight", rows: 1, cols: d, to: store.value(p + "attention_norm.weight"))
            let inProj = store.value(p + "attention.in_proj.weight")
            try copy(b + "attn_q.weight", rows: heads * hd, cols: d, to: inProj)
            try copy(b + "attn_k.weight", rows: kvHeads * hd, cols: d, to: inProj + heads * hd * d)
            try copy(b + "attn_v.weight", rows: kvHeads * hd, cols: d, to: inProj + (heads + kvHeads) * hd * d)
            try copy(b + "attn_output.weight", rows: d, cols: heads * hd, to: store.value(p + "attention.out_proj.weight"))
            try copy(b + "ffn_norm.weight", rows: 1, cols: d, to: store.value(p + "ffn_norm.weight"))
            let w12 = store.value(p + "feed_forward.w12.weight")
            try copy(b + "ffn_gate.weight", rows: h, cols: d, to: w12)
            try copy(b + "ffn_up.weight", rows: h, cols: d, to: w12 + h * d)
            try copy(b + "ffn_down.weight", rows: d, cols: h, to: store.value(p + "feed_forward.w3.weight"))
        }
        try copy("output_norm.weight", rows: 1, cols: d, to: store.value("norm.weight"))
        if !config.tieEmbeddings { try copy("output.weight", rows: config.vocabSize, cols: d, to: store.value("output.weight")) }
        // Rotary frequency tables are derived, not learned; anything else unused is an error.
        let unused = Set(g.tensors.keys).subtracting(used).filter { !$0.hasSuffix("rope_freqs.weight") }
        if let u = unused.sorted().first { throw bad("tensor \"\(u)\" maps to no Tessera parameter (\(unused.count) unused)") }
        var meta: [String: String] = ["source": (g.path as NSString).lastPathComponent]
        if let n = g.metadata["general.name"]?.string { meta["name"] = n }
        return ImportedModel(model: config, tokenizer: tokenizer, store: store, metadata: meta)
    }

    /// The byte-level BPE stored in a GGUF (`tokenizer.ggml.model = gpt2`).
    public static func tokenizer(_ g: GGUFFile) throws -> BPETokenizer {
        func bad(_ m: String) -> TesseraError { .data(file: g.path, m) }
        guard g.metadata["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw bad("tokenizer.ggml.model \(g.metadata["tokenizer.ggml.model"]?.string ?? "missing") is not supported (gpt2 byte-level BPE)")
        }
        guard let tokens = g.metadata["tokenizer.ggml.tokens"]?.array?.map({ $0.string }), !tokens.contains(nil) else {
            throw bad("tokenizer.ggml.tokens is missing or not a list of strings")
        }
        guard let merges = g.metadata["tokenizer.ggml.merges"]?.array?.map({ $0.string }), !merges.contains(nil) else {
            throw bad("tokenizer.ggml.merges is missing or not a list of strings")
        }
        let types = g.metadata["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 1 } ?? []
        let pre: PreTokenizer
        switch g.metadata["tokenizer.ggml.pre"]?.string ?? "gpt-2" {
        case "gpt-2", "default": pre = .gpt2
        case "smollm": pre = .smollm
        case let other: throw bad("tokenizer.ggml.pre \(other) is not supported (gpt-2, smollm)")
        }
        var vocab: [String: Int32] = [:]
        var added: [BPETokenizer.AddedToken] = []
        for (i, t) in tokens.enumerated() {
            // llama.cpp token types: 3 control, 4 user-defined: matched whole, never merged.
            let type = i < types.count ? types[i] : 1
            if type == 3 || type == 4 { added.append(.init(id: Int32(i), content: t!, special: type == 3)) } else { vocab[t!] = Int32(i) }
        }
        let pairs: [(String, String)] = try merges.enumerated().map { i, m in
            let parts = m!.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw bad("tokenizer.ggml.merges[\(i)] \"\(m!)\" is not two tokens") }
            return (String(parts[0]), String(parts[1]))
        }
        return try BPETokenizer(vocab: vocab, merges: pairs, preTokenizer: pre, added: added, source: g.path)
    }
}
