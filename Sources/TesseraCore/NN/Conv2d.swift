/// 2-D convolution over NCHW tensors by im2col and GEMM, with explicit backward (col2im for the
/// input gradient). Weight [Cout, Cin, kh, kw] as PyTorch stores it.
///
/// Images are processed in chunks: the columns of a whole chunk sit side by side in one matrix
/// [Cin·k·k, chunk·Ho·Wo], so a layer costs one large sharded GEMM per chunk instead of one small
/// GEMM per image. The chunk is as many images as fit `columnBudget` floats.
public struct Conv2dShape: Sendable {
    public let batch, inChannels, outChannels, height, width, kernel, stride: Int
    /// Zero padding before (top/left) and after (bottom/right). MoVQ's downsampling pads (0, 1).
    public let padBefore, padAfter: Int
    public init(
        batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int = 1,
        padding: Int = 0
    ) {
        self.init(
            batch: batch, inChannels: inChannels, outChannels: outChannels, height: height, width: width,
            kernel: kernel, stride: stride, padBefore: padding, padAfter: padding)
    }
    public init(
        batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int, kernel: Int, stride: Int,
        padBefore: Int, padAfter: Int
    ) {
        self.batch = batch; self.inChannels = inChannels; self.outChannels = outChannels
        self.height = height; self.width = width; self.kernel = kernel; self.stride = stride
        self.padBefore = padBefore; self.padAfter = padAfter
    }
    public func with(batch b: Int) -> Conv2dShape {
        Conv2dShape(
            batch: b, inChannels: inChannels, outChannels: outChannels, height: height, width: width,
            kernel: kernel, stride: stride, padBefore: padBefore, padAfter: padAfter)
    }
    public var outHeight: Int { (height + padBefore + padAfter - kernel) / stride + 1 }
    public var outWidth: Int { (width + padBefore + padAfter - kernel) / stride + 1 }
    /// Rows of the column matrix: Cin·k·k.
    public var patch: Int { inChannels * kernel * kernel }
    public var inSize: Int { inChannels * height * width }
    public var outSize: Int { outChannels * outHeight * outWidth }
    public var parameterCount: Int { outChannels * patch + outChannels }

    static let columnBudget = 1 << 22
    /// Images per GEMM.
    public var chunk: Int { max(1, min(batch, Conv2dShape.columnBudget / max(1, patch * outHeight * outWidth))) }
    /// Floats of scratch the layer needs: the chunk's columns and its [Cout, chunk·Ho·Wo] product.
    public var scratch: Int { chunk * outHeight * outWidth * (patch + outChannels) }
}

public enum Conv2d {
    /// Output columns ox whose input column ox·s − p + kx lies inside [0, W): a contiguous range,
    /// so rows are a zero head, a copied (or strided) middle and a zero tail, without per-pixel tests.
    @inline(__always)
    static func validColumns(_ s: Conv2dShape, kx: Int) -> Range<Int> {
        let wo = s.outWidth, off = kx - s.padBefore
        // ox·stride + off ≥ 0  ⇔  ox ≥ ceil(−off / stride)
        let lo = off >= 0 ? 0 : (-off + s.stride - 1) / s.stride
        // ox·stride + off ≤ W − 1
        let hi = s.width - 1 - off < 0 ? 0 : min(wo, (s.width - 1 - off) / s.stride + 1)
        return min(lo, hi)..<hi
    }

