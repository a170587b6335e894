import Foundation

/// How well a MoVQ model reconstructs a held-out image set through its codes.
public struct ReconstructionReport {
    public var images = 0
    /// Mean squared error in [−1, 1] units (the training loss's scale).
    public var meanSquaredError = 0.0
    /// Mean over images of the 8-bit PSNR (capped at 100 dB for exact copies) and SSIM.
    public var psnr = 0.0
    public var ssim = 0.0
    public var codeUsage = 0.0
    public var codePerplexity = 0.0
    /// The first images and their reconstructions, CHW bytes, for a grid.
    public var originals: [[UInt8]] = []
    public var reconstructions: [[UInt8]] = []
    /// On synthetic-shapes captions only: caption consistency of the originals (the recogniser's
    /// ceiling) and of the reconstructions (what a perfect text-to-image LM could reach with these codes).
    public var originalConsistency: ShapesConsistency?
    public var reconstructionConsistency: ShapesConsistency?

    public var scores: ReconstructionScores {
        ReconstructionScores(
            meanSquaredError: meanSquaredError, psnr: psnr, ssim: ssim, codeUsage: codeUsage,
            codePerplexity: codePerplexity)
    }

    /// Encodes and decodes the first `limit` images of `set` (0: all) in batches of the model's maxBatch.
    public static func measure(model: MoVQModel, set: ImageSet, limit: Int = 0, keep: Int = 8) -> ReconstructionReport {
        let size = model.imageSize, side = set.side, batch = model.maxBatch
        let total = limit > 0 ? min(limit, set.count) : set.count
        let buffer = FloatBuffer(count: batch * size)
        var usage = [Int](repeating: 0, count: model.config.nEmbed)
        var r = ReconstructionReport()
        var a = [UInt8](repeating: 0, count: size), b = a
        var sq = 0.0
        var first = 0
        let truths = set.captions.prefix(total).map { ShapesAttributes(caption: $0) }
        if !truths.isEmpty && !truths.contains(nil) {
            r.originalConsistency = ShapesConsistency(); r.reconstructionConsistency = ShapesConsistency()
        }
        while first < total {
            let n = min(batch, total - first)
            set.fill(Array(first..<(first + n)), into: buffer.pointer)
            model.encode(buffer.pointer, batch: n, countUsage: false)
            for i in 0..<(n * model.tokensPerImage) { usage[Int(model.indices[i])] += 1 }
            let recon = model.decodeQuant(batch: n)
            for k in 0..<n {
                for j in 0..<size {
                    let x = buffer.pointer[k * size + j], y = recon.p[k * size + j]
                    sq += Double((y - x) * (y - x))
                    a[j] = ImageMetrics.byte(x); b[j] = ImageMetrics.byte(y)
                }
                r.psnr += min(100, ImageMetrics.psnr(a, b, count: size))
                r.ssim += ImageMetrics.ssim(a, b, channels: 3, height: side, width: side)
                if r.originals.count < keep { r.originals.append(a); r.reconstructions.append(b) }
                if let truth = truths[first + k], r.originalConsistency != nil {
                    r.originalConsistency!.add(expected: truth, found: ShapesAttributes(recognising: a, side: side))
                    r.reconstructionConsistency!.add(
                        expected: truth, found: ShapesAttributes(recognising: b, side: side))
                }
            }
            first += n
        }
        r.images = total
        r.meanSquaredError = sq / Double(max(1, total * size))
        r.psnr /= Double(max(1, total)); r.ssim /= Double(max(1, total))
        (r.codeUsage, r.codePerplexity) = ImageMetrics.codeStats(usage)
        return r
    }

    public func grid(side: Int) -> RGBImage {
        ImageMetrics.grid(originals: originals, reconstructions: reconstructions, side: side)
    }
}
