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
            guard let v = g.metadata["llama." + k]?.int, v > 0 else {
                throw bad("metadata llama.\(k) is missing or not a positive integer")
            }
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
        guard layers <= g.tensors.count else {
            throw bad("metadata promises \(layers) blocks; the file holds \(g.tensors.count) tensors")
        }

        // The plan: every GGUF tensor, the shape the metadata implies, and where it goes. All of it
        // is checked against the tensors present before the weights are allocated, so metadata
        // that promises a model the file does not hold fails in one line, not in an allocation.
        typealias B = TransformerWeights.Block
        typealias G = TransformerWeights.Global
        let hd = config.headDim, h = config.ffnHidden
        var plan: [(name: String, rows: Int, cols: Int, to: String, offset: Int)] = [
            ("token_embd.weight", config.vocabSize, d, G.embedding.name, 0)
        ]
        for i in 0..<layers {
            let b = "blk.\(i)."
            plan += [
                (b + "attn_norm.weight", 1, d, B.attentionNorm.name(layer: i), 0),
                (b + "attn_q.weight", heads * hd, d, B.inProj.name(layer: i), 0),
                (b + "attn_k.weight", kvHeads * hd, d, B.inProj.name(layer: i), heads * hd * d),
                (b + "attn_v.weight", kvHeads * hd, d, B.inProj.name(layer: i), (heads + kvHeads) * hd * d),
                (b + "attn_output.weight", d, heads * hd, B.outProj.name(layer: i), 0),
                (b + "ffn_norm.weight", 1, d, B.ffnNorm.name(layer: i), 0),
                (b + "ffn_gate.weight", h, d, B.w12.name(layer: i), 0),
                (b + "ffn_up.weight", h, d, B.w12.name(layer: i), h * d),
                (b + "ffn_down.weight", d, h, B.w3.name(layer: i), 0),
            ]
        }
        plan.append(("output_norm.weight", 1, d, G.finalNorm.name, 0))
        if !config.tieEmbeddings { plan.append(("output.weight", config.vocabSize, d, G.output.name, 0)) }
        for t in plan {
            guard let have = g.tensors[t.name] else {
                throw bad("missing tensor \"\(t.name)\" (the metadata describes \(layers) blocks of width \(d))")
            }
            let want = t.rows == 1 ? [t.cols] : [t.cols, t.rows]
            guard have.dims == want else {
                throw bad("tensor \"\(t.name)\" has dims \(have.dims), the metadata implies \(want)")
            }
        }
        let used = Set(plan.map(\.name))
        // Rotary frequency tables are derived, not learned; anything else unused is an error.
        let unused = Set(g.tensors.keys).subtracting(used).filter { !$0.hasSuffix("rope_freqs.weight") }
        if let u = unused.sorted().first {
            throw bad("tensor \"\(u)\" maps to no Tessera parameter (\(unused.count) unused)")
        }
        let store = ParameterStore(shapes: Transformer.parameterShapes(config))
        for t in plan { try g.read(t.name, into: store.value(t.to) + t.offset) }
        var meta: [String: String] = ["source": g.path.lastPathComponent]
        if let n = g.metadata["general.name"]?.string { meta["name"] = n }
        return ImportedModel(model: config, tokenizer: tokenizer, store: store, metadata: meta)
    }

    /// The byte-level BPE stored in a GGUF (`tokenizer.ggml.model = gpt2`).
    public static func tokenizer(_ g: GGUFFile) throws -> BPETokenizer {
        func bad(_ m: String) -> TesseraError { .data(file: g.path, m) }
        guard g.metadata["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw bad(
                "tokenizer.ggml.model \(g.metadata["tokenizer.ggml.model"]?.string ?? "missing") is not supported (gpt2 byte-level BPE)"
            )
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
            if type == 3 || type == 4 {
                added.append(.init(id: Int32(i), content: t!, special: type == 3))
            } else {
                vocab[t!] = Int32(i)
            }
        }
        let pairs: [(String, String)] = try merges.enumerated().map { i, m in
            let parts = m!.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { throw bad("tokenizer.ggml.merges[\(i)] \"\(m!)\" is not two tokens") }
            return (String(parts[0]), String(parts[1]))
        }
        return try BPETokenizer(vocab: vocab, merges: pairs, preTokenizer: pre, added: added, source: g.path)
    }
}
