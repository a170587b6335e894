/// Vector quantisation of rows z[N, D] against a codebook E[K, D] (MoVQGAN's VectorQuantizer2 with
/// its legacy β placement): index = argmin ‖z − e_k‖², found through one GEMM
/// (‖z‖² − 2 z·Eᵀ + ‖e‖², ‖z‖² dropped as it does not change the argmin); z_q = E[index];
/// loss = mean((sg(z_q) − z)²) + β·mean((z_q − sg(z))²); the decoder sees z + sg(z_q − z)
/// (straight-through), so its gradient passes to z unchanged.
public enum VectorQuantizer {
    /// Writes indices, z_q, per-code usage counts (added); returns the VQ loss.
    /// `scores` holds N·K floats, `codeNorms` K.
    @discardableResult
    public static func forward(
        _ pool: Parallel, z: UnsafePointer<Float>, codebook: UnsafePointer<Float>, rows n: Int, dim d: Int,
        codes k: Int, beta: Float, indices: UnsafeMutablePointer<Int32>, zq: UnsafeMutablePointer<Float>,
        usage: UnsafeMutablePointer<Int>?, scores: UnsafeMutablePointer<Float>,
        codeNorms: UnsafeMutablePointer<Float>
    ) -> Double {
        for c in 0..<k { codeNorms[c] = Kernels.dot(codebook + c * d, codebook + c * d, count: d) }
        Gemm.parallel(
            pool, transA: false, transB: true, m: n, n: k, k: d, alpha: -2, a: z, lda: d, b: codebook, ldb: d,
            beta: 0, c: scores, ldc: k)
        pool.forEachChunk(n, grain: 64) { range in
            for i in range {
                let row = scores + i * k
                var best = 0
                var bestScore = row[0] + codeNorms[0]
                for c in 1..<k {
                    let s = row[c] + codeNorms[c]
                    if s < bestScore { bestScore = s; best = c }
                }
                indices[i] = Int32(best)
                (zq + i * d).update(from: codebook + best * d, count: d)
            }
        }
        var sq = 0.0
        for i in 0..<(n * d) { let e = Double(zq[i] - z[i]); sq += e * e }
        if let usage { for i in 0..<n { usage[Int(indices[i])] += 1 } }
        return (1 + Double(beta)) * sq / Double(n * d)
    }

    /// dz += dzqST (straight-through) + lossScale·2(z − z_q)/(N·D); dCodebook[index] += lossScale·β·2(z_q − z)/(N·D).
    public static func backward(
        z: UnsafePointer<Float>, zq: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
        rows n: Int, dim d: Int, beta: Float, lossScale: Float, dzqST: UnsafePointer<Float>?,
        dz: UnsafeMutablePointer<Float>, dCodebook: UnsafeMutablePointer<Float>
    ) {
        let g = 2 * lossScale / Float(n * d)
        for i in 0..<n {
            let c = Int(indices[i])
            for j in 0..<d {
                let diff = z[i * d + j] - zq[i * d + j]
                dz[i * d + j] += (dzqST?[i * d + j] ?? 0) + g * diff
                dCodebook[c * d + j] -= beta * g * diff
            }
        }
    }
}
