import Foundation

/// Single-head self-attention over the H·W positions of channel-major maps (MoVQ's AttnBlock core,
/// between its 1×1 q/k/v and proj_out convolutions). Per image, with Q, K, V as [C, N]:
///   P = softmax_rows(Qᵀ K / √C)  [N, N]        O = V · Pᵀ  [C, N]
/// No mask. P is saved for the backward pass (N² floats per image).
public enum SpatialAttention {
    /// Writes o [B, C, N] and the probabilities p [B, N, N].
    public static func forward(
        _ pool: Parallel, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        batch: Int, channels c: Int, positions n: Int,
        o: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(c).squareRoot()
        pool.prepareGemm()
        pool.run(tasks: batch) { b in
            let off = b * c * n, pb = p + b * n * n
            Gemm.sgemm(
                transA: true, transB: false, m: n, n: n, k: c, alpha: scale, a: q + off, lda: n,
                b: k + off, ldb: n, beta: 0, c: pb, ldc: n)
            for i in 0..<n {
                let row = pb + i * n
                let m = Kernels.max(row, count: n)
                let s = Kernels.expShiftSum(row, row, count: n, shift: m)
                Kernels.scale(row, count: n, by: 1 / s)
            }
            Gemm.sgemm(
                transA: false, transB: true, m: c, n: n, k: n, a: v + off, lda: n, b: pb, ldb: n,
                beta: 0, c: o + off, ldc: n)
        }
    }

    /// dq, dk, dv (overwritten) from do. `scratch` holds threads·N² floats.
    public static func backward(
        _ pool: Parallel, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        p: UnsafePointer<Float>, dout: UnsafePointer<Float>, batch: Int, channels c: Int, positions n: Int,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) {
        let scale = 1 / Float(c).squareRoot()
        pool.prepareGemm()
        pool.runWithWorker(tasks: batch) { b, worker in
            let off = b * c * n, pb = p + b * n * n, ds = scratch + worker * n * n
            // dV = dO · P ;  dP = dOᵀ · V
            Gemm.sgemm(
                transA: false, transB: false, m: c, n: n, k: n, a: dout + off, lda: n, b: pb, ldb: n,
                beta: 0, c: dv + off, ldc: n)
            Gemm.sgemm(
                transA: true, transB: false, m: n, n: n, k: c, a: dout + off, lda: n, b: v + off, ldb: n,
                beta: 0, c: ds, ldc: n)
            // dS = P ⊙ (dP − Σ_j dP⊙P) · scale
            for i in 0..<n {
                let pr = pb + i * n, dr = ds + i * n
                let t = Kernels.dot(pr, dr, count: n)
                for j in 0..<n { dr[j] = pr[j] * (dr[j] - t) * scale }
            }
            // dQ = K · dSᵀ ;  dK = Q · dS
            Gemm.sgemm(
                transA: false, transB: true, m: c, n: n, k: n, a: k + off, lda: n, b: ds, ldb: n,
                beta: 0, c: dq + off, ldc: n)
            Gemm.sgemm(
                transA: false, transB: false, m: c, n: n, k: n, a: q + off, lda: n, b: ds, ldb: n,
                beta: 0, c: dk + off, ldc: n)
        }
    }
}
