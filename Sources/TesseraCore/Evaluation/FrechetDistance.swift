import Foundation

/// Fréchet distance between Gaussians fitted to two feature sets (the FID formula of Heusel et al.,
/// as pytorch-fid computes it, on whatever features are given):
///   d² = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁ Σ₂)^½,
/// with unbiased covariances. tr (Σ₁Σ₂)^½ is the sum of square roots of the eigenvalues of the
/// symmetric PSD matrix Σ₁^½ Σ₂ Σ₁^½ (same spectrum as Σ₁Σ₂), so only symmetric eigenproblems are
/// solved (cyclic Jacobi, in Double).
public enum FrechetDistance {
    public struct Gaussian {
        public let mean: [Double]
        /// [dim, dim], row-major.
        public let covariance: [Double]
        public var dim: Int { mean.count }
    }

    /// Mean and unbiased covariance of `count` rows of `dim` features.
    public static func fit(_ features: [Float], count n: Int, dim d: Int) -> Gaussian {
        precondition(n >= 2 && features.count == n * d)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(features[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: d * d)
        var row = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { row[j] = Double(features[i * d + j]) - mean[j] }
            for a in 0..<d { for b in a..<d { cov[a * d + b] += row[a] * row[b] } }
        }
        for a in 0..<d { for b in a..<d { cov[a * d + b] /= Double(n - 1); cov[b * d + a] = cov[a * d + b] } }
        return Gaussian(mean: mean, covariance: cov)
    }

    public static func distance(_ p: Gaussian, _ q: Gaussian) -> Double {
        let d = p.dim
        precondition(q.dim == d)
        var result = 0.0
        for j in 0..<d { result += (p.mean[j] - q.mean[j]) * (p.mean[j] - q.mean[j]) }
        for j in 0..<d { result += p.covariance[j * d + j] + q.covariance[j * d + j] }
        // Σp^½ = V diag(√λ) Vᵀ.
        let (lp, vp) = symmetricEigen(p.covariance, n: d)
        var root = [Double](repeating: 0, count: d * d)
        for a in 0..<d {
            for b in 0..<d {
                var s = 0.0
                for k in 0..<d { s += vp[a * d + k] * max(lp[k], 0).squareRoot() * vp[b * d + k] }
                root[a * d + b] = s
            }
        }
        let m = multiply(multiply(root, q.covariance, d), root, d)
        var sym = m
        for a in 0..<d { for b in 0..<d { sym[a * d + b] = 0.5 * (m[a * d + b] + m[b * d + a]) } }
        let (lm, _) = symmetricEigen(sym, n: d)
        result -= 2 * lm.reduce(0) { $0 + max($1, 0).squareRoot() }
        return result
    }

    static func multiply(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for k in 0..<d { let x = a[i * d + k]; if x != 0 { for j in 0..<d { c[i * d + j] += x * b[k * d + j] } } }
        }
        return c
    }

    /// Eigenvalues and eigenvectors (columns of V, row-major) of a symmetric matrix by cyclic Jacobi
    /// rotations, until the off-diagonal mass is negligible.
    public static func symmetricEigen(_ matrix: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        let scale = max(1e-300, a.reduce(0) { $0 + $1 * $1 })
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<n { for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] } }
            if off <= 1e-26 * scale { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where a[p * n + q] != 0 {
                    let apq = a[p * n + q], app = a[p * n + p], aqq = a[q * n + q]
                    let theta = (aqq - app) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {  // columns p, q
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {  // rows p, q
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq; v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0 * n + $0] }, v)
    }
}
