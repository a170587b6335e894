/// One optimizer step of a language-model run (a line of metrics.jsonl), with the held-out
/// figures on evaluation steps. Written by `Trainer`, read by the report, `compare` and tests.
public struct TrainingStepRow: Codable, Equatable {
    public var step: Int
    public var tokens: Int
    public var lr: Double
    /// The step's mean loss over its counted targets (with a text/image layout: over all of them).
    public var loss: Double
    public var gradNorm: Double
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    /// With a text/image layout: the step's loss on text and on image targets, and a bias-corrected
    /// EMA (0.9) of each series beside it (raw values are noisy with few targets of a kind per step).
    public var lossText, lossImage: Double?
    public var lossEMA, lossTextEMA, lossImageEMA: Double?
    /// With `data.text_replay`: the step's loss on its rows of replayed plain text (in `loss`, not
    /// in `loss_text`).
    public var lossReplay: Double?
    /// With a text/image layout: the step's counted targets of each kind (the report adds them up:
    /// how many image and text tokens a run learned from); replayed text only with text replay.
    public var targetsText, targetsImage, targetsReplay: Int?
    /// On evaluation steps.
    public var heldOut: HeldOutLoss?

    public init(
        step: Int, tokens: Int, lr: Double, loss: Double, gradNorm: Double, tokensPerSecond: Double,
        elapsedSeconds: Double
    ) {
        self.step = step; self.tokens = tokens; self.lr = lr; self.loss = loss; self.gradNorm = gradNorm
        self.tokensPerSecond = tokensPerSecond; self.elapsedSeconds = elapsedSeconds
    }

    public enum CodingKeys: String, CodingKey {
        case step, tokens, lr, loss, gradNorm = "grad_norm", tokensPerSecond = "tokens_per_s", elapsedSeconds =
            "elapsed_s"
        case lossText = "loss_text", lossImage = "loss_image", lossEMA = "loss_ema", lossTextEMA = "loss_text_ema"
        case lossImageEMA = "loss_image_ema", lossReplay = "loss_replay", targetsText = "targets_text"
        case targetsImage = "targets_image", targetsReplay = "targets_replay"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        tokens = try c.decode(Int.self, forKey: .tokens)
        lr = try c.decode(Double.self, forKey: .lr)
        loss = try c.decode(Double.self, forKey: .loss)
        gradNorm = try c.decode(Double.self, forKey: .gradNorm)
        tokensPerSecond = try c.decodeIfPresent(Double.self, forKey: .tokensPerSecond) ?? 0
        elapsedSeconds = try c.decodeIfPresent(Double.self, forKey: .elapsedSeconds) ?? 0
        lossText = try c.decodeIfPresent(Double.self, forKey: .lossText)
        lossImage = try c.decodeIfPresent(Double.self, forKey: .lossImage)
        lossEMA = try c.decodeIfPresent(Double.self, forKey: .lossEMA)
        lossTextEMA = try c.decodeIfPresent(Double.self, forKey: .lossTextEMA)
        lossImageEMA = try c.decodeIfPresent(Double.self, forKey: .lossImageEMA)
        lossReplay = try c.decodeIfPresent(Double.self, forKey: .lossReplay)
        targetsText = try c.decodeIfPresent(Int.self, forKey: .targetsText)
        targetsImage = try c.decodeIfPresent(Int.self, forKey: .targetsImage)
        targetsReplay = try c.decodeIfPresent(Int.self, forKey: .targetsReplay)
        let v = try decoder.container(keyedBy: HeldOutLoss.CodingKeys.self)
        heldOut = v.contains(.loss) ? try HeldOutLoss(from: decoder) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(lr, forKey: .lr)
        try c.encode(loss, forKey: .loss)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encodeIfPresent(lossText, forKey: .lossText)
        try c.encodeIfPresent(lossImage, forKey: .lossImage)
        try c.encodeIfPresent(lossEMA, forKey: .lossEMA)
        try c.encodeIfPresent(lossTextEMA, forKey: .lossTextEMA)
        try c.encodeIfPresent(lossImageEMA, forKey: .lossImageEMA)
        try c.encodeIfPresent(lossReplay, forKey: .lossReplay)
        try c.encodeIfPresent(targetsText, forKey: .targetsText)
        try c.encodeIfPresent(targetsImage, forKey: .targetsImage)
        try c.encodeIfPresent(targetsReplay, forKey: .targetsReplay)
        try heldOut?.encode(to: encoder)  // the same object: val_loss, val_ppl, … beside the step's keys
    }

    /// A series the report plots and judges, with its key in metrics.jsonl.
    public enum Series: CaseIterable, Sendable {
        case loss, lossText, lossImage, lossEMA, lossTextEMA, lossImageEMA, valLoss, valLossText, valLossImage

        public var name: String {
            switch self {
            case .loss: return CodingKeys.loss.stringValue
            case .lossText: return CodingKeys.lossText.stringValue
            case .lossImage: return CodingKeys.lossImage.stringValue
            case .lossEMA: return CodingKeys.lossEMA.stringValue
            case .lossTextEMA: return CodingKeys.lossTextEMA.stringValue
            case .lossImageEMA: return CodingKeys.lossImageEMA.stringValue
            case .valLoss: return HeldOutLoss.CodingKeys.loss.stringValue
            case .valLossText: return HeldOutLoss.CodingKeys.lossText.stringValue
            case .valLossImage: return HeldOutLoss.CodingKeys.lossImage.stringValue
            }
        }

        /// Measured on held-out data (evaluation steps only).
        public var isHeldOut: Bool { [.valLoss, .valLossText, .valLossImage].contains(self) }

        public func value(in r: TrainingStepRow) -> Double? {
            switch self {
            case .loss: return r.loss
            case .lossText: return r.lossText
            case .lossImage: return r.lossImage
            case .lossEMA: return r.lossEMA
            case .lossTextEMA: return r.lossTextEMA
            case .lossImageEMA: return r.lossImageEMA
            case .valLoss: return r.heldOut?.loss
            case .valLossText: return r.heldOut?.lossText
            case .valLossImage: return r.heldOut?.lossImage
            }
        }
    }
}
