/// Held-out reconstruction of an image tokenizer: mean squared error on [−1, 1] pixels, PSNR (dB)
/// and SSIM on 8-bit images, the share of codes used and the perplexity of their usage.
public struct ReconstructionScores: Codable, Equatable {
    public var meanSquaredError, psnr, ssim, codeUsage, codePerplexity: Double

    public init(meanSquaredError: Double, psnr: Double, ssim: Double, codeUsage: Double, codePerplexity: Double) {
        self.meanSquaredError = meanSquaredError; self.psnr = psnr; self.ssim = ssim; self.codeUsage = codeUsage
        self.codePerplexity = codePerplexity
    }

    public enum CodingKeys: String, CodingKey {
        case meanSquaredError = "val_rec_loss", psnr = "val_psnr", ssim = "val_ssim", codeUsage = "val_code_usage"
        case codePerplexity = "val_code_perplexity"
    }
}
