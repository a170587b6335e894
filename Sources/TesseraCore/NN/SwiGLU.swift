import Foundation

/// The SwiGLU nonlinearity between the fused gate/up projection and the down projection:
/// gu = f·W12ᵀ holds [gate | up] per row (W12 rows [0,h) gate, [h,2h) up, as xformers/open_lm);
/// z = silu(gate) ⊙ up. The two matmuls around it are plain linear layers.
public enum SwiGLU {
    typealias V = Kernels.V

    public static func forward(
        _ pool: Parallel, gu: UnsafePointer<Float>, z: UnsafeMutablePointer<Float>,
        rows: Int, hidden h: Int
    ) {
        pool.forEachChunk(rows, grain: max(1, 16384 / max(h, 1))) { range in
            for r in range {
                let g = gu + r * 2 * h, u = g + h, zr = z + r * h
                var i = 0
                while i + 16 <= h {
                    let x = Kernels.load(g + i)
                    let s = 1 / (1 + Kernels.exp(-x))
                    Kernels.store(x * s * Kernels.load(u + i), zr + i)
                    i += 16
                }
                while i < h {
                    let x = g[i]
                    zr[i] = x / (1 + Foundation.exp(-x)) * u[i]
                    i += 1
                }
            }
        }
    }

    /// dgu = [dgate | dup] from dz: dup = dz⊙silu(g), dgate = dz⊙u⊙σ(g)(1 + g(1−σ(g))).
    public static func backward(
        _ pool: Parallel, gu: UnsafePointer<Float>, dz: UnsafePointer<Float>,
        dgu: UnsafeMutablePointer<Float>, rows: Int, hidden h: Int
    ) {
        pool.forEachChunk(rows, grain: max(1, 16384 / max(h, 1))) { range in
            for r in range {
                let g = gu + r * 2 * h, u = g + h, dzr = dz + r * h
                let dg = dgu + r * 2 * h, du = dg + h
                var i = 0
                while i + 16 <= h {
                    let x = Kernels.load(g + i), d = Kernels.load(dzr + i)
                    let s = 1 / (1 + Kernels.exp(-x))
                    Kernels.store(d * x * s, du + i)
                    Kernels.store(d * Kernels.load(u + i) * s * (1 + x * (1 - s)), dg + i)
                    i += 16
                }
                while i < h {
                    let x = g[i]
                    let s = 1 / (1 + Foundation.exp(-x))
                    du[i] = dzr[i] * x * s
                    dg[i] = dzr[i] * u[i] * s * (1 + x * (1 - s))
                    i += 1
                }
            }
        }
    }
}
