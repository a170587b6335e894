import Foundation
import TesseraCore
import Testing

/// `RowGaussian` against a Gaussian of known mean and covariance, and on rows of low rank.
@Suite struct RowGaussianTests {
    /// Rows x = m + A z (A lower-triangular, so Σ = A Aᵀ is known): the fitted mean and covariance
    /// match within sampling error, and draws from the fit have that covariance again.
    @Test func fitsAndDrawsAKnownGaussian() {
        let d = 3, n = 40_000
        let m: [Double] = [1, -2, 0.5]
        let A: [Double] = [0.5, 0, 0, 0.3, 0.2, 0, -0.1, 0.4, 0.1]
        var sigma = [Double](repeating: 0, count: 9)
        for i in 0..<d { for j in 0..<d { for k in 0..<d { sigma[i * d + j] += A[i * d + k] * A[j * d + k] } } }
        var rng = RandomStream(seed: 3, name: "test/gaussian")
        var x = [Float](repeating: 0, count: n * d)
        for r in 0..<n {
            let z = (0..<d).map { _ in Double(rng.normal()) }
            for i in 0..<d { x[r * d + i] = Float(m[i] + (0..<d).reduce(0.0) { $0 + A[i * d + $1] * z[$1] }) }
        }
        let g = x.withUnsafeBufferPointer { RowGaussian(rows: $0.baseAddress!, count: n, width: d) }
        for i in 0..<d { #expect(abs(g.mean[i] - m[i]) < 0.01, "mean \(i): \(g.mean[i])") }
        let fitted = g.covariance
        for k in 0..<9 { #expect(abs(fitted[k] - sigma[k]) < 0.01, "Σ[\(k)] \(fitted[k]) vs \(sigma[k])") }
        var draws = [Float](repeating: 0, count: n * d)
        var s = RandomStream(seed: 4, name: "test/draws")
        draws.withUnsafeMutableBufferPointer { p in for r in 0..<n { g.sample(into: p.baseAddress! + r * d, &s) } }
        let again = draws.withUnsafeBufferPointer { RowGaussian(rows: $0.baseAddress!, count: n, width: d) }
        for k in 0..<9 { #expect(abs(again.covariance[k] - sigma[k]) < 0.01, "draws Σ[\(k)]") }
    }

    /// Rows in a plane of 3-space: Σ is singular, the jitter still lets it factor, and draws are
    /// finite and stay (up to the jitter) in the plane.
    @Test func lowRankRowsStillFactor() {
        let n = 500, d = 3
        var rng = RandomStream(seed: 6, name: "test/plane")
        var x = [Float](repeating: 0, count: n * d)
        for r in 0..<n {
            let a = rng.normal(), b = rng.normal()
            x[r * d] = a; x[r * d + 1] = b; x[r * d + 2] = a + b
        }
        let g = x.withUnsafeBufferPointer { RowGaussian(rows: $0.baseAddress!, count: n, width: d) }
        var out = [Float](repeating: 0, count: d)
        var s = RandomStream(seed: 7, name: "test/plane-draws")
        for _ in 0..<100 {
            out.withUnsafeMutableBufferPointer { g.sample(into: $0.baseAddress!, &s) }
            #expect(out.allSatisfy { $0.isFinite })
            #expect(abs(Double(out[0] + out[1] - out[2])) < 0.05, "off the plane: \(out)")
        }
    }
}
