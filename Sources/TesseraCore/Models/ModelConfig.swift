/// The feed-forward block: gated SwiGLU (open_lm, Llama) or a plain two-layer MLP with GELU, exact
/// (GPT-NeoX) or tanh-approximated (GPT-2's "gelu_new").
public enum MLPKind: String, Codable, Sendable, CaseIterable {
    case swiglu
    case gelu
    case geluTanh = "gelu_tanh"
}

/// Shape of a pre-norm decoder-only transformer, covering the open_lm, Llama and GPT-2 families.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var dModel: Int
    public var nLayers: Int
    public var nHeads: Int
    public var nKVHeads: Int
    public var vocabSize: Int
    /// SwiGLU hidden width. open_lm's rule, used when the config gives none:
    /// multipleOf · ceil(int(8d/3) / multipleOf).
    public var ffnHidden: Int
    public var norm: NormKind
    public var normEps: Float
    public var rope: RopeKind
    public var ropeTheta: Double
    public var tieEmbeddings: Bool
    /// Longest sequence the model is planned for (RoPE table size).
    public var maxSeqLen: Int
    public var mlp: MLPKind = .swiglu
    /// Biases on the four linear layers of every block (GPT-2).
    public var linearBias = false
    /// A learned absolute position embedding `[max_seq_len, d]` added to the token embedding (GPT-2).
    public var learnedPositions = false
    /// Rotated channels per head; 0: the whole head (GPT-NeoX rotates rotary_pct of it).
    public var rotaryDims = 0
    /// x + Attn(Norm₁(x)) + MLP(Norm₂(x)) instead of two sequential residual steps (GPT-NeoX).
    public var parallelResidual = false

    public var ropeDims: Int { rotaryDims == 0 ? headDim : rotaryDims }

    /// Rows of the first feed-forward matrix: gate and up for SwiGLU, the hidden layer otherwise.
    public var mlpInWidth: Int { mlp == .swiglu ? 2 * ffnHidden : ffnHidden }

    public init(
        dModel: Int, nLayers: Int, nHeads: Int, nKVHeads: Int? = nil, vocabSize: Int,
        ffnHidden: Int? = nil, ffnMultipleOf: Int = 256, norm: NormKind = .layerNorm,
        normEps: Float = 1e-5, rope: RopeKind = .half, ropeTheta: Double = 10000,
        tieEmbeddings: Bool = false, maxSeqLen: Int
    ) {
        self.dModel = dModel
        self.nLayers = nLayers
        self.nHeads = nHeads
        self.nKVHeads = nKVHeads ?? nHeads
        self.vocabSize = vocabSize
        self.ffnHidden = ffnHidden ?? ModelConfig.openLMHidden(dModel: dModel, multipleOf: ffnMultipleOf)
        self.norm = norm
        self.normEps = normEps
        self.rope = rope
        self.ropeTheta = ropeTheta
        self.tieEmbeddings = tieEmbeddings
        self.maxSeqLen = maxSeqLen
    }

    public static func openLMHidden(dModel: Int, multipleOf: Int) -> Int {
        let raw = (8 * dModel) / 3
        return multipleOf * ((raw + multipleOf - 1) / multipleOf)
    }

    public var headDim: Int { dModel / nHeads }
    public var qkvDim: Int { (nHeads + 2 * nKVHeads) * headDim }

    /// Problems with the shape, each naming the offending field; empty when valid.
    /// `memory`: also compare the weights with the memory available now.
    public func problems(memory: Bool = true) -> [String] {
        var p: [String] = []
        if dModel <= 0 { p.append("model.d_model must be positive (got \(dModel))") }
        if nLayers <= 0 { p.append("model.n_layers must be positive (got \(nLayers))") }
        if nHeads <= 0 { p.append("model.n_heads must be positive (got \(nHeads))") }
        if nHeads > 0 && dModel % nHeads != 0 {
            p.append("model.d_model (\(dModel)) must be a multiple of model.n_heads (\(nHeads))")
        }
        if nKVHeads <= 0 || (nHeads > 0 && nHeads % nKVHeads != 0) {
            p.append("model.n_kv_heads (\(nKVHeads)) must divide model.n_heads (\(nHeads))")
        }
        if nHeads > 0 && dModel % nHeads == 0 && rope != .none && headDim % 2 != 0 {
            p.append("model.rope needs an even head dimension (d_model / n_heads = \(headDim))")
        }
        if rotaryDims < 0 || rotaryDims % 2 != 0 || (nHeads > 0 && rotaryDims > dModel / nHeads) {
            p.append("model.rotary_dims (\(rotaryDims)) must be even and at most the head dimension")
        }
        if vocabSize <= 1 { p.append("model.vocab_size must be at least 2 (got \(vocabSize))") }
        if ffnHidden <= 0 { p.append("model.ffn_hidden must be positive (got \(ffnHidden))") }
        if !(normEps > 0) { p.append("model.norm_eps must be positive (got \(normEps))") }
        if !(ropeTheta > 0) { p.append("model.rope_theta must be positive (got \(ropeTheta))") }
        if maxSeqLen <= 0 { p.append("sequence length must be positive (got \(maxSeqLen))") }
        // Documented maxima (SizeLimits), then the weights against the memory available.
        for (key, v, m) in [
            ("model.d_model", dModel, SizeLimits.maxDModel), ("model.n_layers", nLayers, SizeLimits.maxLayers),
            ("model.n_heads", nHeads, SizeLimits.maxHeads), ("model.vocab_size", vocabSize, SizeLimits.maxVocabulary),
            ("model.ffn_hidden", ffnHidden, SizeLimits.maxFFNHidden),
            ("model.max_seq_len", maxSeqLen, SizeLimits.maxSequenceLength),
        ]
        where v > m { p.append("\(key) (\(v)) exceeds Tessera's maximum of \(m)") }
        if memory, p.isEmpty,
            let why = SizeLimits.memoryProblem(
                SizeLimits.bytes(parameterCountEstimate, 4),
                "the model's weights (≈ \(parameterCountEstimate) parameters)")
        {
            p.append(why)
        }
        return p
    }

    /// Parameters the architecture implies (embeddings, attention, MLP, norms, biases): what its
    /// weights cost before anything is allocated. Saturates instead of overflowing.
    public var parameterCountEstimate: Int {
        func mul(_ xs: Int...) -> Int {
            xs.reduce(1) { a, b in
                let (r, o) = a.multipliedReportingOverflow(by: b); return o ? Int.max : r
            }
        }
        func add(_ xs: Int...) -> Int {
            xs.reduce(0) { a, b in
                let (r, o) = a.addingReportingOverflow(b); return o ? Int.max : r
            }
        }
        let attention = add(mul(dModel, qkvDim), mul(nHeads, headDim, dModel))
        let perLayer = add(attention, mul(dModel, mlpInWidth), mul(ffnHidden, dModel), mul(4, dModel))
        return add(
            mul(nLayers, perLayer), mul(vocabSize, dModel, tieEmbeddings ? 1 : 2),
            learnedPositions ? mul(maxSeqLen, dModel) : 0)
    }
}