    /// cols[(c·k + ky)·k + kx, col0 + oy·Wo + ox] = x[c, oy·s − p + ky, ox·s − p + kx] (0 outside);
    /// `ld` is the row length of the column matrix.
    static func im2col(
        _ s: Conv2dShape, channel c: Int, _ x: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, ld: Int
    ) {
        let ho = s.outHeight, wo = s.outWidth, k = s.kernel
        for ky in 0..<k {
            for kx in 0..<k {
                let row = cols + ((c * k + ky) * k + kx) * ld
                let valid = validColumns(s, kx: kx), off = kx - s.padBefore
                for oy in 0..<ho {
                    let iy = oy * s.stride - s.padBefore + ky
                    let out = row + oy * wo
                    guard iy >= 0 && iy < s.height, !valid.isEmpty else {
                        out.update(repeating: 0, count: wo); continue
                    }
                    let src = x + (c * s.height + iy) * s.width + off
                    if valid.lowerBound > 0 { out.update(repeating: 0, count: valid.lowerBound) }
                    if s.stride == 1 {
                        (out + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                    } else {
                        for ox in valid { out[ox] = src[ox * s.stride] }
                    }
                    if valid.upperBound < wo {
                        (out + valid.upperBound).update(repeating: 0, count: wo - valid.upperBound)
                    }
                }
            }
        }
    }

    /// dx[c, iy, ix] += Σ dcols over the patches that read it.
    static func col2im(
        _ s: Conv2dShape, channel c: Int, _ dcols: UnsafePointer<Float>, ld: Int, _ dx: UnsafeMutablePointer<Float>
    ) {
        let ho = s.outHeight, wo = s.outWidth, k = s.kernel
        for ky in 0..<k {
            for kx in 0..<k {
                let row = dcols + ((c * k + ky) * k + kx) * ld
                let valid = validColumns(s, kx: kx), off = kx - s.padBefore
                if valid.isEmpty { continue }
                for oy in 0..<ho {
                    let iy = oy * s.stride - s.padBefore + ky
                    guard iy >= 0 && iy < s.height else { continue }
                    let dst = dx + (c * s.height + iy) * s.width + off, src = row + oy * wo
                    if s.stride == 1 {
                        for ox in valid { dst[ox] += src[ox] }
                    } else {
                        for ox in valid { dst[ox * s.stride] += src[ox] }
                    }
                }
            }
        }
    }

    /// Columns of images [first, first + count) side by side.
    static func gather(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, first: Int, count: Int,
        cols: UnsafeMutablePointer<Float>
    ) {
        let n = s.outHeight * s.outWidth, ld = count * n
        pool.run(tasks: count * s.inChannels) { t in
            let b = t / s.inChannels, c = t % s.inChannels
            im2col(s, channel: c, x + (first + b) * s.inSize, cols + b * n, ld: ld)
        }
    }

    /// A 1×1, stride-1, unpadded convolution is a plain matrix product per image: no columns needed.
    static func isPointwise(_ s: Conv2dShape) -> Bool {
        s.kernel == 1 && s.stride == 1 && s.padBefore == 0 && s.padAfter == 0
    }

    /// y = conv(x, w) + b, overwriting y. `scratch` holds `shape.scratch` floats.
    public static func forward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, cols scratch: UnsafeMutablePointer<Float>
    ) {
        let n = s.outHeight * s.outWidth, chunk = s.chunk
        pool.prepareGemm()  // the images' products run on the pool's threads
        if isPointwise(s) {
            // One image per task (a single image: the GEMM itself is sharded).
            let one = Parallel.serial
            (s.batch == 1 ? one : pool).run(tasks: s.batch) { b in
                let out = y + b * s.outSize
                Gemm.parallel(
                    s.batch == 1 ? pool : one, transA: false, transB: false, m: s.outChannels, n: n, k: s.inChannels,
                    a: weight, lda: s.inChannels, b: x + b * s.inSize, ldb: n, beta: 0, c: out, ldc: n)
                if let bias {
                    for o in 0..<s.outChannels { let r = out + o * n, v = bias[o]; for i in 0..<n { r[i] += v } }
                }
            }
            return
        }
        var first = 0
        while first < s.batch {
            let count = min(chunk, s.batch - first), ld = count * n
            gather(pool, s, x: x, first: first, count: count, cols: scratch)
            // One GEMM per image straight into its NCHW output (the image's columns are a block of
            // the column matrix with row stride ld); images run in parallel, a lone image is sharded.
            let lone = count == 1
            (lone ? Parallel.serial : pool).run(tasks: count) { b in
                let out = y + (first + b) * s.outSize
                Gemm.parallel(
                    lone ? pool : Parallel.serial, transA: false, transB: false, m: s.outChannels, n: n, k: s.patch,
                    a: weight, lda: s.patch, b: scratch + b * n, ldb: ld, beta: 0, c: out, ldc: n)
                if let bias {
                    for o in 0..<s.outChannels { let r = out + o * n, v = bias[o]; for i in 0..<n { r[i] += v } }
                }
            }
            first += count
        }
    }

    /// dx += ∂/∂x (when given; with `accumulateDx` false, dx = ∂/∂x), dWeight += ∂/∂w, dBias += ∂/∂b.
    /// `scratch` holds `shape.scratch` floats.
    public static func backward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, cols scratch: UnsafeMutablePointer<Float>, accumulateDx: Bool = true
    ) {
        let n = s.outHeight * s.outWidth, chunk = s.chunk
        if let dBias {
            pool.run(tasks: s.outChannels) { o in
                var t: Float = 0
                for b in 0..<s.batch { let g = dy + b * s.outSize + o * n; for i in 0..<n { t += g[i] } }
                dBias[o] += t
            }
        }
        var first = 0
        while first < s.batch {
            let count = min(chunk, s.batch - first), ld = count * n
            let cols = scratch, g = scratch + chunk * n * s.patch
            // dY of the chunk as [Cout, count·n].
            pool.run(tasks: count * s.outChannels) { t in
                let b = t / s.outChannels, o = t % s.outChannels
                (g + o * ld + b * n).update(from: dy + (first + b) * s.outSize + o * n, count: n)
            }
            gather(pool, s, x: x, first: first, count: count, cols: cols)
            // dW[Cout, K] += dY[Cout, ld] · colsᵀ[ld, K]
            Gemm.parallel(
                pool, transA: false, transB: true, m: s.outChannels, n: s.patch, k: ld,
                a: g, lda: ld, b: cols, ldb: ld, beta: 1, c: dWeight, ldc: s.patch)
            if let dx {
                // dcols[K, ld] = Wᵀ[K, Cout] · dY[Cout, ld]
                Gemm.parallel(
                    pool, transA: true, transB: false, m: s.patch, n: ld, k: s.outChannels,
                    a: weight, lda: s.patch, b: g, ldb: ld, beta: 0, c: cols, ldc: ld)
                pool.run(tasks: count * s.inChannels) { t in
                    let b = t / s.inChannels, c = t % s.inChannels
                    let image = dx + (first + b) * s.inSize
                    // col2im adds overlapping patches; overwriting starts this channel from zero
                    // (in the task, while its slice is about to be in cache anyway).
                    if !accumulateDx {
                        (image + c * s.height * s.width).update(repeating: 0, count: s.height * s.width)
                    }
                    col2im(s, channel: c, cols + b * n, ld: ld, image)
                }
            }
            first += count
        }
    }
}
