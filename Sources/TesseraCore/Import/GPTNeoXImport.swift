import Foundation

/// A Hugging Face GPT-NeoX directory (config.json with model_type gpt_neox, model.safetensors) as
/// a Tessera model: parallel residual, partial rotary (rotate-half over the first rotary_pct of
/// each head), LayerNorm with bias, biased linears, GELU MLP, untied output.
///
/// Name map (HF → Tessera, "gpt_neox." prefix on all but embed_out):
///   embed_in.weight                             → tok_embeddings.weight
///   layers.N.input_layernorm.{weight,bias}      → layers.N.attention_norm.{weight,bias}
///   layers.N.attention.query_key_value.{weight,bias} → layers.N.attention.in_proj.{weight,bias}
///       HF rows are per head [q_h | k_h | v_h]; Tessera's are [q (all heads) | k | v], so rows move
///   layers.N.attention.dense.{weight,bias}      → layers.N.attention.out_proj.{weight,bias}
///   layers.N.post_attention_layernorm.{weight,bias} → layers.N.ffn_norm.{weight,bias}
///   layers.N.mlp.dense_h_to_4h.{weight,bias}    → layers.N.feed_forward.w12.{weight,bias}
///   layers.N.mlp.dense_4h_to_h.{weight,bias}    → layers.N.feed_forward.w3.{weight,bias}
///   final_layer_norm.{weight,bias}              → norm.{weight,bias}
///   embed_out.weight                            → output.weight
/// Buffers older checkpoints carry (attention.bias, attention.masked_bias, rotary_emb.inv_freq) are skipped.
enum GPTNeoXImport {
    static func load(
        dir: String, config hf: HFConfig, weights: [String: (SafetensorsFile, SafetensorsFile.Entry)]
    ) throws -> ImportedModel {
        let cfg = hf.values
        let bad = hf.bad, int = hf.int
        let mlp = try hf.mlp("hidden_act", default: "gelu")
        if cfg["attention_bias"] as? Bool == false { throw bad("attention_bias = false is not supported") }
        // transformers ≥ 5 nests the rotary settings in rope_parameters; earlier versions used top-level keys.
        let rope = cfg["rope_parameters"] as? [String: Any]
        if let t = rope?["rope_type"] as? String, t != "default" {
            throw bad("rope_type \(t) is not supported (default)")
        }
        if let scaling = cfg["rope_scaling"], !(scaling is NSNull) { throw bad("rope_scaling is not supported") }
        let pct = (rope?["partial_rotary_factor"] as? Double) ?? (cfg["rotary_pct"] as? Double) ?? 0.25
        let theta = (rope?["rope_theta"] as? Double) ?? (cfg["rotary_emb_base"] as? Double) ?? 10000
        let d = try int("hidden_size"), heads = try int("num_attention_heads")
        let hd = d / heads
        let rotary = Int(Double(hd) * pct)  // HF: int(head_size * rotary_pct)
        let tied = cfg["tie_word_embeddings"] as? Bool ?? false
        var config = ModelConfig(
            dModel: d, nLayers: try int("num_hidden_layers"), nHeads: heads, vocabSize: try int("vocab_size"),
            ffnHidden: try int("intermediate_size"), norm: .layerNorm,
            normEps: Float((cfg["layer_norm_eps"] as? Double) ?? 1e-5), rope: rotary > 0 ? .half : .none,
            ropeTheta: theta, tieEmbeddings: tied, maxSeqLen: try int("max_position_embeddings"))
        config.mlp = mlp
        config.linearBias = true
        config.rotaryDims = rotary > 0 && rotary < hd ? rotary : 0
        config.parallelResidual = cfg["use_parallel_residual"] as? Bool ?? true
        if let p = config.problems().first { throw bad("describes an invalid model: \(p)") }

        try hf.requireWeightsHold(config, weights)
        let store = ParameterStore(shapes: Transformer.parameterShapes(config))
        var tensors = HFTensors(dir: dir, weights: weights, prefix: "gpt_neox.")
        func copy(_ name: String, shape: [Int], to dst: UnsafeMutablePointer<Float>) throws {
            let src = try tensors.read(name, shape: shape)
            dst.update(from: src, count: src.count)
        }
        /// Per-head [q_h | k_h | v_h] rows (each `width` wide) → [q | k | v] blocks.
        func copyQKV(_ name: String, width: Int, to dst: UnsafeMutablePointer<Float>) throws {
            let src = try tensors.read(name, shape: width == 1 ? [3 * d] : [3 * d, width])
            for h in 0..<heads {
                for part in 0..<3 {
                    for i in 0..<hd {
                        let from = ((h * 3 + part) * hd + i) * width, to = ((part * heads + h) * hd + i) * width
                        src.withUnsafeBufferPointer { (dst + to).update(from: $0.baseAddress! + from, count: width) }
                    }
                }
            }
        }
        let v = config.vocabSize, h4 = config.ffnHidden
        try copy("embed_in.weight", shape: [v, d], to: store.value(.embedding)!)
        // (HF name under layers.N., Tessera tensor of block N, shape); qkv rows move separately.
        let perLayer: [(String, TransformerWeights.Block, [Int])] = [
            ("input_layernorm.weight", .attentionNorm, [d]), ("input_layernorm.bias", .attentionNormBias, [d]),
            ("attention.dense.weight", .outProj, [d, d]), ("attention.dense.bias", .outProjBias, [d]),
            ("post_attention_layernorm.weight", .ffnNorm, [d]), ("post_attention_layernorm.bias", .ffnNormBias, [d]),
            ("mlp.dense_h_to_4h.weight", .w12, [h4, d]), ("mlp.dense_h_to_4h.bias", .w12Bias, [h4]),
            ("mlp.dense_4h_to_h.weight", .w3, [d, h4]), ("mlp.dense_4h_to_h.bias", .w3Bias, [d]),
        ]
        for i in 0..<config.nLayers {
            let p = "layers.\(i)."
            for (hfName, tensor, shape) in perLayer {
                try copy(p + hfName, shape: shape, to: store.value(tensor, layer: i))
            }
            try copyQKV(p + "attention.query_key_value.weight", width: d, to: store.value(.inProj, layer: i))
            try copyQKV(p + "attention.query_key_value.bias", width: 1, to: store.value(.inProjBias, layer: i))
        }
        try copy("final_layer_norm.weight", shape: [d], to: store.value(.finalNorm)!)
        try copy("final_layer_norm.bias", shape: [d], to: store.value(.finalNormBias)!)
        if !tied {
            let out = try tensors.read("embed_out.weight", shape: [v, d], prefixed: false)
            store.value(.output)!.update(from: out, count: out.count)
        } else if weights["embed_out.weight"] != nil {
            tensors.used.insert("embed_out.weight")
        }
        try tensors.checkAllUsed(ignoring: [".attention.bias", ".attention.masked_bias", "rotary_emb.inv_freq"])
        return try HFConfig.finish(dir: dir, config: config, store: store, type: "gpt_neox")
    }
}
