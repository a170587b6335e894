import Foundation

/// swish / SiLU: y = x·σ(x). Backward needs only x: dy·σ(x)(1 + x(1 − σ(x))).
public enum SiLU {
    public static func forward(_ pool: Parallel, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int) {
        pool.forEachChunk(count, grain: 1 << 14) { r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                let v = Kernels.load(x + i)
                Kernels.store(v / (1 + Kernels.exp(-v)), y + i)
                i += 16
            }
            while i < r.upperBound { y[i] = x[i] / (1 + Foundation.exp(-x[i])); i += 1 }
        }
    }

    /// dx = dy ⊙ silu'(x), overwriting dx (which may be dy itself).
    public static func backward(_ pool: Parallel, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                dx: UnsafeMutablePointer<Float>, count: Int) {
        pool.forEachChunk(count, grain: 1 << 14) { r in
            var i = r.lowerBound
            while i + 16 <= r.upperBound {
                let v = Kernels.load(x + i)
                let s = 1 / (1 + Kernels.exp(-v))
                Kernels.store(Kernels.load(dy + i) * s * (1 + v * (1 - s)), dx + i)
                i += 16
            }
            while i < r.upperBound {
                let s = 1 / (1 + Foundation.exp(-x[i]))
                dx[i] = dy[i] * s * (1 + x[i] * (1 - s))
                i += 1
            }
        }
    }
}
