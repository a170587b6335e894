/// The transformer's tensors, declared once: each weight next to its checkpoint key and shape.
/// The model, the KV-cache session, the freezing presets and every importer address tensors
/// through this table (importers map their own names onto it); nothing else spells a key.
///
/// Names follow open_lm, so freezing globs and open_lm checkpoints address tensors the same way.
/// Shapes are row-major `[out, in]` for linear weights (y = x·Wᵀ):
///   tok_embeddings.weight                      [V, d]
///   pos_embeddings.weight                      [T, d]               learned positions only
///   layers.{i}.attention_norm.{weight,bias}    [d]                  bias with LayerNorm
///   layers.{i}.attention.in_proj.{weight,bias} [(H + 2·Hkv)·hd, d]  rows: q | k | v
///   layers.{i}.attention.out_proj.{weight,bias} [d, H·hd]
///   layers.{i}.ffn_norm.{weight,bias}          [d]
///   layers.{i}.feed_forward.w12.{weight,bias}  [g, d]               SwiGLU: g = 2h, rows gate | up
///   layers.{i}.feed_forward.w3.{weight,bias}   [d, h]
///   norm.{weight,bias}                         [d]
///   output.weight                              [V, d]               absent when tied to the embedding
/// Linear biases exist with `linear_bias` (GPT-2, GPT-NeoX), norm biases with LayerNorm.
public enum TransformerWeights {
    /// Tensors outside the blocks.
    public enum Global: String, CaseIterable {
        case embedding = "tok_embeddings.weight"
        case positions = "pos_embeddings.weight"
        case finalNorm = "norm.weight"
        case finalNormBias = "norm.bias"
        case output = "output.weight"

        public var name: String { rawValue }

        /// Its shape under `c`, or nil when `c` has no such tensor.
        public func shape(_ c: ModelConfig) -> [Int]? {
            switch self {
            case .embedding: return [c.vocabSize, c.dModel]
            case .positions: return c.learnedPositions ? [c.maxSeqLen, c.dModel] : nil
            case .finalNorm: return [c.dModel]
            case .finalNormBias: return c.norm.hasBias ? [c.dModel] : nil
            case .output: return c.tieEmbeddings ? nil : [c.vocabSize, c.dModel]
            }
        }
    }

    /// One block's tensors by their key after "layers.N.", in store order.
    public enum Block: String, CaseIterable {
        case attentionNorm = "attention_norm.weight"
        case attentionNormBias = "attention_norm.bias"
        case inProj = "attention.in_proj.weight"
        case inProjBias = "attention.in_proj.bias"
        case outProj = "attention.out_proj.weight"
        case outProjBias = "attention.out_proj.bias"
        case ffnNorm = "ffn_norm.weight"
        case ffnNormBias = "ffn_norm.bias"
        case w12 = "feed_forward.w12.weight"
        case w12Bias = "feed_forward.w12.bias"
        case w3 = "feed_forward.w3.weight"
        case w3Bias = "feed_forward.w3.bias"

        public func name(layer: Int) -> String { "layers.\(layer)." + rawValue }

        /// Its shape under `c`, or nil when `c` has no such tensor.
        public func shape(_ c: ModelConfig) -> [Int]? {
            let d = c.dModel, linear = c.linearBias, norm = c.norm.hasBias
            switch self {
            case .attentionNorm, .ffnNorm: return [d]
            case .attentionNormBias, .ffnNormBias: return norm ? [d] : nil
            case .inProj: return [c.qkvDim, d]
            case .inProjBias: return linear ? [c.qkvDim] : nil
            case .outProj: return [d, c.nHeads * c.headDim]
            case .outProjBias: return linear ? [d] : nil
            case .w12: return [c.mlpInWidth, d]
            case .w12Bias: return linear ? [c.mlpInWidth] : nil
            case .w3: return [d, c.ffnHidden]
            case .w3Bias: return linear ? [d] : nil
            }
        }
    }

    /// Every tensor of a model of `c` with its shape, in store order.
    public static func shapes(_ c: ModelConfig) -> [(String, [Int])] {
        var s: [(String, [Int])] = []
        for g in [Global.embedding, .positions] { if let shape = g.shape(c) { s.append((g.name, shape)) } }
        for i in 0..<c.nLayers {
            for t in Block.allCases { if let shape = t.shape(c) { s.append((t.name(layer: i), shape)) } }
        }
        for g in [Global.finalNorm, .finalNormBias, .output] { if let shape = g.shape(c) { s.append((g.name, shape)) } }
        return s
    }

    /// The layer of a block tensor's name ("layers.3.ffn_norm.weight" → 3), nil for the others.
    public static func layer(of name: String) -> Int? {
        guard name.hasPrefix("layers.") else { return nil }
        return Int(name.dropFirst("layers.".count).prefix { $0.isNumber })
    }
}

/// One block's tensors resolved once against a buffer laid out like the parameter store (its
/// values or its gradients), so a forward, backward or decoding step builds no names.
struct BlockWeights {
    let attentionNorm, inProj, outProj, ffnNorm, w12, w3: UnsafeMutablePointer<Float>
    /// Present when the model has them (norm biases with LayerNorm, linear ones with linear_bias).
    let attentionNormBias, inProjBias, outProjBias, ffnNormBias, w12Bias, w3Bias: UnsafeMutablePointer<Float>?

    init(_ store: ParameterStore, layer: Int, base: UnsafeMutablePointer<Float>) {
        typealias B = TransformerWeights.Block
        func at(_ t: B) -> UnsafeMutablePointer<Float>? { store.slot(t.name(layer: layer)).map { base + $0.offset } }
        func required(_ t: B) -> UnsafeMutablePointer<Float> {
            guard let p = at(t) else { fatalError("no parameter named \(t.name(layer: layer))") }
            return p
        }
        attentionNorm = required(.attentionNorm); inProj = required(.inProj); outProj = required(.outProj)
        ffnNorm = required(.ffnNorm); w12 = required(.w12); w3 = required(.w3)
        attentionNormBias = at(.attentionNormBias); inProjBias = at(.inProjBias); outProjBias = at(.outProjBias)
        ffnNormBias = at(.ffnNormBias); w12Bias = at(.w12Bias); w3Bias = at(.w3Bias)
    }
}

extension ParameterStore {
    /// A model-level tensor's values, when the model has it.
    public func value(_ g: TransformerWeights.Global) -> UnsafeMutablePointer<Float>? {
        slot(g.name).map { values.pointer + $0.offset }
    }

    /// A block tensor's values; the model must have it.
    public func value(_ b: TransformerWeights.Block, layer: Int) -> UnsafeMutablePointer<Float> {
        value(b.name(layer: layer))
    }
}
