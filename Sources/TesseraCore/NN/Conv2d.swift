/// 2-D convolution over NCHW tensors by im2col and one GEMM per image, with explicit backward
/// (col2im for the input gradient). Weight [Cout, Cin, kh, kw] as PyTorch stores it.
public struct Conv2dShape: Sendable {
    public let batch, inChannels, outChannels, height, width, kernel, stride, padding: Int
    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width; self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    public var outHeight: Int { (height + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernel) / stride + 1 }
    /// Rows of the column matrix: Cin·k·k.
    public var patch: Int { inChannels * kernel * kernel }
    /// Floats of scratch the layer needs (one column matrix).
    public var scratch: Int { patch * outHeight * outWidth }
}

public enum Conv2d {
    /// cols[(c·k + ky)·k + kx, oy·Wo + ox] = x[c, oy·s − p + ky, ox·s − p + kx] (0 outside).
    static func im2col(_ s: Conv2dShape, _ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>) {
        let ho = s.outHeight, wo = s.outWidth, k = s.kernel
        for c in 0..<s.inChannels {
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * ho * wo
                    for oy in 0..<ho {
                        let iy = oy * s.stride - s.padding + ky
                        for ox in 0..<wo {
                            let ix = ox * s.stride - s.padding + kx
                            row[oy * wo + ox] = (iy >= 0 && iy < s.height && ix >= 0 && ix < s.width)
                                ? x[(c * s.height + iy) * s.width + ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// dx[c, iy, ix] += Σ dcols over the patches that read it.
    static func col2im(_ s: Conv2dShape, _ dcols: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        let ho = s.outHeight, wo = s.outWidth, k = s.kernel
        for c in 0..<s.inChannels {
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = dcols + ((c * k + ky) * k + kx) * ho * wo
                    for oy in 0..<ho {
                        let iy = oy * s.stride - s.padding + ky
                        guard iy >= 0 && iy < s.height else { continue }
                        for ox in 0..<wo {
                            let ix = ox * s.stride - s.padding + kx
                            if ix >= 0 && ix < s.width { dx[(c * s.height + iy) * s.width + ix] += row[oy * wo + ox] }
                        }
                    }
                }
            }
        }
    }

    /// y = conv(x, w) + b, overwriting y. `cols` holds `shape.scratch` floats.
    public static func forward(_ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, cols: UnsafeMutablePointer<Float>) {
        let n = s.outHeight * s.outWidth, inSize = s.inChannels * s.height * s.width
        for b in 0..<s.batch {
            im2col(s, x + b * inSize, cols)
            let out = y + b * s.outChannels * n
            Gemm.parallel(pool, transA: false, transB: false, m: s.outChannels, n: n, k: s.patch,
                          a: weight, lda: s.patch, b: cols, ldb: n, beta: 0, c: out, ldc: n)
            if let bias {
                for o in 0..<s.outChannels { let r = out + o * n; let v = bias[o]; for i in 0..<n { r[i] += v } }
            }
        }
    }

    /// dx += ∂/∂x (when given), dWeight += ∂/∂w, dBias += ∂/∂b. `cols` holds `shape.scratch` floats.
    public static func backward(_ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                                dBias: UnsafeMutablePointer<Float>?, cols: UnsafeMutablePointer<Float>) {
        let n = s.outHeight * s.outWidth, inSize = s.inChannels * s.height * s.width
        for b in 0..<s.batch {
            let g = dy + b * s.outChannels * n
            im2col(s, x + b * inSize, cols)
            // dW[Cout, K] += dY[Cout, n] · colsᵀ[n, K]
            Gemm.parallel(pool, transA: false, transB: true, m: s.outChannels, n: s.patch, k: n,
                          a: g, lda: n, b: cols, ldb: n, beta: 1, c: dWeight, ldc: s.patch)
            if let dBias { for o in 0..<s.outChannels { var t: Float = 0; for i in 0..<n { t += g[o * n + i] }; dBias[o] += t } }
            if let dx {
                // dcols[K, n] = Wᵀ[K, Cout] · dY[Cout, n]
                Gemm.parallel(pool, transA: true, transB: false, m: s.patch, n: n, k: s.outChannels,
                              a: weight, lda: s.patch, b: g, ldb: n, beta: 0, c: cols, ldc: n)
                col2im(s, cols, dx + b * inSize)
            }
        }
    }
}
