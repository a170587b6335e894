/// One pre-norm transformer block, the single definition the training pass and the KV-cache
/// decoding step both run (a cache is a different source of keys and values, not another block):
///
///   ln₁ = Norm₁(x);  qkv = ln₁·W_inᵀ (+ b);  att = Attention(RoPE(qkv))
///   mid = x + att·W_outᵀ (+ b)
///   ln₂ = Norm₂(mid), or Norm₂(x) with a parallel residual (GPT-NeoX: both branches read x)
///   gu = ln₂·W12ᵀ (+ b);  z = silu(g) ⊙ u over [g|u] (SwiGLU) or GELU(gu)
///   out = mid + z·W3ᵀ (+ b)
///
/// `out` may be `x` itself (decoding keeps one residual row): x is last read by Norm₂, before
/// the W3 product writes `out`.
enum TransformerBlock {
    /// Where attention finds its keys and values.
    enum Source {
        /// Training and evaluation: the rows are `shape.batch` whole sequences (positions
        /// 0..<seqLen each), attending causally within their own sequence. The row log-sum-exp
        /// goes to `lse` ([batch, H, seq]) for the backward pass.
        case sequences(AttentionShape, lse: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>)
        /// Decoding: row r is one token at `positions[r]` of its own sequence; its key and value go
        /// to row r's cache of this layer (`keys`, `values` + r·maxLength·Hkv·hd, each [maxLength,
        /// Hkv·hd]) and it attends to its positions 0...positions[r]. `scores`: [rows, maxLength].
        case cache(
            keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, positions: UnsafePointer<Int>,
            maxLength: Int, scores: UnsafeMutablePointer<Float>)
    }

    static func forward(
        _ c: ModelConfig, _ pool: Parallel, _ w: BlockWeights, rope: RotaryTable, source: Source,
        x: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, acts a: BlockActivations,
        rows N: Int, mixed: MixedPrecision? = nil, timer: PhaseTimer? = nil
    ) {
        let d = c.dModel, h = c.ffnHidden, att = c.nHeads * c.headDim, g = c.mlpInWidth
        func bias(_ y: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>?, _ n: Int) {
            if let b { LinearBias.forward(pool, y: y, bias: b, rows: N, n: n) }
        }
        timer.measure("norm fwd") { norm1(c, pool, w, x: x, acts: a, rows: N) }
        timer.measure("linear fwd") {
            Gemm.linearForward(pool, x: a.ln1, w: w.inProj, y: a.qkv, m: N, k: d, n: c.qkvDim, mixed: mixed)
            bias(a.qkv, w.inProjBias, c.qkvDim)
        }
        attend(
            c, pool, rope: rope, source: source, qkv: a.qkv, out: a.att, rows: N, bf16: mixed?.attention, timer: timer)
        timer.measure("linear fwd") {
            Gemm.linearForward(pool, x: a.att, w: w.outProj, y: a.residMid, m: N, k: att, n: d, mixed: mixed)
            bias(a.residMid, w.outProjBias, d)
        }
        timer.measure("residual fwd") {
            addInPlace(pool, a.residMid, x, count: N * d)
        }
        timer.measure("norm fwd") { norm2(c, pool, w, x: x, acts: a, rows: N) }
        timer.measure("linear fwd") {
            Gemm.linearForward(pool, x: a.ln2, w: w.w12, y: a.gu, m: N, k: d, n: g, mixed: mixed)
            bias(a.gu, w.w12Bias, g)
        }
        timer.measure("mlp activation fwd") { mlpActivation(c, pool, acts: a, rows: N) }
        timer.measure("linear fwd") {
            Gemm.linearForward(pool, x: a.z, w: w.w3, y: out, m: N, k: h, n: d, mixed: mixed)
            bias(out, w.w3Bias, d)
        }
        timer.measure("residual fwd") {
            addInPlace(pool, out, a.residMid, count: N * d)
        }
    }

