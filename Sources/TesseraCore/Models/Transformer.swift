/// A pre-norm decoder-only transformer (open_lm / Llama / GPT-2 families) with explicit forward
/// and backward, in the manner of llm.c: parameters and gradients in one flat store (names in
/// `TransformerWeights`), every activation a named buffer allocated for a fixed (batch, seq) at
/// construction. Nothing is allocated per step. The block's forward is `TransformerBlock`, shared
/// with KV-cache decoding (`InferenceSession`); its backward is here, the one place that needs it.
///
///   x₀ = E[tokens] (+ P[positions] with learned positions)
///   for each layer:  x ← x + Attn(Norm₁(x)) · W_outᵀ ;  x ← x + act(Norm₂(x)·W12ᵀ) · W3ᵀ
///     act = silu(g) ⊙ u over [g|u] (SwiGLU) or GELU; every linear + bias when linear_bias;
///     parallel residual (GPT-NeoX): x ← x + Attn(Norm₁(x))·W_outᵀ + MLP(Norm₂(x)), both from the same x
///   logits = Norm_f(x) · W_outputᵀ        (W_output = E when tied)
public final class Transformer {
    public let config: ModelConfig
    public let params: ParameterStore
    public let batch: Int
    public let seqLen: Int
    public let pool: Parallel
    /// bf16 products (`precision: bf16`): the weights' mirror and operand scratch; nil in fp32.
    public let mixed: MixedPrecision?
    public var precision: Precision { mixed == nil ? .fp32 : .bf16 }
    let rope: RotaryTable
    let attnShape: AttentionShape

    /// The residual stream between blocks: `stream[l]` [N, d] is block l's input (`stream[0]` the
    /// embeddings), `stream[layers]` the last block's output. N = batch·seq rows.
    let stream: [UnsafeMutablePointer<Float>]
    /// Per layer, what the block keeps for its backward pass.
    let blockActs: [BlockActivations]
    /// Per layer, the block's tensors in the parameter values and in the gradients.
    let blockWeights: [BlockWeights]
    let blockGrads: [BlockWeights]
    let embedding, finalNorm, output: UnsafeMutablePointer<Float>
    let positions, finalNormBias: UnsafeMutablePointer<Float>?
    let embeddingGrad, finalNormGrad, outputGrad: UnsafeMutablePointer<Float>
    let positionsGrad, finalNormBiasGrad: UnsafeMutablePointer<Float>?

    /// [N, d] final norm output, the LM head's input; its per-row mean and 1/σ [N].
    let lnf, lnfMean, lnfRstd: UnsafeMutablePointer<Float>
    /// [N] cross-entropy of each row's target after `loss` or `lossAndBackward` (0 where ignored).
    public let tokenLosses: UnsafeMutablePointer<Float>
    /// Backward scratch, reused by every layer: [N, d] gradient of the stream (dResid) and of a
    /// norm's output (dLn); [N, q] of qkv; [N, a] of the attention output; [N, g] of the W12
    /// product; [N, h] of the MLP's hidden activation.
    let dResid, dLn, dQkv, dAtt, dGu, dZ: UnsafeMutablePointer<Float>
    /// With a parallel residual, [N, d]: the MLP branch's gradient w.r.t. the block input, kept
    /// aside until the attention branch is through (empty otherwise).
    let dParallel: UnsafeMutablePointer<Float>
    /// Attention's per-worker score blocks (threads × `scratchPerWorker`).
    let attScratch: UnsafeMutablePointer<Float>
    /// [ceChunkRows, V] logits of one chunk of rows in the cross-entropy.
    let ceChunk: UnsafeMutablePointer<Float>
    let ceChunkRows: Int
    private let storage: [FloatBuffer]
    /// Tokens of the last forward, kept for the embedding backward.
    private var lastTokens: [Int32]

    public var rows: Int { batch * seqLen }
    /// When set, forward and backward time their phases into it.
    public var timer: PhaseTimer?
    /// Gradient buffers of frozen matrices (`frozen(_:)`): their dW products are skipped, since no
    /// optimizer reads them (they stay zero); dX still flows through them.
    private var frozenGrads: Set<UnsafeMutablePointer<Float>> = []

    /// Skips the weight-gradient products of the matrices named in `names` (frozen tensors); the
    /// trainable tensors' gradients are unchanged, bit for bit.
    public func frozen(_ names: Set<String>) {
        frozenGrads = Set(names.compactMap { params.slot($0).map { params.grads.pointer + $0.offset } })
    }

