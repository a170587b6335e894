/// A pre-norm decoder-only transformer (open_lm / Llama / GPT-2 families) with explicit forward
/// and backward, in the manner of llm.c: parameters and gradients in one flat store, activations in
/// one buffer planned for a fixed (batch, seq) at construction. Nothing is allocated per step.
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
    let rope: RotaryTable
    let attnShape: AttentionShape
    let acts: FloatBuffer

    struct LayerParams {
        var norm1W, norm1B, inProj, outProj, norm2W, norm2B, w12, w3: Int  // offsets; bias -1 when absent
        var inProjB, outProjB, w12B, w3B: Int  // -1 without linear_bias
    }
    struct LayerActs {
        var resid, ln1, ln1Mean, ln1Rstd, qkv, att, lse, residMid, ln2, ln2Mean, ln2Rstd, gu,
            z: UnsafeMutablePointer<Float>
    }
    let layerParams: [LayerParams]
    let layerActs: [LayerActs]
    let embedOffset: Int, outputOffset: Int, normFW: Int, normFB: Int, posOffset: Int
    let residOut, lnf, lnfMean, lnfRstd: UnsafeMutablePointer<Float>
    public let tokenLosses: UnsafeMutablePointer<Float>
    let dResid, dLn, dQkv, dAtt, dGu, dZ, attScratch, ceChunk: UnsafeMutablePointer<Float>
    /// The MLP branch's gradient w.r.t. the block input, with a parallel residual (else unused).
    let dParallel: UnsafeMutablePointer<Float>
    let ceChunkRows: Int
    /// Tokens of the last forward, kept for the embedding backward.
    private var lastTokens: [Int32]

    public var rows: Int { batch * seqLen }
    /// When set, forward and backward time their phases into it.
    public var timer: PhaseTimer?

    /// Parameter names and shapes in store order (see `ParameterStore` for the scheme).
    public static func parameterShapes(_ c: ModelConfig) -> [(String, [Int])] {
        let d = c.dModel, h = c.ffnHidden
        var s: [(String, [Int])] = [("tok_embeddings.weight", [c.vocabSize, d])]
        if c.learnedPositions { s.append(("pos_embeddings.weight", [c.maxSeqLen, d])) }
        let b = c.linearBias
        for i in 0..<c.nLayers {
            let p = "layers.\(i)."
            s.append((p + "attention_norm.weight", [d]))
            if c.norm.hasBias { s.append((p + "attention_norm.bias", [d])) }
            s.append((p + "attention.in_proj.weight", [c.qkvDim, d]))
            if b { s.append((p + "attention.in_proj.bias", [c.qkvDim])) }
            s.append((p + "attention.out_proj.weight", [d, c.nHeads * c.headDim]))
            if b { s.append((p + "attention.out_proj.bias", [d])) }
            s.append((p + "ffn_norm.weight", [d]))
            if c.norm.hasBias { s.append((p + "ffn_norm.bias", [d])) }
            s.append((p + "feed_forward.w12.weight", [c.mlpInWidth, d]))
            if b { s.append((p + "feed_forward.w12.bias", [c.mlpInWidth])) }
            s.append((p + "feed_forward.w3.weight", [d, h]))
            if b { s.append((p + "feed_forward.w3.bias", [d])) }
        }
        s.append(("norm.weight", [d]))
        if c.norm.hasBias { s.append(("norm.bias", [d])) }
        if !c.tieEmbeddings { s.append(("output.weight", [c.vocabSize, d])) }
        return s
    }

    /// Nil when a model of `c` with `batch` × `seqLen` rows fits this machine, else why not (the
    /// caller throws it as a config error). `training` adds gradients and both AdamW moments.
    /// The activation term is a lower estimate (per layer, per row: the residual stream, norms,
    /// q/k/v, attention output and the MLP's hidden width), so a refusal is never a false alarm.
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
        let perRow = c.nLayers * (6 * c.dModel + c.qkvDim + c.mlpInWidth + c.ffnHidden) + c.dModel
        let weights = SizeLimits.bytes(c.parameterCountEstimate, training ? 16 : 4) ?? Int.max
        let activations = SizeLimits.bytes(rows, SizeLimits.bytes(perRow, 4) ?? Int.max) ?? Int.max
        let (total, o) = weights.addingReportingOverflow(activations)
        return SizeLimits.memoryProblem(
            o ? nil : total, "\(training ? "training" : "running") this model on \(batch) × \(seqLen) tokens")
    }

    public init(config c: ModelConfig, batch: Int, seqLen: Int, pool: Parallel) {
        precondition(c.problems(memory: false).isEmpty, c.problems(memory: false).joined(separator: "; "))
        precondition(seqLen <= c.maxSeqLen, "seq_len \(seqLen) exceeds the model's max_seq_len \(c.maxSeqLen)")
        config = c
        self.batch = batch
        self.seqLen = seqLen
        self.pool = pool
        params = ParameterStore(shapes: Transformer.parameterShapes(c))
        rope = RotaryTable(
            kind: c.rope, headDim: c.headDim, positions: c.maxSeqLen, theta: c.ropeTheta, dims: c.ropeDims)
        attnShape = AttentionShape(
            batch: batch, seqLen: seqLen, heads: c.nHeads, kvHeads: c.nKVHeads, headDim: c.headDim)
        lastTokens = [Int32](repeating: 0, count: batch * seqLen)

        let N = batch * seqLen, d = c.dModel, h = c.ffnHidden, att = c.nHeads * c.headDim, g = c.mlpInWidth
        let chunkRows = CrossEntropy.chunkRows(rows: N, vocab: c.vocabSize)
        ceChunkRows = chunkRows
        // Plan every activation as an offset into one buffer.
        var plan: [Int] = []
        var total = 0
        func take(_ n: Int) -> Int { let o = total; total += (n + 15) / 16 * 16; plan.append(o); return o }
        var layerOffsets: [[Int]] = []
        for _ in 0..<c.nLayers {
            layerOffsets.append([
                take(N * d), take(N * d), take(N), take(N), take(N * c.qkvDim), take(N * att),
                take(batch * c.nHeads * seqLen), take(N * d), take(N * d), take(N), take(N),
                take(N * g), take(N * h),
            ])
        }
        let fixed = [
            take(N * d), take(N * d), take(N), take(N), take(N),
            take(N * d), take(N * d), take(N * c.qkvDim), take(N * att), take(N * g), take(N * h),
            take(pool.threads * attnShape.scratchPerWorker), take(chunkRows * c.vocabSize),
            take(c.parallelResidual ? N * d : 0),
        ]
        acts = FloatBuffer(count: total)
        let base = acts.pointer
        layerActs = layerOffsets.map { o in
            LayerActs(
                resid: base + o[0], ln1: base + o[1], ln1Mean: base + o[2], ln1Rstd: base + o[3],
                qkv: base + o[4], att: base + o[5], lse: base + o[6], residMid: base + o[7],
                ln2: base + o[8], ln2Mean: base + o[9], ln2Rstd: base + o[10], gu: base + o[11], z: base + o[12])
        }
        residOut = base + fixed[0]; lnf = base + fixed[1]; lnfMean = base + fixed[2]; lnfRstd = base + fixed[3]
        tokenLosses = base + fixed[4]
        dResid = base + fixed[5]; dLn = base + fixed[6]; dQkv = base + fixed[7]; dAtt = base + fixed[8]
        dGu = base + fixed[9]; dZ = base + fixed[10]; attScratch = base + fixed[11]; ceChunk = base + fixed[12]
        dParallel = base + fixed[13]

        let store = params
        func off(_ n: String) -> Int { store.slot(n)?.offset ?? -1 }
        layerParams = (0..<c.nLayers).map { i in
            let p = "layers.\(i)."
            return LayerParams(
                norm1W: off(p + "attention_norm.weight"), norm1B: off(p + "attention_norm.bias"),
                inProj: off(p + "attention.in_proj.weight"), outProj: off(p + "attention.out_proj.weight"),
                norm2W: off(p + "ffn_norm.weight"), norm2B: off(p + "ffn_norm.bias"),
                w12: off(p + "feed_forward.w12.weight"), w3: off(p + "feed_forward.w3.weight"),
                inProjB: off(p + "attention.in_proj.bias"), outProjB: off(p + "attention.out_proj.bias"),
                w12B: off(p + "feed_forward.w12.bias"), w3B: off(p + "feed_forward.w3.bias"))
        }
        embedOffset = off("tok_embeddings.weight")
        outputOffset = c.tieEmbeddings ? embedOffset : off("output.weight")
        normFW = off("norm.weight")
        normFB = off("norm.bias")
        posOffset = off("pos_embeddings.weight")
    }

    // MARK: initialisation

    /// open_lm's initialisation: trunc_normal(σ, ±3σ) with σ = 1/√d for embeddings, output,
    /// in_proj and w12; out_proj and w3 scaled down by √(2(layer+1)); norms γ=1, β=0.
    /// Each tensor draws from its own stream "init/<name>", so adding a tensor changes no other.
    public func initialize(seed: UInt64) {
        let d = Float(config.dModel), h = Float(config.ffnHidden)
        for slot in params.slots {
            let p = params.values.pointer + slot.offset
            let name = slot.name
            if name.hasSuffix("norm.weight") {
                p.update(repeating: 1, count: slot.count)
                continue
            }
            if name.hasSuffix(".bias") {  // norm and linear biases
                p.update(repeating: 0, count: slot.count)
                continue
            }
            var std = 1 / d.squareRoot()
            if let layer = Transformer.layerIndex(name) {
                let depth = (2 * Float(layer + 1)).squareRoot()
                if name.hasSuffix("out_proj.weight") { std = std / depth }
                if name.hasSuffix("w3.weight") { std = 1 / h.squareRoot() / depth }
            }
            var rng = RandomStream(seed: seed, name: "init/" + name)
            for i in 0..<slot.count { p[i] = rng.truncatedNormal(std: std) }
        }
    }

    static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("layers.") else { return nil }
        let rest = name.dropFirst("layers.".count)
        return Int(rest.prefix { $0.isNumber })
    }

    // MARK: forward

    /// Runs the network on `tokens` ([batch, seq], row-major) up to the final norm.
    public func forward(tokens: UnsafePointer<Int32>) {
        let c = config, N = rows, d = c.dModel, h = c.ffnHidden, att = c.nHeads * c.headDim, g = c.mlpInWidth
        let P = params.values.pointer
        for i in 0..<N { lastTokens[i] = tokens[i] }
        timer.measure("embedding fwd") {
            let x0 = layerActs.first?.resid ?? residOut
            Embedding.forward(pool, ids: tokens, table: P + embedOffset, out: x0, rows: N, d: d)
            if posOffset >= 0 {
                for b in 0..<batch { addInPlace(x0 + b * seqLen * d, P + posOffset, count: seqLen * d) }
            }
        }
        func bias(_ y: UnsafeMutablePointer<Float>, _ offset: Int, _ n: Int) {
            if offset >= 0 { LinearBias.forward(pool, y: y, bias: P + offset, rows: N, n: n) }
        }
        for l in 0..<c.nLayers {
            let w = layerParams[l], a = layerActs[l]
            let next = l + 1 < c.nLayers ? layerActs[l + 1].resid : residOut
            timer.measure("norm fwd") {
                Norm.forward(
                    c.norm, pool, x: a.resid, weight: P + w.norm1W, bias: w.norm1B >= 0 ? P + w.norm1B : nil,
                    y: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: N, d: d, eps: c.normEps)
            }
            timer.measure("linear fwd") {
                Gemm.linearForward(pool, x: a.ln1, w: P + w.inProj, y: a.qkv, m: N, k: d, n: c.qkvDim)
                bias(a.qkv, w.inProjB, c.qkvDim)
            }
            timer.measure("rope fwd") {
                rope.apply(
                    pool, a.qkv, rows: N, seqLen: seqLen, stride: c.qkvDim, column: 0,
                    heads: c.nHeads + c.nKVHeads, inverse: false)
            }
            timer.measure("attention fwd") {
                Attention.forward(pool, attnShape, qkv: a.qkv, out: a.att, lse: a.lse, scratch: attScratch)
            }
            timer.measure("linear fwd") {
                Gemm.linearForward(pool, x: a.att, w: P + w.outProj, y: a.residMid, m: N, k: att, n: d)
                bias(a.residMid, w.outProjB, d)
            }
            timer.measure("residual fwd") {
                addInPlace(a.residMid, a.resid, count: N * d)
            }
            timer.measure("norm fwd") {
                Norm.forward(
                    c.norm, pool, x: c.parallelResidual ? a.resid : a.residMid, weight: P + w.norm2W,
                    bias: w.norm2B >= 0 ? P + w.norm2B : nil,
                    y: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, rows: N, d: d, eps: c.normEps)
            }
            timer.measure("linear fwd") {
                Gemm.linearForward(pool, x: a.ln2, w: P + w.w12, y: a.gu, m: N, k: d, n: g)
                bias(a.gu, w.w12B, g)
            }
            timer.measure("mlp activation fwd") {
                switch c.mlp {
                case .swiglu: SwiGLU.forward(pool, gu: a.gu, z: a.z, rows: N, hidden: h)
                case .gelu, .geluTanh: GELU.forward(pool, x: a.gu, y: a.z, count: N * h, tanh: c.mlp == .geluTanh)
                }
            }
            timer.measure("linear fwd") {
                Gemm.linearForward(pool, x: a.z, w: P + w.w3, y: next, m: N, k: h, n: d)
                bias(next, w.w3B, d)
            }
            timer.measure("residual fwd") {
                addInPlace(next, a.residMid, count: N * d)
            }
        }
        timer.measure("norm fwd") {
            Norm.forward(
                c.norm, pool, x: residOut, weight: P + normFW, bias: normFB >= 0 ? P + normFB : nil,
                y: lnf, mean: lnfMean, rstd: lnfRstd, rows: N, d: d, eps: c.normEps)
        }
    }

    /// y += x, split across the pool.
    func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        pool.forEachChunk(count, grain: 1 << 16) { r in
            Kernels.add(x + r.lowerBound, into: y + r.lowerBound, count: r.count)
        }
    }

    /// Σ cross-entropy over targets ≠ `ignoreIndex` after `forward`; per-token losses in `tokenLosses`.
    /// With `vocabulary` < vocab_size the softmax runs over the first `vocabulary` ids only: the
    /// loss renormalised over them (text ids of a text-to-image model; every target must be one).
    public func loss(targets: UnsafePointer<Int32>, ignoreIndex: Int32, vocabulary: Int? = nil) -> Double {
        let v = vocabulary ?? config.vocabSize
        precondition(v >= 1 && v <= config.vocabSize)
        return CrossEntropy.forwardBackward(
            pool, x: lnf, w: params.values.pointer + outputOffset, targets: targets,
            ignoreIndex: ignoreIndex, rows: rows, d: config.dModel, vocab: v,
            scale: 0, chunk: ceChunk, chunkRows: ceChunkRows, losses: tokenLosses,
            dx: nil, dw: nil)
    }

    /// Full logits `[batch·seq, V]` of the last forward (for tests and small evaluations).
    public func logits(into out: UnsafeMutablePointer<Float>) {
        Gemm.linearForward(
            pool, x: lnf, w: params.values.pointer + outputOffset, y: out,
            m: rows, k: config.dModel, n: config.vocabSize)
    }

    /// Logits `[V]` at one row (batch·seq index) of the last forward.
    public func logits(row: Int, into out: UnsafeMutablePointer<Float>) {
        Gemm.linearForward(
            pool, x: lnf + row * config.dModel, w: params.values.pointer + outputOffset, y: out,
            m: 1, k: config.dModel, n: config.vocabSize)
    }

    // MARK: backward

    /// Cross-entropy after `forward`, then the whole backward pass. Gradients accumulate into
    /// `params.grads`, each counted target weighted by `scale`. Returns Σ losses (unscaled).
    public func lossAndBackward(targets: UnsafePointer<Int32>, ignoreIndex: Int32, scale: Float) -> Double {
        let c = config, N = rows, d = c.dModel, h = c.ffnHidden, att = c.nHeads * c.headDim, g = c.mlpInWidth
        let P = params.values.pointer, G = params.grads.pointer
        func biasGrad(_ dy: UnsafePointer<Float>, _ offset: Int, _ n: Int) {
            if offset >= 0 { LinearBias.backward(pool, dy: dy, db: G + offset, rows: N, n: n) }
        }
        let total = timer.measure("output+loss fwd+bwd") {
            CrossEntropy.forwardBackward(
                pool, x: lnf, w: P + outputOffset, targets: targets,
                ignoreIndex: ignoreIndex, rows: N, d: d, vocab: c.vocabSize,
                scale: scale, chunk: ceChunk, chunkRows: ceChunkRows,
                losses: tokenLosses, dx: dLn, dw: G + outputOffset)
        }
        timer.measure("norm bwd") {
            Norm.backward(
                c.norm, pool, dy: dLn, x: residOut, weight: P + normFW, mean: lnfMean, rstd: lnfRstd,
                dx: dResid, accumulate: false, dWeight: G + normFW, dBias: normFB >= 0 ? G + normFB : nil,
                rows: N, d: d)
        }
        for l in stride(from: c.nLayers - 1, through: 0, by: -1) {
            let w = layerParams[l], a = layerActs[l]
            // FFN branch: out = residMid + z·W3ᵀ
            timer.measure("linear bwd") {
                Gemm.linearBackwardInput(pool, dy: dResid, w: P + w.w3, dx: dZ, m: N, k: h, n: d, accumulate: false)
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardWeight(pool, dy: dResid, x: a.z, dw: G + w.w3, m: N, k: h, n: d)
                biasGrad(dResid, w.w3B, d)
            }
            timer.measure("mlp activation bwd") {
                switch c.mlp {
                case .swiglu: SwiGLU.backward(pool, gu: a.gu, dz: dZ, dgu: dGu, rows: N, hidden: h)
                case .gelu, .geluTanh:
                    GELU.backward(pool, x: a.gu, dy: dZ, dx: dGu, count: N * h, tanh: c.mlp == .geluTanh)
                }
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardInput(pool, dy: dGu, w: P + w.w12, dx: dLn, m: N, k: d, n: g, accumulate: false)
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardWeight(pool, dy: dGu, x: a.ln2, dw: G + w.w12, m: N, k: d, n: g)
                biasGrad(dGu, w.w12B, g)
            }
            timer.measure("norm bwd") {
                // Sequential: Norm₂ read residMid, so its gradient joins dResid now. Parallel: it read
                // the block input; kept aside and added once the attention branch is through.
                let parallel = c.parallelResidual
                Norm.backward(
                    c.norm, pool, dy: dLn, x: parallel ? a.resid : a.residMid, weight: P + w.norm2W, mean: a.ln2Mean,
                    rstd: a.ln2Rstd, dx: parallel ? dParallel : dResid, accumulate: !parallel, dWeight: G + w.norm2W,
                    dBias: w.norm2B >= 0 ? G + w.norm2B : nil, rows: N, d: d)
            }
            // Attention branch: residMid = resid + att·W_outᵀ
            timer.measure("linear bwd") {
                Gemm.linearBackwardInput(
                    pool, dy: dResid, w: P + w.outProj, dx: dAtt, m: N, k: att, n: d, accumulate: false)
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardWeight(pool, dy: dResid, x: a.att, dw: G + w.outProj, m: N, k: att, n: d)
                biasGrad(dResid, w.outProjB, d)
            }
            timer.measure("attention bwd") {
                Attention.backward(
                    pool, attnShape, qkv: a.qkv, out: a.att, lse: a.lse, dOut: dAtt, dqkv: dQkv,
                    scratch: attScratch)
            }
            timer.measure("rope bwd") {
                rope.apply(
                    pool, dQkv, rows: N, seqLen: seqLen, stride: c.qkvDim, column: 0,
                    heads: c.nHeads + c.nKVHeads, inverse: true)
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardInput(
                    pool, dy: dQkv, w: P + w.inProj, dx: dLn, m: N, k: d, n: c.qkvDim, accumulate: false)
            }
            timer.measure("linear bwd") {
                Gemm.linearBackwardWeight(pool, dy: dQkv, x: a.ln1, dw: G + w.inProj, m: N, k: d, n: c.qkvDim)
                biasGrad(dQkv, w.inProjB, c.qkvDim)  // the bias is added before the rotation, dQkv is already un-rotated
            }
            timer.measure("norm bwd") {
                Norm.backward(
                    c.norm, pool, dy: dLn, x: a.resid, weight: P + w.norm1W, mean: a.ln1Mean, rstd: a.ln1Rstd,
                    dx: dResid, accumulate: true, dWeight: G + w.norm1W, dBias: w.norm1B >= 0 ? G + w.norm1B : nil,
                    rows: N, d: d)
                if c.parallelResidual { addInPlace(dResid, dParallel, count: N * d) }
            }
        }
        lastTokens.withUnsafeBufferPointer { ids in
            Embedding.backward(pool, ids: ids.baseAddress!, dOut: dResid, dTable: G + embedOffset, rows: N, d: d)
        }
        if posOffset >= 0 {
            for b in 0..<batch { addInPlace(G + posOffset, dResid + b * seqLen * d, count: seqLen * d) }
        }
        return total
    }
}
