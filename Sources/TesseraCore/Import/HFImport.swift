import Foundation

/// A Hugging Face Llama-family checkpoint directory (config.json + model.safetensors, or shards
/// listed in model.safetensors.index.json) as a Tessera model; GPT-2 and GPT-NeoX directories go
/// to GPT2Import and GPTNeoXImport.
///
/// Name map (HF → Tessera):
///   model.embed_tokens.weight                      → tok_embeddings.weight
///   model.layers.N.input_layernorm.weight          → layers.N.attention_norm.weight
///   model.layers.N.self_attn.{q,k,v}_proj.weight   → layers.N.attention.in_proj.weight  (rows q | k | v)
///   model.layers.N.self_attn.o_proj.weight         → layers.N.attention.out_proj.weight
///   model.layers.N.post_attention_layernorm.weight → layers.N.ffn_norm.weight
///   model.layers.N.mlp.{gate,up}_proj.weight       → layers.N.feed_forward.w12.weight   (rows gate | up)
///   model.layers.N.mlp.down_proj.weight            → layers.N.feed_forward.w3.weight
///   model.norm.weight                              → norm.weight
///   lm_head.weight                                 → output.weight (absent or tied: the embedding)
/// HF Llama rotates half-split pairs (rotate_half). Missing and unused tensors are errors.
public enum HFImport {
    public static func load(dir: String) throws -> ImportedModel {
        let cfgPath = dir.appendingPathComponent("config.json")
        guard let cfg = (try? JSONSerialization.jsonObject(with: try FileIO.read(cfgPath))) as? [String: Any] else {
            throw TesseraError.data(file: cfgPath, "not a JSON object")
        }
        let hf = HFConfig(values: cfg, path: cfgPath)
        let bad = hf.bad, int = hf.int
        let type = cfg["model_type"] as? String ?? "?"
        if type == "gpt2" { return try GPT2Import.load(dir: dir, config: hf, weights: try shards(dir: dir)) }
        if type == "gpt_neox" { return try GPTNeoXImport.load(dir: dir, config: hf, weights: try shards(dir: dir)) }
        guard ["llama", "mistral"].contains(type) else {
            throw bad("model_type \(type) is not supported (llama, mistral, gpt2, gpt_neox)")
        }
        for k in ["attention_bias", "mlp_bias"] where cfg[k] as? Bool == true {
            throw bad("\(k) = true is not supported (no linear biases)")
        }
        if let act = cfg["hidden_act"] as? String, act != "silu" {
            throw bad("hidden_act \(act) is not supported (silu)")
        }
        let ropeParams = cfg["rope_parameters"] as? [String: Any]
        if let scaling = cfg["rope_scaling"], !(scaling is NSNull) { throw bad("rope_scaling is not supported") }
        if let t = ropeParams?["rope_type"] as? String, t != "default" {
            throw bad("rope_type \(t) is not supported (default)")
        }
        let theta = (cfg["rope_theta"] as? Double) ?? (ropeParams?["rope_theta"] as? Double) ?? 10000
        let d = try int("hidden_size"), heads = try int("num_attention_heads")
        let kvHeads = cfg["num_key_value_heads"].flatMap(JSONKeys.exactInt) ?? heads
        if let hd = cfg["head_dim"].flatMap(JSONKeys.exactInt), hd != d / heads {
            throw bad("head_dim \(hd) ≠ hidden_size / num_attention_heads is not supported")
        }

        let weights = try shards(dir: dir)
        let tied = (cfg["tie_word_embeddings"] as? Bool ?? false) || weights["lm_head.weight"] == nil
        let config = ModelConfig(
            dModel: d, nLayers: try int("num_hidden_layers"), nHeads: heads, nKVHeads: kvHeads,
            vocabSize: try int("vocab_size"),
            ffnHidden: try int("intermediate_size"), norm: .rmsNorm,
            normEps: Float((cfg["rms_norm_eps"] as? Double) ?? 1e-6),
            rope: .half, ropeTheta: theta, tieEmbeddings: tied,
            maxSeqLen: cfg["max_position_embeddings"].flatMap(JSONKeys.exactInt) ?? 2048)
        if let p = config.problems().first { throw bad("describes an invalid model: \(p)") }
        try hf.requireWeightsHold(config, weights)
        let store = ParameterStore(shapes: Transformer.parameterShapes(config))
        var tensors = HFTensors(dir: dir, weights: weights, prefix: "")
        func copy(_ name: String, shape: [Int], to dst: UnsafeMutablePointer<Float>) throws {
            let src = try tensors.read(name, shape: shape)
            dst.update(from: src, count: src.count)
        }
        let hd = config.headDim, h = config.ffnHidden
        try copy("model.embed_tokens.weight", shape: [config.vocabSize, d], to: store.value(.embedding)!)
        for i in 0..<config.nLayers {
            let b = "model.layers.\(i)."
            try copy(b + "input_layernorm.weight", shape: [d], to: store.value(.attentionNorm, layer: i))
            let qkv = store.value(.inProj, layer: i)
            try copy(b + "self_attn.q_proj.weight", shape: [heads * hd, d], to: qkv)
            try copy(b + "self_attn.k_proj.weight", shape: [kvHeads * hd, d], to: qkv + heads * hd * d)
            try copy(b + "self_attn.v_proj.weight", shape: [kvHeads * hd, d], to: qkv + (heads + kvHeads) * hd * d)
            try copy(b + "self_attn.o_proj.weight", shape: [d, heads * hd], to: store.value(.outProj, layer: i))
            try copy(b + "post_attention_layernorm.weight", shape: [d], to: store.value(.ffnNorm, layer: i))
            let w12 = store.value(.w12, layer: i)
            try copy(b + "mlp.gate_proj.weight", shape: [h, d], to: w12)
            try copy(b + "mlp.up_proj.weight", shape: [h, d], to: w12 + h * d)
            try copy(b + "mlp.down_proj.weight", shape: [d, h], to: store.value(.w3, layer: i))
        }
        try copy("model.norm.weight", shape: [d], to: store.value(.finalNorm)!)
        if !tied {
            try copy("lm_head.weight", shape: [config.vocabSize, d], to: store.value(.output)!)
        } else if weights["lm_head.weight"] != nil {
            tensors.used.insert("lm_head.weight")
        }  // a tied copy
        try tensors.checkAllUsed(ignoring: ["rotary_emb.inv_freq"])
        return try HFConfig.finish(dir: dir, config: config, store: store, type: type)
    }

    /// Tensor name → (its file, entry), over model.safetensors or the index's shards.
    static func shards(dir: String) throws -> [String: (SafetensorsFile, SafetensorsFile.Entry)] {
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        var files: [String] = []
        if FileIO.exists(index) {
            guard let o = (try? JSONSerialization.jsonObject(with: try FileIO.read(index))) as? [String: Any],
                let map = o["weight_map"] as? [String: String]
            else { throw TesseraError.data(file: index, "no weight_map object") }
            files = Array(Set(map.values)).sorted()
        } else {
            files = ["model.safetensors"]
        }
        var out: [String: (SafetensorsFile, SafetensorsFile.Entry)] = [:]
        for f in files {
            guard !f.contains("/") else {
                throw TesseraError.data(file: index, "shard name \(f) must be a file in the directory")
            }
            let st = try SafetensorsFile(path: dir.appendingPathComponent(f))
            for (n, e) in st.entries {
                guard out[n] == nil else {
                    throw TesseraError.data(file: st.path, "tensor \"\(n)\" appears in two shards")
                }
                out[n] = (st, e)
            }
        }
        return out
    }
}
