import Foundation

/// The held-out figures of a language model on a token stream, split by modality when the data
/// has a text/image layout. Training rows, `tessera eval --json` lines and forgetting-probe rows
/// all carry them under these keys, so each is spelled here once.
public struct HeldOutLoss: Codable, Equatable {
    /// Mean cross-entropy over every counted target, and its exponential.
    public var loss: Double
    public var perplexity: Double
    /// Over text targets (caption tokens and </text>) and over image targets (codes and </image>).
    public var lossText, perplexityText, lossImage, perplexityImage: Double?

    public init(mean: Double, split: ModalityLoss? = nil) {
        loss = mean
        perplexity = Foundation.exp(mean)
        lossText = split?.meanText
        perplexityText = split?.meanText.map { Foundation.exp($0) }
        lossImage = split?.meanImage
        perplexityImage = split?.meanImage.map { Foundation.exp($0) }
    }

    public enum CodingKeys: String, CodingKey {
        case loss = "val_loss", perplexity = "val_ppl", lossText = "val_loss_text", perplexityText = "val_ppl_text"
        case lossImage = "val_loss_image", perplexityImage = "val_ppl_image"
    }
}
