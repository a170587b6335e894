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
    public static func backward(
        _ pool: Parallel, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, count: Int
    ) {
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

/// LeakyReLU(slope): y = x for x > 0, slope·x otherwise (the PatchGAN discriminator's, slope 0.2).
public enum LeakyReLU {
    public static func forward(
        _ pool: Parallel, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, slope: Float
    ) {
        pool.forEachChunk(count, grain: 1 << 14) { r in for i in r { y[i] = x[i] > 0 ? x[i] : slope * x[i] } }
    }

    /// dx = dy ⊙ (x > 0 ? 1 : slope), overwriting dx (which may be dy itself).
    public static func backward(
        _ pool: Parallel, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        count: Int, slope: Float
    ) {
        pool.forEachChunk(count, grain: 1 << 14) { r in for i in r { dx[i] = x[i] > 0 ? dy[i] : slope * dy[i] } }
    }
}

/// GELU, exact (x·Φ(x), GPT-NeoX's "gelu") or with GPT-2's tanh approximation ("gelu_new"):
/// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). Backward needs only x.
public enum GELU {
    static let c = Float((2 / Double.pi).squareRoot()), k: Float = 0.044715

    public static func forward(
        _ pool: Parallel, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, tanh: Bool
    ) {
        pool.forEachChunk(count, grain: 1 << 14) { r in
            for i in r { y[i] = value(x[i], tanh: tanh) }
        }
    }

    /// dx = dy ⊙ gelu'(x), overwriting dx (which may be dy itself).
    public static func backward(
        _ pool: Parallel, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, count: Int, tanh: Bool
    ) {
        pool.forEachChunk(count, grain: 1 << 14) { r in
            for i in r { dx[i] = dy[i] * derivative(x[i], tanh: tanh) }
        }
    }

    @inline(__always) static func value(_ v: Float, tanh: Bool) -> Float {
        if tanh { return 0.5 * v * (1 + Foundation.tanh(c * (v + k * v * v * v))) }
        return 0.5 * v * (1 + Foundation.erf(v / Float(2).squareRoot()))
    }

    @inline(__always) static func derivative(_ v: Float, tanh: Bool) -> Float {
        if tanh {
            let t = Foundation.tanh(c * (v + k * v * v * v))
            return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * k * v * v)
        }
        let phi = Foundation.exp(-0.5 * v * v) / Float(2 * Double.pi).squareRoot()
        return 0.5 * (1 + Foundation.erf(v / Float(2).squareRoot())) + v * phi
    }
}
