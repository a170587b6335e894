import COpenBLAS

/// The Gaussian fitted to the rows of a matrix, and draws from it: mean μ = (1/n) Σ xᵢ and
/// covariance Σ = (1/n) Σ (xᵢ − μ)(xᵢ − μ)ᵀ, in Double. Σ is accumulated by `cblas_dsyrk` over
/// chunks of centred rows (n·d²/2 multiply-adds: 8·10⁹ for SmolLM2's 49,152 × 576 embedding),
/// then factored Σ + εI = L Lᵀ (Cholesky, d³/3) with ε = 10⁻⁶ · tr Σ / d, so
/// that an embedding of low rank still factors. A draw is μ + L z with z ~ N(0, I) from the given
/// stream: its covariance is Σ + εI.
public struct RowGaussian {
    public let d: Int
    public let mean: [Double]
    /// Lower-triangular Cholesky factor, row-major [d, d].
    let factor: [Double]

    public init(rows x: UnsafePointer<Float>, count n: Int, width d: Int) {
        precondition(n >= 1 && d >= 1)
        self.d = d
        let mu = RowGaussian.mean(rows: x, count: n, width: d)
        // C (upper triangle) += Xcᵀ Xc, chunk by chunk of centred rows.
        var cov = [Double](repeating: 0, count: d * d)
        let chunk = max(1, min(n, (1 << 21) / d))
        var centred = [Double](repeating: 0, count: chunk * d)
        var r0 = 0
        while r0 < n {
            let m = min(chunk, n - r0)
            for r in 0..<m { for j in 0..<d { centred[r * d + j] = Double(x[(r0 + r) * d + j]) - mu[j] } }
            cblas_dsyrk(
                CblasRowMajor, CblasUpper, CblasTrans, Int32(d), Int32(m), 1, centred, Int32(d), 1, &cov, Int32(d))
            r0 += m
        }
        for i in 0..<(d * d) { cov[i] /= Double(n) }
        var trace = 0.0
        for i in 0..<d { trace += cov[i * d + i] }
        let jitter = 1e-6 * max(trace / Double(d), 1e-30)
        // Lower factor L from the symmetric matrix (upper triangle filled): L[i][j], j ≤ i.
        var L = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0...i {
                var s = (j == i ? jitter : 0) + cov[j * d + i]  // Σ[j][i], j ≤ i: the upper triangle
                for k in 0..<j { s -= L[i * d + k] * L[j * d + k] }
                if i == j {
                    L[i * d + i] = s > 0 ? s.squareRoot() : jitter.squareRoot()
                } else {
                    L[i * d + j] = s / L[j * d + j]
                }
            }
        }
        mean = mu
        factor = L
    }

    /// The rows' mean, summed in Double (49,152 rows summed in Float would lose the low bits).
    public static func mean(rows x: UnsafePointer<Float>, count n: Int, width d: Int) -> [Double] {
        var mu = [Double](repeating: 0, count: d)
        for r in 0..<n { for j in 0..<d { mu[j] += Double(x[r * d + j]) } }
        for j in 0..<d { mu[j] /= Double(n) }
        return mu
    }

    /// Writes one draw μ + L z into `out` (d floats).
    public func sample(into out: UnsafeMutablePointer<Float>, _ rng: inout RandomStream) {
        let z = (0..<d).map { _ in Double(rng.normal()) }
        for i in 0..<d {
            var s = mean[i]
            for k in 0...i { s += factor[i * d + k] * z[k] }
            out[i] = Float(s)
        }
    }

    /// Σ + εI reconstructed from the factor, row-major (for tests).
    public var covariance: [Double] {
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for k in 0...min(i, j) { s += factor[i * d + k] * factor[j * d + k] }
                c[i * d + j] = s
            }
        }
        return c
    }
}
