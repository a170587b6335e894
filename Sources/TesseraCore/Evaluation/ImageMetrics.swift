import Foundation

/// Reconstruction quality on 8-bit images (what a viewer sees), and codebook statistics.
public enum ImageMetrics {
    /// Bytes of a [−1, 1] float image: (x + 1)·127.5, rounded, clamped (MoVQGAN's conversion).
    @inline(__always)
    public static func byte(_ x: Float) -> UInt8 { UInt8(max(0, min(255, ((x + 1) * 127.5).rounded()))) }

    /// PSNR in dB of two byte images; identical images give +∞.
    public static func psnr(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, count: Int) -> Double {
        var sq = 0.0
        for i in 0..<count { let d = Double(a[i]) - Double(b[i]); sq += d * d }
        return sq == 0 ? .infinity : 10 * log10(255 * 255 / (sq / Double(count)))
    }

    /// Gaussian window of skimage's `structural_similarity(gaussian_weights=True)`: σ = 1.5,
    /// truncated at 3.5σ (radius 5), normalised.
    static let window: [Double] = {
        let w = (-5...5).map { exp(-Double($0 * $0) / (2 * 1.5 * 1.5)) }
        let s = w.reduce(0, +)
        return w.map { $0 / s }
    }()

    /// One axis of a Gaussian filter with scipy's 'reflect' boundary (… b a | a b … y z | z y …).
    static func blur(_ x: [Double], _ h: Int, _ w: Int, horizontal: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        let n = horizontal ? w : h
        func reflect(_ i: Int) -> Int {
            var i = i
            let period = 2 * n
            i = ((i % period) + period) % period
            return i < n ? i : period - 1 - i
        }
        for y in 0..<h {
            for xx in 0..<w {
                var s = 0.0
                for k in -5...5 {
                    let v = horizontal ? x[y * w + reflect(xx + k)] : x[reflect(y + k) * w + xx]
                    s += window[k + 5] * v
                }
                out[y * w + xx] = s
            }
        }
        return out
    }

    static func filter(_ x: [Double], _ h: Int, _ w: Int) -> [Double] {
        blur(blur(x, h, w, horizontal: false), h, w, horizontal: true)
    }

    /// Mean SSIM of two CHW byte images, as skimage's `structural_similarity` with
    /// gaussian_weights=True, use_sample_covariance=False, data_range=255, channel_axis over the
    /// channels: per-channel SSIM maps averaged over the interior (5-pixel border cropped), then
    /// over channels.
    public static func ssim(
        _ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, channels: Int, height h: Int, width w: Int
    ) -> Double {
        let c1: Double = (0.01 * 255) * (0.01 * 255), c2: Double = (0.03 * 255) * (0.03 * 255), n = h * w
        var total = 0.0
        for c in 0..<channels {
            let x = (0..<n).map { Double(a[c * n + $0]) }, y = (0..<n).map { Double(b[c * n + $0]) }
            let ux = filter(x, h, w), uy = filter(y, h, w)
            let uxx = filter(x.map { (v: Double) in v * v }, h, w), uyy = filter(y.map { (v: Double) in v * v }, h, w)
            let uxy = filter(zip(x, y).map { $0 * $1 }, h, w)
            var sum = 0.0, cells = 0
            for yy in 5..<max(5, h - 5) {
                for xx in 5..<max(5, w - 5) {
                    let i = yy * w + xx
                    let vx = uxx[i] - ux[i] * ux[i], vy = uyy[i] - uy[i] * uy[i], vxy = uxy[i] - ux[i] * uy[i]
                    sum +=
                        (2 * ux[i] * uy[i] + c1) * (2 * vxy + c2)
                        / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2))
                    cells += 1
                }
            }
            total += cells > 0 ? sum / Double(cells) : 1
        }
        return total / Double(channels)
    }

    /// Fraction of codes used at least once, and the perplexity exp(H) of the usage distribution.
    public static func codeStats(_ usage: [Int]) -> (usedFraction: Double, perplexity: Double) {
        let total = Double(usage.reduce(0, +))
        guard total > 0 else { return (0, 0) }
        var h = 0.0, used = 0
        for u in usage where u > 0 {
            used += 1
            let p = Double(u) / total
            h -= p * log(p)
        }
        return (Double(used) / Double(usage.count), exp(h))
    }

    /// Originals over reconstructions, side by side with 2-pixel white gaps, each image scaled up by
    /// pixel replication to at least 64 pixels so small images stay visible. Inputs are CHW bytes.
    public static func grid(originals: [[UInt8]], reconstructions: [[UInt8]], side: Int) -> RGBImage {
        let scale = max(1, (64 + side - 1) / side), cell = side * scale, gap = 2
        let cols = originals.count
        let width = cols * cell + (cols + 1) * gap, height = 2 * cell + 3 * gap
        var px = [UInt8](repeating: 255, count: width * height * 3)
        for (row, images) in [originals, reconstructions].enumerated() {
            for (col, img) in images.enumerated() {
                let x0 = gap + col * (cell + gap), y0 = gap + row * (cell + gap)
                for y in 0..<cell {
                    for x in 0..<cell {
                        let src = (y / scale) * side + x / scale
                        for c in 0..<3 { px[((y0 + y) * width + x0 + x) * 3 + c] = img[c * side * side + src] }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }
}
