/// GroupNorm over NCHW: channels split into `groups`, each normalised over its channels and all
/// positions, then per-channel gain and bias. Forward saves per-(image, group) mean and 1/σ.
public struct GroupNormShape: Sendable {
    public let batch, channels, spatial, groups: Int
    public let eps: Float
    public init(batch: Int, channels: Int, spatial: Int, groups: Int, eps: Float = 1e-6) {
        precondition(channels % groups == 0, "GroupNorm: \(groups) groups do not divide \(channels) channels")
        self.batch = batch; self.channels = channels; self.spatial = spatial; self.groups = groups; self.eps = eps
    }
    var groupSize: Int { channels / groups * spatial }
    public var stats: Int { batch * groups }
}

public enum GroupNorm {
    public static func forward(
        _ pool: Parallel, _ s: GroupNormShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
    ) {
        let cpg = s.channels / s.groups, n = s.groupSize
        pool.run(tasks: s.batch * s.groups) { t in
            let b = t / s.groups, g = t % s.groups
            let base = (b * s.channels + g * cpg) * s.spatial
            // Two passes (mean, then moments about it) keep the variance exact for offset data.
            let m = Float(Kernels.shiftedMoments(x + base, count: n, shift: 0).sum / Double(n))
            let (d, sq) = Kernels.shiftedMoments(x + base, count: n, shift: m)
            let mean2 = d / Double(n)
            let r = 1 / (Float(sq / Double(n) - mean2 * mean2) + s.eps).squareRoot()
            mean[t] = m
            rstd[t] = r
            for c in 0..<cpg {
                let ch = g * cpg + c, w = weight[ch] * r, bb = bias[ch] - m * w
                let off = base + c * s.spatial
                Kernels.affine(x + off, into: y + off, count: s.spatial, scale: w, shift: bb)
            }
        }
    }

    /// dx (+)= ∂/∂x; dWeight, dBias += their gradients (summed per channel in a fixed order).
    ///
    /// With x̂ = (x − μ)·r over a group of n values and g = w·dy:
    ///   ∂L/∂x = r·(g − mean(g) − x̂·mean(g·x̂)),  ∂L/∂w_c = Σ dy·x̂,  ∂L/∂b_c = Σ dy.
    /// Every one of them is made of two sums per (image, channel), S₁ = Σ dy and S₂ = Σ dy·(x − μ):
    ///   mean(g) = Σ_c w_c·S₁ / n,  mean(g·x̂) = r·Σ_c w_c·S₂ / n,  ∂L/∂w_c = Σ_images r·S₂,
    /// so one vectorised pass reads x and dy for the sums and a second writes dx, an affine map of
    /// dy and x per channel: dx = (r·w)·dy − r²·mean(g·x̂)·(x − μ) − r·mean(g).
    public static func backward(
        _ pool: Parallel, _ s: GroupNormShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        let cpg = s.channels / s.groups, n = Double(s.groupSize), hw = s.spatial
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * s.batch * s.channels) { sums in
            let s1 = sums.baseAddress!, s2 = s1 + s.batch * s.channels
            pool.run(tasks: s.batch * s.groups) { t in
                let b = t / s.groups, g = t % s.groups
                let m = mean[t], r = rstd[t]
                var sumG = 0.0, sumGX = 0.0
                for c in 0..<cpg {
                    let ch = g * cpg + c, bc = b * s.channels + ch
                    let (a1, a2) = Kernels.gradientMoments(dy + bc * hw, x + bc * hw, count: hw, shift: m)
                    s1[bc] = a1; s2[bc] = a2
                    sumG += Double(weight[ch]) * a1
                    sumGX += Double(weight[ch]) * a2
                }
                let meanG = Float(sumG / n), meanGX = r * Float(sumGX / n)
                let beta = Kernels.V(repeating: -r * r * meanGX), gamma = Kernels.V(repeating: -r * meanG)
                let mv = Kernels.V(repeating: m)
                for c in 0..<cpg {
                    let ch = g * cpg + c, off = (b * s.channels + ch) * hw
                    let alpha = Kernels.V(repeating: r * weight[ch])
                    var i = 0
                    while i + 16 <= hw {
                        var v = alpha * Kernels.load(dy + off + i) + gamma
                        v.addProduct(beta, Kernels.load(x + off + i) - mv)
                        Kernels.store(accumulate ? Kernels.load(dx + off + i) + v : v, dx + off + i)
                        i += 16
                    }
                    while i < hw {
                        let v = alpha[0] * dy[off + i] + gamma[0] + beta[0] * (x[off + i] - m)
                        dx[off + i] = accumulate ? dx[off + i] + v : v
                        i += 1
                    }
                }
            }
            for ch in 0..<s.channels {
                var dw = 0.0, db = 0.0
                for b in 0..<s.batch {
                    let bc = b * s.channels + ch
                    dw += Double(rstd[b * s.groups + ch / cpg]) * s2[bc]
                    db += s1[bc]
                }
                dWeight[ch] += Float(dw)
                dBias[ch] += Float(db)
            }
        }
    }
}
