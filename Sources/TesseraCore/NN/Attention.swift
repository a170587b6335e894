import Foundation

/// Causal multi-head attention with grouped KV heads over a packed qkv buffer.
///
/// Layout: each row of `qkv` (`[batch·seq, (H + 2·Hkv)·hd]`) is [q heads | k heads | v heads];
/// query head h reads KV head h / (H/Hkv). Scores use scale 1/√hd.
/// Memory: only the row log-sum-exp is kept (`[batch, H, seq]`); backward recomputes the
/// probabilities block by block (as flash attention does) instead of storing B·H·T² of them.
/// Work is split by (batch, KV group), so the dK/dV sums of a group stay on one thread.
/// Rows are processed in blocks of `blockRows`; a block only touches keys up to its last row,
/// which skips most of the masked upper triangle. The products are fp32 on OpenBLAS, or with an
/// `AttentionBF16` take bf16 operands (the same blocks and calls; only what they read differs).
public struct AttentionShape {
    public let batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int
    public init(batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(heads % kvHeads == 0, "n_kv_heads must divide n_heads")
        self.batch = batch; self.seqLen = seqLen; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }
    public var qkvStride: Int { (heads + 2 * kvHeads) * headDim }
    public var outStride: Int { heads * headDim }
    /// Floats of per-worker scratch: two blocks of `blockRows × seq` scores.
    public var scratchPerWorker: Int { 2 * blockCap * seqLen }
    var blockCap: Int { min(seqLen, Attention.blockRows) }
    var tasks: Int { batch * kvHeads }
}

public enum Attention {
    static let blockRows = 128

