import CZlib
import Foundation

/// What a checkpoint records besides tensors. Everything needed to continue bit for bit:
/// the data position and every RNG stream are functions of `step` and the seed.
public struct TrainState: Codable, Equatable {
    public static let formatVersion = 1
    public var formatVersion = TrainState.formatVersion
    public var step: Int
    public var adamStep: Int
    public var tokensSeen: Int
    public var elapsedSeconds: Double
    public var configHash: String
    public var seed: UInt64
    public var lastLoss: Double?
    /// The best held-out figure so far: the lowest loss of a language model…
    public var bestValLoss: Double?
    /// …or the highest PSNR of an image tokenizer (whose checkpoints before this field stored
    /// −PSNR in best_val_loss), and the step it was measured at.
    public var bestValPSNR: Double?
    public var bestValStep: Int?
    /// Images seen by an image tokenizer (tokens_seen counts tokens of language models only).
    public var imagesSeen: Int?
    /// Positions of the random streams the next step reads ("data/train" counter). Derivable from
    /// `step`, recorded so a checkpoint says where its data stands.
    public var rng: [String: UInt64] = [:]

    public init(
        step: Int, adamStep: Int, tokensSeen: Int, elapsedSeconds: Double, configHash: String, seed: UInt64,
        lastLoss: Double? = nil, bestValLoss: Double? = nil, bestValStep: Int? = nil, rng: [String: UInt64] = [:]
    ) {
        self.step = step; self.adamStep = adamStep; self.tokensSeen = tokensSeen; self.elapsedSeconds = elapsedSeconds
        self.configHash = configHash; self.seed = seed; self.lastLoss = lastLoss; self.bestValLoss = bestValLoss
        self.bestValStep = bestValStep; self.rng = rng
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", step, adamStep = "adam_step", tokensSeen = "tokens_seen"
        case elapsedSeconds = "elapsed_s", configHash = "config_hash", seed, lastLoss = "last_loss"
        case bestValLoss = "best_val_loss", bestValPSNR = "best_val_psnr", bestValStep = "best_val_step", rng
        case imagesSeen = "images_seen"
    }
}
