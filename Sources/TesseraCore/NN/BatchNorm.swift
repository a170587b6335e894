/// BatchNorm2d in training mode over NCHW: each channel normalised with the mean and biased
/// variance of its B·H·W values in this call, then γ, β; the running averages (momentum 0.1,
/// unbiased variance, as PyTorch) are updated on the side. Forward saves per-channel mean and 1/σ.
public enum BatchNorm {
    public static func forward(
        _ pool: Parallel, x: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, eps: Float,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        runningMean: UnsafeMutablePointer<Float>?, runningVar: UnsafeMutablePointer<Float>?, momentum: Float = 0.1
    ) {
        let n = batch * spatial
        pool.run(tasks: channels) { c in
            var sum = 0.0
            for b in 0..<batch {
                let p = x + (b * channels + c) * spatial; for i in 0..<spatial { sum += Double(p[i]) }
            }
            let m = Float(sum / Double(n))
            var v = 0.0
            for b in 0..<batch {
                let p = x + (b * channels + c) * spatial; for i in 0..<spatial { let d = Double(p[i] - m); v += d * d }
            }
            let variance = Float(v / Double(n)), r = 1 / (variance + eps).squareRoot()
            mean[c] = m; rstd[c] = r
            if let runningMean, let runningVar {
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * m
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * Float(v / Double(max(1, n - 1)))
            }
            let w = weight[c] * r, sh = bias[c] - m * w
            for b in 0..<batch {
                let p = x + (b * channels + c) * spatial, q = y + (b * channels + c) * spatial
                for i in 0..<spatial { q[i] = p[i] * w + sh }
            }
        }
    }

    /// dx (overwritten) and dWeight, dBias (accumulated) from dy.
    public static func backward(
        _ pool: Parallel, x: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        let n = Float(batch * spatial)
        pool.run(tasks: channels) { c in
            let m = mean[c], r = rstd[c], w = weight[c]
            var sumDy: Float = 0, sumDyXhat: Float = 0
            for b in 0..<batch {
                let p = x + (b * channels + c) * spatial, g = dy + (b * channels + c) * spatial
                for i in 0..<spatial { sumDy += g[i]; sumDyXhat += g[i] * (p[i] - m) * r }
            }
            dWeight[c] += sumDyXhat
            dBias[c] += sumDy
            let a = sumDy / n, bq = sumDyXhat / n
            for b in 0..<batch {
                let p = x + (b * channels + c) * spatial, g = dy + (b * channels + c) * spatial,
                    d = dx + (b * channels + c) * spatial
                for i in 0..<spatial { d[i] = w * r * (g[i] - a - (p[i] - m) * r * bq) }
            }
        }
    }
}
