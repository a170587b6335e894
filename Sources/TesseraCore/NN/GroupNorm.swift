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
                for i in 0..<s.spatial { y[off + i] = x[off + i] * w + bb }
            }
        }
    }

    /// dx (+)= ∂/∂x; dWeight, dBias += their gradients (summed per channel in a fixed order).
    public static func backward(
        _ pool: Parallel, _ s: GroupNormShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        let cpg = s.channels / s.groups, n = Float(s.groupSize)
        pool.run(tasks: s.batch * s.groups) { t in
            let b = t / s.groups, g = t % s.groups
            let base = (b * s.channels + g * cpg) * s.spatial
            let m = mean[t], r = rstd[t]
            var sumDn: Float = 0, sumDnXhat: Float = 0
            for c in 0..<cpg {
                let w = weight[g * cpg + c], off = base + c * s.spatial
                for i in 0..<s.spatial {
                    let dn = w * dy[off + i]
                    sumDn += dn
                    sumDnXhat += dn * (x[off + i] - m) * r
                }
            }
            let a = sumDn / n, bq = sumDnXhat / n
            for c in 0..<cpg {
                let w = weight[g * cpg + c], off = base + c * s.spatial
                for i in 0..<s.spatial {
                    let xhat = (x[off + i] - m) * r
                    let v = r * (w * dy[off + i] - a - xhat * bq)
                    dx[off + i] = accumulate ? dx[off + i] + v : v
                }
            }
        }
        pool.run(tasks: s.channels) { ch in
            let g = ch / cpg
            var dw: Float = 0, db: Float = 0
            for b in 0..<s.batch {
                let t = b * s.groups + g, off = (b * s.channels + ch) * s.spatial
                let m = mean[t], r = rstd[t]
                for i in 0..<s.spatial { dw += dy[off + i] * (x[off + i] - m) * r; db += dy[off + i] }
            }
            dWeight[ch] += dw
            dBias[ch] += db
        }
    }
}