    public static func forward(
        _ pool: Parallel, _ s: AttentionShape, qkv: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, bf16: AttentionBF16? = nil
    ) {
        let T = s.seqLen, hd = s.headDim, ld = s.qkvStride, ldo = s.outStride
        let group = s.heads / s.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        pool.prepareGemm()
        bf16?.bind(s, qkv: qkv, scratch: scratch)
        pool.runWithWorker(tasks: s.tasks) { task, worker in
            let b = task / s.kvHeads, g = task % s.kvHeads
            let S = scratch + worker * s.scratchPerWorker
            let base = qkv + b * T * ld
            let k = base + (s.heads + g) * hd
            let v = base + (s.heads + s.kvHeads + g) * hd
            for h in (g * group)..<((g + 1) * group) {
                let q = base + h * hd
                let o = out + b * T * ldo + h * hd
                let lseRow = lse + (b * s.heads + h) * T
                var r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockRows), nr = r1 - r0
                    // S[r0:r1, 0:r1] = scale · Q Kᵀ
                    product(
                        bf16, worker, transA: false, transB: true, m: nr, n: r1, k: hd, alpha: scale,
                        a: q + r0 * ld, lda: ld, b: k, ldb: ld, accumulate: false, c: S, ldc: T)
                    for i in 0..<nr {
                        let row = S + i * T, n = r0 + i + 1
                        let mx = Kernels.max(row, count: n)
                        let sum = Kernels.expShiftSum(row, row, count: n, shift: mx)
                        let inv = 1 / sum
                        Kernels.scale(row, count: n, by: inv)
                        (row + n).update(repeating: 0, count: r1 - n)
                        lseRow[r0 + i] = mx + Foundation.log(sum)
                    }
                    // O[r0:r1] = P V
                    bf16?.round(S, rows: nr, cols: r1, ld: T)
                    product(
                        bf16, worker, transA: false, transB: false, m: nr, n: hd, k: r1,
                        a: S, lda: T, b: v, ldb: ld, accumulate: false, c: o + r0 * ldo, ldc: ldo)
                    r0 = r1
                }
            }
        }
    }

    /// One query row against cached keys and values of positions 0..<count (decoding), written
    /// into `out` ([H·hd]): for query head h and its KV head h / (H/Hkv),
    ///     out_h = softmax(q_h · Kᵀ / √hd) · V        over the `count` cached rows,
    /// keys and values laid out [position, Hkv·hd]. `scores` holds `count` floats. O(count) per
    /// head, no matrix products: one row is too small for a GEMM to pay off.
    public static func decode(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        count: Int, heads: Int, kvHeads: Int, headDim hd: Int,
        scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let kvDim = kvHeads * hd, group = heads / kvHeads
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<heads {
            let q = query + head * hd, g = head / group
            for j in 0..<count { scores[j] = Kernels.dot(q, keys + j * kvDim + g * hd, count: hd) * scale }
            let mx = Kernels.max(scores, count: count)
            let sum = Kernels.expShiftSum(scores, scores, count: count, shift: mx)
            let o = out + head * hd
            o.update(repeating: 0, count: hd)
            for j in 0..<count {
                let w = scores[j] / sum, v = values + j * kvDim + g * hd
                for i in 0..<hd { o[i] += w * v[i] }
            }
        }
    }

    /// Writes dq, dk, dv (before RoPE's inverse) into `dqkv`, overwriting it.
    public static func backward(
        _ pool: Parallel, _ s: AttentionShape, qkv: UnsafePointer<Float>,
        out: UnsafePointer<Float>, lse: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>, dqkv: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, bf16: AttentionBF16? = nil
    ) {
        let T = s.seqLen, hd = s.headDim, ld = s.qkvStride, ldo = s.outStride
        let group = s.heads / s.kvHeads
        let scale = 1 / Float(hd).squareRoot()
        pool.prepareGemm()
        bf16?.bind(s, qkv: qkv, dOut: dOut, scratch: scratch)
        pool.runWithWorker(tasks: s.tasks) { task, worker in
            let b = task / s.kvHeads, g = task % s.kvHeads
            let P = scratch + worker * s.scratchPerWorker
            let dP = P + s.blockCap * T
            let base = qkv + b * T * ld, dbase = dqkv + b * T * ld
            let k = base + (s.heads + g) * hd, v = base + (s.heads + s.kvHeads + g) * hd
            let dk = dbase + (s.heads + g) * hd, dv = dbase + (s.heads + s.kvHeads + g) * hd
            for t in 0..<T {
                (dk + t * ld).update(repeating: 0, count: hd)
                (dv + t * ld).update(repeating: 0, count: hd)
            }
            for h in (g * group)..<((g + 1) * group) {
                let q = base + h * hd, dq = dbase + h * hd
                let o = out + b * T * ldo + h * hd, dO = dOut + b * T * ldo + h * hd
                let lseRow = lse + (b * s.heads + h) * T
                var r0 = 0
                while r0 < T {
                    let r1 = min(T, r0 + blockRows), nr = r1 - r0
                    product(
                        bf16, worker, transA: false, transB: true, m: nr, n: r1, k: hd, alpha: scale,
                        a: q + r0 * ld, lda: ld, b: k, ldb: ld, accumulate: false, c: P, ldc: T)
                    // dP = dO Vᵀ
                    product(
                        bf16, worker, transA: false, transB: true, m: nr, n: r1, k: hd,
                        a: dO + r0 * ldo, lda: ldo, b: v, ldb: ld, accumulate: false, c: dP, ldc: T)
                    for i in 0..<nr {
                        let row = P + i * T, drow = dP + i * T, n = r0 + i + 1
                        _ = Kernels.expShiftSum(row, row, count: n, shift: lseRow[r0 + i])
                        (row + n).update(repeating: 0, count: r1 - n)
                        // D_i = dO_i · O_i  (= Σ_j P_ij dP_ij)
                        let D = Kernels.dot(dO + (r0 + i) * ldo, o + (r0 + i) * ldo, count: hd)
                        for j in 0..<n { drow[j] = row[j] * (drow[j] - D) }
                        (drow + n).update(repeating: 0, count: r1 - n)
                    }
                    // dV[0:r1] += Pᵀ dO ;  dQ[r0:r1] = scale·dS K ;  dK[0:r1] += scale·dSᵀ Q
                    bf16?.round(P, rows: nr, cols: r1, ld: T)
                    bf16?.round(dP, rows: nr, cols: r1, ld: T)
                    product(
                        bf16, worker, transA: true, transB: false, m: r1, n: hd, k: nr,
                        a: P, lda: T, b: dO + r0 * ldo, ldb: ldo, accumulate: true, c: dv, ldc: ld)
                    product(
                        bf16, worker, transA: false, transB: false, m: nr, n: hd, k: r1, alpha: scale,
                        a: dP, lda: T, b: k, ldb: ld, accumulate: false, c: dq + r0 * ld, ldc: ld)
                    product(
                        bf16, worker, transA: true, transB: false, m: r1, n: hd, k: nr, alpha: scale,
                        a: dP, lda: T, b: q + r0 * ld, ldb: ld, accumulate: true, c: dk, ldc: ld)
                    r0 = r1
                }
            }
        }
    }

    /// C = alpha·op(A)·op(B) (+ C when `accumulate`): fp32 on OpenBLAS, or with `bf16` on the
    /// bf16 copies of A and B (fp32 accumulation), by worker `worker` on its own thread.
    @inline(__always)
    private static func product(
        _ bf16: AttentionBF16?, _ worker: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if let bf16 {
            bf16.products.matmul(
                worker: worker, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: bf16.mirror(a), lda: lda, b: bf16.mirror(b), ldb: ldb, accumulate: accumulate, c: c, ldc: ldc)
        } else {
            Gemm.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                beta: accumulate ? 1 : 0, c: c, ldc: ldc)
        }
    }
}
