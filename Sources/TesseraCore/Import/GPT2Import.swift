import Foundation

/// A Hugging Face GPT-2 directory (config.json with model_type gpt2, model.safetensors) as a
/// Tessera model: learned positions, LayerNorm with bias, biased linears, GELU MLP, tied output.
///
/// Name map (HF, with or without the "transformer." prefix → Tessera). GPT-2's Conv1D stores
/// weights as [in, out]; Tessera's linears are [out, in], so every Conv1D weight is transposed:
///   wte.weight                  → tok_embeddings.weight
///   wpe.weight                  → pos_embeddings.weight
///   h.N.ln_1.{weight,bias}      → layers.N.attention_norm.{weight,bias}
///   h.N.attn.c_attn.{weight,bias} → layers.N.attention.in_proj.{weight,bias}  (columns q | k | v)
///   h.N.attn.c_proj.{weight,bias} → layers.N.attention.out_proj.{weight,bias}
///   h.N.ln_2.{weight,bias}      → layers.N.ffn_norm.{weight,bias}
///   h.N.mlp.c_fc.{weight,bias}  → layers.N.feed_forward.w12.{weight,bias}
///   h.N.mlp.c_proj.{weight,bias} → layers.N.feed_forward.w3.{weight,bias}
///   ln_f.{weight,bias}          → norm.{weight,bias}
///   lm_head.weight              → tied to wte (a copy is accepted, an untied head refused)
/// The causal-mask buffers older checkpoints carry (h.N.attn.bias, h.N.attn.masked_bias) are skipped.
enum GPT2Import {
    static func load(
        dir: String, config hf: HFConfig, weights: [String: (SafetensorsFile, SafetensorsFile.Entry)]
    ) throws -> ImportedModel {
        let cfg = hf.values
        let bad = hf.bad, int = hf.int
        let mlp = try hf.mlp("activation_function", default: "gelu_new")
        if cfg["tie_word_embeddings"] as? Bool == false {
            throw bad("tie_word_embeddings = false is not supported for gpt2")
        }
        for k in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"] where cfg[k] as? Bool == true {
            throw bad("\(k) = true is not supported")
        }
        if cfg["scale_attn_weights"] as? Bool == false { throw bad("scale_attn_weights = false is not supported") }
        let d = try int("n_embd"), heads = try int("n_head")
        let inner = cfg["n_inner"].flatMap(JSONKeys.exactInt) ?? 4 * d
        var config = ModelConfig(
            dModel: d, nLayers: try int("n_layer"), nHeads: heads, vocabSize: try int("vocab_size"),
            ffnHidden: inner, norm: .layerNorm, normEps: Float((cfg["layer_norm_epsilon"] as? Double) ?? 1e-5),
            rope: .none, tieEmbeddings: true, maxSeqLen: try int("n_positions"))
        config.mlp = mlp
        config.linearBias = true
        config.learnedPositions = true
        if let p = config.problems().first { throw bad("describes an invalid model: \(p)") }

        try hf.requireWeightsHold(config, weights)
        let store = ParameterStore(shapes: Transformer.parameterShapes(config))
        var tensors = HFTensors(
            dir: dir, weights: weights,
            prefix: weights.keys.contains { $0.hasPrefix("transformer.") } ? "transformer." : "")
        /// Reads `name` of `shape`; with `transpose`, a [rows, cols] tensor lands as [cols, rows].
        func copy(_ name: String, shape: [Int], to dst: UnsafeMutablePointer<Float>, transpose: Bool = false) throws {
            let src = try tensors.read(name, shape: shape)
            if transpose {
                let rows = shape[0], cols = shape[1]
                for r in 0..<rows { for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] } }
            } else {
                dst.update(from: src, count: src.count)
            }
        }
        let v = config.vocabSize, q = config.qkvDim
        try copy("wte.weight", shape: [v, d], to: store.value(.embedding)!)
        try copy("wpe.weight", shape: [config.maxSeqLen, d], to: store.value(.positions)!)
        // (HF name under h.N., Tessera tensor of block N, HF shape, Conv1D weight to transpose)
        let perLayer: [(String, TransformerWeights.Block, [Int], Bool)] = [
            ("ln_1.weight", .attentionNorm, [d], false), ("ln_1.bias", .attentionNormBias, [d], false),
            ("attn.c_attn.weight", .inProj, [d, q], true), ("attn.c_attn.bias", .inProjBias, [q], false),
            ("attn.c_proj.weight", .outProj, [d, d], true), ("attn.c_proj.bias", .outProjBias, [d], false),
            ("ln_2.weight", .ffnNorm, [d], false), ("ln_2.bias", .ffnNormBias, [d], false),
            ("mlp.c_fc.weight", .w12, [d, inner], true), ("mlp.c_fc.bias", .w12Bias, [inner], false),
            ("mlp.c_proj.weight", .w3, [inner, d], true), ("mlp.c_proj.bias", .w3Bias, [d], false),
        ]
        for i in 0..<config.nLayers {
            for (hfName, tensor, shape, transpose) in perLayer {
                try copy("h.\(i)." + hfName, shape: shape, to: store.value(tensor, layer: i), transpose: transpose)
            }
        }
        try copy("ln_f.weight", shape: [d], to: store.value(.finalNorm)!)
        try copy("ln_f.bias", shape: [d], to: store.value(.finalNormBias)!)
        if weights["lm_head.weight"] != nil { tensors.used.insert("lm_head.weight") }  // tied: a copy of wte
        try tensors.checkAllUsed(ignoring: [".attn.bias", ".attn.masked_bias"])
        return try HFConfig.finish(dir: dir, config: config, store: store, type: "gpt2")
    }
}