    /// ln₁ = Norm₁(x) with its row statistics. Also the backward pass's recomputation of ln₁
    /// (the same call on the same x: the same bits), where the layers share one ln buffer.
    static func norm1(
        _ c: ModelConfig, _ pool: Parallel, _ w: BlockWeights, x: UnsafePointer<Float>, acts a: BlockActivations,
        rows N: Int
    ) {
        Norm.forward(
            c.norm, pool, x: x, weight: w.attentionNorm, bias: w.attentionNormBias.map { UnsafePointer($0) },
            y: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: N, d: c.dModel, eps: c.normEps)
    }

    /// ln₂ = Norm₂(mid), or Norm₂(x) with a parallel residual; recomputed like ln₁.
    static func norm2(
        _ c: ModelConfig, _ pool: Parallel, _ w: BlockWeights, x: UnsafePointer<Float>, acts a: BlockActivations,
        rows N: Int
    ) {
        Norm.forward(
            c.norm, pool, x: c.parallelResidual ? x : UnsafePointer(a.residMid), weight: w.ffnNorm,
            bias: w.ffnNormBias.map { UnsafePointer($0) },
            y: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, rows: N, d: c.dModel, eps: c.normEps)
    }

    /// z = silu(g) ⊙ u (SwiGLU) or GELU(gu), from the kept gu; recomputed like ln₁.
    static func mlpActivation(_ c: ModelConfig, _ pool: Parallel, acts a: BlockActivations, rows N: Int) {
        let h = c.ffnHidden
        switch c.mlp {
        case .swiglu: SwiGLU.forward(pool, gu: a.gu, z: a.z, rows: N, hidden: h)
        case .gelu, .geluTanh: GELU.forward(pool, x: a.gu, y: a.z, count: N * h, tanh: c.mlp == .geluTanh)
        }
    }

    /// RoPE on the queries and keys of `qkv`, then attention into `out` ([rows, H·hd]); `bf16`: its
    /// products in bf16 (sequences only: decoding's one-row products are dot products, not GEMMs).
    static func attend(
        _ c: ModelConfig, _ pool: Parallel, rope: RotaryTable, source: Source,
        qkv: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, rows N: Int, bf16: AttentionBF16?,
        timer: PhaseTimer?
    ) {
        let heads = c.nHeads + c.nKVHeads
        switch source {
        case .sequences(let shape, let lse, let scratch):
            timer.measure("rope fwd") {
                rope.apply(
                    pool, qkv, rows: N, seqLen: shape.seqLen, stride: c.qkvDim, column: 0, heads: heads, inverse: false)
            }
            timer.measure("attention fwd") {
                Attention.forward(pool, shape, qkv: qkv, out: out, lse: lse, scratch: scratch, bf16: bf16)
            }
        case .cache(let keys, let values, let positions, let maxLength, let scores):
            let hd = c.headDim, kvDim = c.nKVHeads * hd, slot = maxLength * kvDim
            pool.forEachChunk(N, grain: 1) { range in
                for r in range {
                    let p = positions[r], q = qkv + r * c.qkvDim, k = keys + r * slot, v = values + r * slot
                    rope.rotate(q, position: p, heads: heads)
                    (k + p * kvDim).update(from: q + c.nHeads * hd, count: kvDim)
                    (v + p * kvDim).update(from: q + (c.nHeads + c.nKVHeads) * hd, count: kvDim)
                    Attention.decode(
                        query: q, keys: k, values: v, count: p + 1, heads: c.nHeads, kvHeads: c.nKVHeads,
                        headDim: hd, scores: scores + r * maxLength, out: out + r * c.nHeads * hd)
                }
            }
        }
    }

    /// y += x, split across the pool.
    static func addInPlace(_ pool: Parallel, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        pool.forEachChunk(count, grain: 1 << 16) { r in
            Kernels.add(x + r.lowerBound, into: y + r.lowerBound, count: r.count)
        }
    }
}