    /// `dw`, or nil when it belongs to a frozen matrix.
    private func trainable(_ dw: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float>? {
        frozenGrads.contains(dw) ? nil : dw
    }

    /// Parameter names and shapes in store order (`TransformerWeights`).
    public static func parameterShapes(_ c: ModelConfig) -> [(String, [Int])] { TransformerWeights.shapes(c) }

    /// Nil when a model of `c` with `batch` × `seqLen` rows fits this machine, else why not (the
    /// caller throws it as a config error). `training` adds gradients and both AdamW moments.
    /// The activation term is a lower estimate (per layer, per row: the residual stream, residMid,
    /// q/k/v, the attention output and gu; once: the ln and z buffers the layers share, since ln₁,
    /// ln₂ and z are recomputed in the backward pass, and the final norm), so a refusal is never a
    /// false alarm.
    public static func sizeProblem(_ c: ModelConfig, batch: Int, seqLen: Int, training: Bool) -> String? {
        // Structure and maxima only: the memory check below covers the weights (and more).
        if let p = c.problems(memory: false).first { return p }
        guard batch >= 1, seqLen >= 1 else { return "batch (\(batch)) and sequence length (\(seqLen)) must be ≥ 1" }
        guard seqLen <= c.maxSeqLen else {
            return "sequence length \(seqLen) exceeds the model's max_seq_len \(c.maxSeqLen)"
        }
        guard let rows = SizeLimits.bytes(batch, seqLen), rows <= SizeLimits.maxRows else {
            return
                "batch × sequence length (\(batch) × \(seqLen)) exceeds Tessera's maximum of \(SizeLimits.maxRows) rows"
        }
        let perRow =
            c.nLayers * (2 * c.dModel + c.qkvDim + c.nHeads * c.headDim + c.mlpInWidth) + 2 * c.dModel + c.ffnHidden
        let weights = SizeLimits.bytes(c.parameterCountEstimate, training ? 16 : 4) ?? Int.max
        let activations = SizeLimits.bytes(rows, SizeLimits.bytes(perRow, 4) ?? Int.max) ?? Int.max
        let (total, o) = weights.addingReportingOverflow(activations)
        return SizeLimits.memoryProblem(
            o ? nil : total, "\(training ? "training" : "running") this model on \(batch) × \(seqLen) tokens")
    }

    public init(config c: ModelConfig, batch: Int, seqLen: Int, pool: Parallel, precision: Precision = .fp32) {
        precondition(c.problems(memory: false).isEmpty, c.problems(memory: false).joined(separator: "; "))
        precondition(seqLen <= c.maxSeqLen, "seq_len \(seqLen) exceeds the model's max_seq_len \(c.maxSeqLen)")
        config = c
        self.batch = batch
        self.seqLen = seqLen
        self.pool = pool
        params = ParameterStore(shapes: TransformerWeights.shapes(c))
        rope = RotaryTable(
            kind: c.rope, headDim: c.headDim, positions: c.maxSeqLen, theta: c.ropeTheta, dims: c.ropeDims)
        attnShape = AttentionShape(
            batch: batch, seqLen: seqLen, heads: c.nHeads, kvHeads: c.nKVHeads, headDim: c.headDim)
        lastTokens = [Int32](repeating: 0, count: batch * seqLen)

        let N = batch * seqLen, d = c.dModel
        var storage: [FloatBuffer] = []
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = FloatBuffer(count: n)
            storage.append(b)
            return b.pointer
        }
        stream = (0...c.nLayers).map { _ in take(N * d) }
        let recomputed = BlockActivations.Recomputed(rows: N, config: c)
        blockActs = (0..<c.nLayers).map { _ in
            BlockActivations(rows: N, config: c, lseCount: batch * c.nHeads * seqLen, shared: recomputed)
        }
        lnf = take(N * d); lnfMean = take(N); lnfRstd = take(N)
        tokenLosses = take(N)
        dResid = take(N * d); dLn = take(N * d); dQkv = take(N * c.qkvDim); dAtt = take(N * c.nHeads * c.headDim)
        dGu = take(N * c.mlpInWidth); dZ = take(N * c.ffnHidden)
        dParallel = take(c.parallelResidual ? N * d : 0)
        attScratch = take(pool.threads * attnShape.scratchPerWorker)
        ceChunkRows = CrossEntropy.chunkRows(rows: N, vocab: c.vocabSize)
        ceChunk = take(ceChunkRows * c.vocabSize)
        self.storage = storage
        // The largest operand a product converts: an activation or gradient [N, width], or a
        // chunk of the cross-entropy's logit gradients [R, V]; the X of a weight gradient is at
        // most [N, width] (the head's is a chunk of the final norm's rows, [R, d]).
        let widest = max(c.dModel, c.qkvDim, c.nHeads * c.headDim, c.mlpInWidth, c.ffnHidden)
        mixed =
            precision == .bf16
            ? MixedPrecision(
                values: params.values, scratch: max(N * widest, ceChunkRows * c.vocabSize),
                gradientInputs: N * widest, attention: attnShape, threads: pool.threads)
            : nil

        let store = params
        blockWeights = (0..<c.nLayers).map { BlockWeights(store, layer: $0, base: store.values.pointer) }
        blockGrads = (0..<c.nLayers).map { BlockWeights(store, layer: $0, base: store.grads.pointer) }
        func at(_ g: TransformerWeights.Global, _ base: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float>? {
            store.slot(g.name).map { base + $0.offset }
        }
        let P = store.values.pointer, G = store.grads.pointer
        embedding = at(.embedding, P)!; embeddingGrad = at(.embedding, G)!
        output = c.tieEmbeddings ? embedding : at(.output, P)!
        outputGrad = c.tieEmbeddings ? embeddingGrad : at(.output, G)!
        finalNorm = at(.finalNorm, P)!; finalNormGrad = at(.finalNorm, G)!
        finalNormBias = at(.finalNormBias, P); finalNormBiasGrad = at(.finalNormBias, G)
        positions = at(.positions, P); positionsGrad = at(.positions, G)
    }

    // MARK: initialisation

    /// open_lm's initialisation: trunc_normal(σ, ±3σ) with σ = 1/√d for embeddings, output,
    /// in_proj and w12; out_proj and w3 scaled down by √(2(layer+1)); norms γ=1, β=0.
    /// Each tensor draws from its own stream "init/<name>", so adding a tensor changes no other.
    public func initialize(seed: UInt64) {
        let c = config
        let std = 1 / Float(c.dModel).squareRoot()
        // nil: ones (norm gains); 0: zeros (every bias); else trunc_normal with that σ.
        func fill(_ name: String, _ sigma: Float?) {
            guard let slot = params.slot(name) else { return }
            let p = params.values.pointer + slot.offset
            guard let sigma else { p.update(repeating: 1, count: slot.count); return }
            guard sigma > 0 else { p.update(repeating: 0, count: slot.count); return }
            var rng = RandomStream(seed: seed, name: "init/" + name)
            for i in 0..<slot.count { p[i] = rng.truncatedNormal(std: sigma) }
        }
        for g in TransformerWeights.Global.allCases {
            switch g {
            case .finalNorm: fill(g.name, nil)
            case .finalNormBias: fill(g.name, 0)
            case .embedding, .positions, .output: fill(g.name, std)
            }
        }
        for l in 0..<c.nLayers {
            let depth = (2 * Float(l + 1)).squareRoot()
            for b in TransformerWeights.Block.allCases {
                switch b {
                case .attentionNorm, .ffnNorm: fill(b.name(layer: l), nil)
                case .attentionNormBias, .ffnNormBias, .inProjBias, .outProjBias, .w12Bias, .w3Bias:
                    fill(b.name(layer: l), 0)
                case .inProj, .w12: fill(b.name(layer: l), std)
                case .outProj: fill(b.name(layer: l), std / depth)
                case .w3: fill(b.name(layer: l), 1 / Float(c.ffnHidden).squareRoot() / depth)
                }
            }
        }
    }

    // MARK: forward

    /// Runs the network on `tokens` ([batch, seq], row-major) up to the final norm. In bf16 the
    /// weights' mirror is made first, unless `weightsUnchanged` says this step already made it
    /// (the micro-batches after the first of a step).
    public func forward(tokens: UnsafePointer<Int32>, weightsUnchanged: Bool = false) {
        let c = config, N = rows, d = c.dModel
        if let mixed, !weightsUnchanged { timer.measure("bf16 weights") { mixed.refreshWeights() } }
        for i in 0..<N { lastTokens[i] = tokens[i] }
        timer.measure("embedding fwd") {
            Embedding.forward(pool, ids: tokens, table: embedding, out: stream[0], rows: N, d: d)
            if let positions {
                for b in 0..<batch {
                    TransformerBlock.addInPlace(pool, stream[0] + b * seqLen * d, positions, count: seqLen * d)
                }
            }
        }
        for l in 0..<c.nLayers {
            let a = blockActs[l]
            TransformerBlock.forward(
                c, pool, blockWeights[l], rope: rope,
                source: .sequences(attnShape, lse: a.lse, scratch: attScratch),
                x: stream[l], out: stream[l + 1], acts: a, rows: N, mixed: mixed, timer: timer)
        }
        timer.measure("norm fwd") {
            Norm.forward(
                c.norm, pool, x: stream[c.nLayers], weight: finalNorm, bias: finalNormBias.map { UnsafePointer($0) },
                y: lnf, mean: lnfMean, rstd: lnfRstd, rows: N, d: d, eps: c.normEps)
        }
    }

    /// Σ cross-entropy over targets ≠ `ignoreIndex` after `forward`; per-token losses in `tokenLosses`.
    /// With `vocabulary` < vocab_size the softmax runs over the first `vocabulary` ids only: the
    /// loss renormalised over them (text ids of a text-to-image model; every target must be one).
    public func loss(targets: UnsafePointer<Int32>, ignoreIndex: Int32, vocabulary: Int? = nil) -> Double {
        let v = vocabulary ?? config.vocabSize
        precondition(v >= 1 && v <= config.vocabSize)
        return CrossEntropy.forwardBackward(
            pool, x: lnf, w: output, targets: targets,
            ignoreIndex: ignoreIndex, rows: rows, d: config.dModel, vocab: v,
            scale: 0, chunk: ceChunk, chunkRows: ceChunkRows, losses: tokenLosses,
            dx: nil, dw: nil, mixed: mixed)
    }

    /// Full logits `[batch·seq, V]` of the last forward (for tests and small evaluations).
    public func logits(into out: UnsafeMutablePointer<Float>) {
        Gemm.linearForward(
            pool, x: lnf, w: output, y: out,
            m: rows, k: config.dModel, n: config.vocabSize, mixed: mixed)
    }

    /// Logits `[V]` at one row (batch·seq index) of the last forward.
    public func logits(row: Int, into out: UnsafeMutablePointer<Float>) {
        Gemm.linearForward(
            pool, x: lnf + row * config.dModel, w: output, y: out,
            m: 1, k: config.dModel, n: config.vocabSize, mixed: mixed)
    }

    // MARK: backward

    /// Cross-entropy after `forward`, then the whole backward pass. Gradients accumulate into
    /// `params.grads`, each counted target weighted by `scale`. Returns Σ losses (unscaled).
    public func lossAndBackward(targets: UnsafePointer<Int32>, ignoreIndex: Int32, scale: Float) -> Double {
        let c = config, N = rows, d = c.dModel, h = c.ffnHidden, att = c.nHeads * c.headDim, g = c.mlpInWidth
        func biasGrad(_ dy: UnsafePointer<Float>, _ db: UnsafeMutablePointer<Float>?, _ n: Int) {
            if let db { LinearBias.backward(pool, dy: dy, db: db, rows: N, n: n) }
        }
        let total = timer.measure("output+loss fwd+bwd") {
            CrossEntropy.forwardBackward(
                pool, x: lnf, w: output, targets: targets,
                ignoreIndex: ignoreIndex, rows: N, d: d, vocab: c.vocabSize,
                scale: scale, chunk: ceChunk, chunkRows: ceChunkRows,
                losses: tokenLosses, dx: dLn, dw: trainable(outputGrad), mixed: mixed)
        }
        timer.measure("norm bwd") {
            Norm.backward(
                c.norm, pool, dy: dLn, x: stream[c.nLayers], weight: finalNorm, mean: lnfMean, rstd: lnfRstd,
                dx: dResid, accumulate: false, dWeight: finalNormGrad, dBias: finalNormBiasGrad,
                rows: N, d: d)
        }
        for l in stride(from: c.nLayers - 1, through: 0, by: -1) {
            let w = blockWeights[l], dw = blockGrads[l], a = blockActs[l], x = stream[l]
            // FFN branch: out = residMid + z·W3ᵀ. z, ln₂ and ln₁ are made again (the layers share
            // their buffers) only for a weight gradient that reads them: a frozen one does not.
            let dw3 = trainable(dw.w3), dw12 = trainable(dw.w12), dwIn = trainable(dw.inProj)
            if dw3 != nil {
                timer.measure("recompute mlp activation") { TransformerBlock.mlpActivation(c, pool, acts: a, rows: N) }
            }
            timer.measure("linear bwd") {
                Gemm.linearBackward(
                    pool, dy: dResid, w: w.w3, x: a.z, dx: dZ, dw: dw3, m: N, k: h, n: d, mixed: mixed)
                biasGrad(dResid, dw.w3Bias, d)
            }
            timer.measure("mlp activation bwd") {
                switch c.mlp {
                case .swiglu: SwiGLU.backward(pool, gu: a.gu, dz: dZ, dgu: dGu, rows: N, hidden: h)
                case .gelu, .geluTanh:
                    GELU.backward(pool, x: a.gu, dy: dZ, dx: dGu, count: N * h, tanh: c.mlp == .geluTanh)
                }
            }
            if dw12 != nil {
                timer.measure("recompute norm") { TransformerBlock.norm2(c, pool, w, x: x, acts: a, rows: N) }
            }
            timer.measure("linear bwd") {
                Gemm.linearBackward(
                    pool, dy: dGu, w: w.w12, x: a.ln2, dx: dLn, dw: dw12, m: N, k: d, n: g, mixed: mixed)
                biasGrad(dGu, dw.w12Bias, g)
            }
            timer.measure("norm bwd") {
                // Sequential: Norm₂ read residMid, so its gradient joins dResid now. Parallel: it read
                // the block input; kept aside and added once the attention branch is through.
                let parallel = c.parallelResidual
                Norm.backward(
                    c.norm, pool, dy: dLn, x: parallel ? x : a.residMid, weight: w.ffnNorm, mean: a.ln2Mean,
                    rstd: a.ln2Rstd, dx: parallel ? dParallel : dResid, accumulate: !parallel, dWeight: dw.ffnNorm,
                    dBias: dw.ffnNormBias, rows: N, d: d)
            }
            // Attention branch: residMid = x + att·W_outᵀ
            timer.measure("linear bwd") {
                Gemm.linearBackward(
                    pool, dy: dResid, w: w.outProj, x: a.att, dx: dAtt, dw: trainable(dw.outProj), m: N, k: att, n: d,
                    mixed: mixed
                )
                biasGrad(dResid, dw.outProjBias, d)
            }
            timer.measure("attention bwd") {
                Attention.backward(
                    pool, attnShape, qkv: a.qkv, out: a.att, lse: a.lse, dOut: dAtt, dqkv: dQkv,
                    scratch: attScratch, bf16: mixed?.attention)
            }
            timer.measure("rope bwd") {
                rope.apply(
                    pool, dQkv, rows: N, seqLen: seqLen, stride: c.qkvDim, column: 0,
                    heads: c.nHeads + c.nKVHeads, inverse: true)
            }
            if dwIn != nil {
                timer.measure("recompute norm") { TransformerBlock.norm1(c, pool, w, x: x, acts: a, rows: N) }
            }
            timer.measure("linear bwd") {
                Gemm.linearBackward(
                    pool, dy: dQkv, w: w.inProj, x: a.ln1, dx: dLn, dw: dwIn, m: N, k: d, n: c.qkvDim,
                    mixed: mixed
                )
                // the bias is added before the rotation, dQkv is already un-rotated
                biasGrad(dQkv, dw.inProjBias, c.qkvDim)
            }
            timer.measure("norm bwd") {
                Norm.backward(
                    c.norm, pool, dy: dLn, x: x, weight: w.attentionNorm, mean: a.ln1Mean, rstd: a.ln1Rstd,
                    dx: dResid, accumulate: true, dWeight: dw.attentionNorm, dBias: dw.attentionNormBias,
                    rows: N, d: d)
                if c.parallelResidual { TransformerBlock.addInPlace(pool, dResid, dParallel, count: N * d) }
            }
        }
        lastTokens.withUnsafeBufferPointer { ids in
            Embedding.backward(pool, ids: ids.baseAddress!, dOut: dResid, dTable: embeddingGrad, rows: N, d: d)
        }
        if let positionsGrad {
            for b in 0..<batch {
                TransformerBlock.addInPlace(pool, positionsGrad, dResid + b * seqLen * d, count: seqLen * d)
            }
        }
        return total
    }
}
