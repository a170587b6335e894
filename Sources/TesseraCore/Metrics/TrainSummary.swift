import Foundation

/// How a run ended, written to `summary.json` whatever way it ends (`RunLifecycle`).
public struct TrainSummary: Encodable {
    /// completed | diverged | interrupted | failed
    public var status: String
    public var exitReason: String
    public var exitCode: Int32
    public var step: Int
    /// What the run has consumed: tokens (language models) or images (image tokenizers).
    public var tokens: Int?
    public var images: Int?
    public var wallSeconds: Double
    public var final = Final()
    public var best = Best()

    /// Figures at the last step.
    public struct Final: Encodable {
        public var loss: Double?
        public var valLoss: Double?
        public var reconstruction: ReconstructionScores?

        public init(loss: Double? = nil, valLoss: Double? = nil, reconstruction: ReconstructionScores? = nil) {
            self.loss = loss; self.valLoss = valLoss; self.reconstruction = reconstruction
        }

        enum CodingKeys: String, CodingKey { case loss, valLoss = "val_loss", valPerplexity = "val_ppl" }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(loss, forKey: .loss)
            try c.encodeIfPresent(valLoss, forKey: .valLoss)
            try c.encodeIfPresent(valLoss.map { Foundation.exp($0) }, forKey: .valPerplexity)
            try reconstruction?.encode(to: encoder)
        }
    }

    /// The best held-out figure and its step: the lowest loss (language models) or the highest
    /// PSNR (image tokenizers).
    public struct Best: Encodable {
        public var step: Int?
        public var valLoss: Double?
        public var psnr: Double?

        public init(step: Int? = nil, valLoss: Double? = nil, psnr: Double? = nil) {
            self.step = step; self.valLoss = valLoss; self.psnr = psnr
        }

        enum CodingKeys: String, CodingKey {
            case step, valLoss = "val_loss", valPerplexity = "val_ppl", psnr = "val_psnr"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(step, forKey: .step)
            try c.encodeIfPresent(valLoss, forKey: .valLoss)
            try c.encodeIfPresent(valLoss.map { Foundation.exp($0) }, forKey: .valPerplexity)
            try c.encodeIfPresent(psnr, forKey: .psnr)
        }
    }

    public init(status: String, exitReason: String, exitCode: Int32, step: Int = 0, wallSeconds: Double = 0) {
        self.status = status; self.exitReason = exitReason; self.exitCode = exitCode; self.step = step
        self.wallSeconds = wallSeconds
    }

    enum CodingKeys: String, CodingKey {
        case status, exitReason = "exit_reason", exitCode = "exit_code", step, tokens, images, wallSeconds =
            "wall_time_s"
        case final, best
    }

    public var json: Data {
        // Strings, integers and finite or named floats: encoding cannot fail.
        try! MetricsLog.encoder(pretty: true).encode(self)
    }
}