/// The activations of one block, each named with its shape (N rows = batch·seq, d = d_model,
/// q = (H + 2·Hkv)·hd, a = H·hd, g = the MLP's input width, h = ffn_hidden). Training keeps one
/// set per layer for the backward pass; decoding one set of a single row that every layer reuses.
///
/// ln₁, ln₂ and z are not kept per layer in training: each is read by one product right after it
/// is made, so every layer writes them into `Recomputed` buffers shared by all layers, and the
/// backward pass makes them again (`TransformerBlock.norm1`, `norm2`, `mlpActivation`: the same
/// calls on the same kept inputs, the same bits) just before the weight gradient that reads them.
/// That saves (L − 1)·N·(2d + h) floats for a norm and an activation per layer more. Measured on
/// the Zen machine (`bench train`, peak RSS over the steps, interleaved with the previous build):
/// bench-tiny 409 → 371 MB, bench-small 2,956 → 2,651 MB, SmolLM2-135M text-to-image 2,938 →
/// 2,730 MB (+60–80 ms of recomputation in a 10 s step); the extra work is about 1 % of a
/// bench-tiny step (its profile: norm fwd 4.5 ms, mlp activation fwd 9.0 ms of 1,262), within
/// the rounds' spread (tokens/s 1,610–2,036 before, 1,967–2,048 after). Losses and weights of
/// configs/smoke.yaml's 60 steps are bit-identical to keeping them.
final class BlockActivations {
    /// Buffers the layers share for what the backward pass recomputes: ln [N, d] (ln₁, then ln₂
    /// of the same layer: ln₁ is read only by the W_in product, before ln₂ is made) and z [N, h].
    final class Recomputed {
        let ln, z: UnsafeMutablePointer<Float>
        private let storage: [FloatBuffer]
        init(rows N: Int, config c: ModelConfig) {
            storage = [FloatBuffer(count: N * c.dModel), FloatBuffer(count: N * c.ffnHidden)]
            ln = storage[0].pointer; z = storage[1].pointer
        }
    }

    /// [N, d] Norm₁(x), and its per-row mean and 1/σ [N].
    let ln1, ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>
    /// [N, q] queries | keys | values, rotated in place by RoPE.
    let qkv: UnsafeMutablePointer<Float>
    /// [N, a] attention output, heads side by side.
    let att: UnsafeMutablePointer<Float>
    /// [batch, H, seq] log-sum-exp of each attention row (sequences only; empty when decoding).
    let lse: UnsafeMutablePointer<Float>
    /// [N, d] x + attention branch: the stream between the two halves.
    let residMid: UnsafeMutablePointer<Float>
    /// [N, d] Norm₂ output, and its per-row mean and 1/σ [N].
    let ln2, ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>
    /// [N, g] W12 product (gate | up with SwiGLU).
    let gu: UnsafeMutablePointer<Float>
    /// [N, h] the MLP's hidden activation.
    let z: UnsafeMutablePointer<Float>
    private let storage: [FloatBuffer]
    private let shared: Recomputed?

    /// `shared`: ln₁, ln₂ and z live there (training); nil: this set owns them (decoding).
    init(rows N: Int, config c: ModelConfig, lseCount: Int, shared: Recomputed? = nil) {
        var storage: [FloatBuffer] = []
        func take(_ n: Int) -> UnsafeMutablePointer<Float> {
            let b = FloatBuffer(count: n)
            storage.append(b)
            return b.pointer
        }
        let d = c.dModel
        ln1 = shared?.ln ?? take(N * d); ln1Mean = take(N); ln1Rstd = take(N)
        qkv = take(N * c.qkvDim)
        att = take(N * c.nHeads * c.headDim)
        lse = take(lseCount)
        residMid = take(N * d)
        ln2 = shared?.ln ?? take(N * d); ln2Mean = take(N); ln2Rstd = take(N)
        gu = take(N * c.mlpInWidth)
        z = shared?.z ?? take(N * c.ffnHidden)
        self.storage = storage
        self.shared = shared
    }
}
