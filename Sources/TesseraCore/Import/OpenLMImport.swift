import Foundation

/// An open_lm checkpoint directory: the model's JSON config (`open_lm/model_configs/*.json` style,
/// as `params.json` or `config.json`) and `model.safetensors` (or sharded) whose tensors carry
/// open_lm's own names, which are Tessera's (see `ParameterStore`). Rotary `inv_freq` buffers are
/// skipped; the SwiGLU width comes from the weights (open_lm derives it from d by its rule).
///   model_norm: default_layer_norm | gain_only_layer_norm | rms_norm     (default: default_layer_norm)
///   positional_embedding_type: rotary (half) | head_rotary, none (identity) | llama_rotary (interleaved)
public enum OpenLMImport {
    public static func isOpenLM(dir: String) -> Bool { configPath(dir) != nil }

    static func configPath(_ dir: String) -> String? {
        for name in ["params.json", "config.json"] {
            let p = dir.appendingPathComponent(name)
            if let d = try? FileIO.read(p), let o = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any],
                o["hidden_dim"] != nil, o["n_layers"] != nil
            {
                return p
            }
        }
        return nil
    }

    public static func load(dir: String) throws -> ImportedModel {
        guard let cfgPath = configPath(dir) else {
            throw TesseraError.data(file: dir, "no open_lm params.json/config.json (with hidden_dim and n_layers)")
        }
        let cfg = (try JSONSerialization.jsonObject(with: try FileIO.read(cfgPath))) as! [String: Any]
        func bad(_ m: String) -> TesseraError { .data(file: cfgPath, m) }
        func int(_ k: String) throws -> Int {
            guard let v = cfg[k].flatMap(JSONKeys.exactInt), v > 0 else {
                throw bad("\(k) is missing or not a positive integer")
            }
            return v
        }
        if cfg["post_embed_norm"] as? Bool == true { throw bad("post_embed_norm = true is not supported") }
        if cfg["qk_norm"] as? Bool == true { throw bad("qk_norm = true is not supported") }
        let ffnType = cfg["ffn_type"] as? String ?? "swiglu"
        guard ["swiglu", "swiglu_torch"].contains(ffnType) else {
            throw bad("ffn_type \(ffnType) is not supported (swiglu)")
        }
        let norm: NormKind
        switch cfg["model_norm"] as? String ?? "default_layer_norm" {
        case "default_layer_norm", "lp_layer_norm": norm = .layerNorm
        case "gain_only_layer_norm", "gain_only_lp_layer_norm": norm = .layerNormNoBias
        case "rms_norm": norm = .rmsNorm
        case let other: throw bad("model_norm \(other) is not supported")
        }
        let rope: RopeKind
        switch cfg["positional_embedding_type"] as? String ?? "rotary" {
        case "rotary": rope = .half
        case "head_rotary", "none": rope = .none  // head_rotary rotates by head index: identity on q·k
        case "llama_rotary": rope = .interleaved
        case let other: throw bad("positional_embedding_type \(other) is not supported")
        }
        let weights = try HFImport.shards(dir: dir)
        let d = try int("hidden_dim")
        let w12Name = TransformerWeights.Block.w12.name(layer: 0)
        guard let w12 = weights[w12Name]?.1, w12.shape.count == 2, w12.shape[0] % 2 == 0 else {
            throw TesseraError.data(file: dir, "missing tensor \"\(w12Name)\"")
        }
        let tied = cfg["weight_tying"] as? Bool ?? false
        let config = ModelConfig(
            dModel: d, nLayers: try int("n_layers"), nHeads: try int("n_heads"), vocabSize: try int("vocab_size"),
            ffnHidden: w12.shape[0] / 2, norm: norm, normEps: Float(cfg["norm_eps"] as? Double ?? 1e-5),
            rope: rope, ropeTheta: 10000, tieEmbeddings: tied, maxSeqLen: try int("seq_len"))
        if let p = config.problems().first { throw bad("describes an invalid model: \(p)") }
        // Every tensor present with its shape before the model is allocated: a config that promises
        // more than the files hold fails in one line.
        let shapes = TransformerWeights.shapes(config)
        for (name, shape) in shapes {
            guard let (file, e) = weights[name] else {
                throw TesseraError.data(file: dir, "missing tensor \"\(name)\"")
            }
            guard e.shape == shape else {
                throw TesseraError.data(file: file.path, "tensor \"\(name)\" has shape \(e.shape), expected \(shape)")
            }
        }
        let store = ParameterStore(shapes: shapes)
        for s in store.slots {
            try weights[s.name]!.0.read(s.name, into: store.values.pointer + s.offset, count: s.count)
        }
        let unused = Set(weights.keys).subtracting(store.names).filter { !$0.hasSuffix("inv_freq") }
        if let u = unused.sorted().first {
            throw TesseraError.data(file: dir, "tensor \"\(u)\" maps to no Tessera parameter (\(unused.count) unused)")
        }
        let tokPath = dir.appendingPathComponent("tokenizer.json")
        return ImportedModel(
            model: config, tokenizer: FileIO.exists(tokPath) ? try TokenizerFiles.load(tokPath) : nil,
            store: store, metadata: ["source": dir.lastPathComponent, "model_type": "open_lm"])
    }
}
