/// Which normalisation a model uses. LayerNorm has a gain and (unless `layerNormNoBias`) a bias;
/// RMSNorm has a gain only.
public enum NormKind: String, Codable, Sendable, CaseIterable {
    case layerNorm = "layernorm"
    case layerNormNoBias = "layernorm_nobias"
    case rmsNorm = "rmsnorm"

    public var hasBias: Bool { self == .layerNorm }
}

/// LayerNorm / RMSNorm over the last dimension of `[rows, d]`, with explicit backward.
/// Forward saves the row mean (LayerNorm) and reciprocal standard deviation for backward.
public enum Norm {
    public static func forward(
        _ kind: NormKind, _ pool: Parallel,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        rstd: UnsafeMutablePointer<Float>, rows: Int, d: Int, eps: Float
    ) {
        pool.forEachChunk(rows, grain: max(1, 16384 / max(d, 1))) { range in
            for r in range {
                let xr = x + r * d, yr = y + r * d
                var m: Float = 0
                if kind != .rmsNorm {
                    var s: Float = 0
                    for i in 0..<d { s += xr[i] }
                    m = s / Float(d)
                }
                var v: Float = 0
                for i in 0..<d { let c = xr[i] - m; v += c * c }
                let rs = 1 / (v / Float(d) + eps).squareRoot()
                mean[r] = m
                rstd[r] = rs
                if let bias {
                    for i in 0..<d { yr[i] = (xr[i] - m) * rs * weight[i] + bias[i] }
                } else {
                    for i in 0..<d { yr[i] = (xr[i] - m) * rs * weight[i] }
                }
            }
        }
    }

    /// dx (+)= ∂/∂x, dWeight += Σ dy⊙x̂, dBias += Σ dy. `accumulate` false overwrites dx.
    public static func backward(
        _ kind: NormKind, _ pool: Parallel,
        dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
        rows: Int, d: Int
    ) {
        let centred = kind != .rmsNorm
        pool.forEachChunk(rows, grain: max(1, 16384 / max(d, 1))) { range in
            for r in range {
                let xr = x + r * d, dyr = dy + r * d, dxr = dx + r * d
                let m = mean[r], rs = rstd[r]
                var sumDn: Float = 0, sumDnXhat: Float = 0
                for i in 0..<d {
                    let dn = weight[i] * dyr[i]
                    sumDn += dn
                    sumDnXhat += dn * (xr[i] - m) * rs
                }
                let meanDn = centred ? sumDn / Float(d) : 0
                let meanDnXhat = sumDnXhat / Float(d)
                for i in 0..<d {
                    let xhat = (xr[i] - m) * rs
                    let g = rs * (weight[i] * dyr[i] - meanDn - xhat * meanDnXhat)
                    dxr[i] = accumulate ? dxr[i] + g : g
                }
            }
        }
        // Parameter gradients: split by columns so every sum runs over rows in one fixed order.
        guard dWeight != nil || dBias != nil else { return }
        pool.forEachChunk(d, grain: 32) { cols in
            for r in 0..<rows {
                let xr = x + r * d, dyr = dy + r * d
                let m = mean[r], rs = rstd[r]
                if let dWeight { for i in cols { dWeight[i] += dyr[i] * (xr[i] - m) * rs } }
                if let dBias { for i in cols { dBias[i] += dyr[i] } }
            }
        }
    }
}
