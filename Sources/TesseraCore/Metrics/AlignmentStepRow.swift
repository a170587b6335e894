/// One step of the contrastive alignment probe (a line of its metrics.jsonl), with the held-out
/// figures on evaluation steps. Written by `AlignmentTraining`, read by the report (C8).
public struct AlignmentStepRow: Codable, Equatable {
    public var step: Int
    /// CLIP loss of the batch, in-batch top-1 accuracy, temperature 1/exp(logit_scale).
    public var loss, accuracy, temperature, logitScale, lr: Double
    /// The lowest loss this batch allows: duplicate captions cannot be told apart (`ContrastiveFloor`).
    public var lossFloor: Double
    public var heldOut: HeldOut?

    /// The probe on the held-out pairs.
    public struct HeldOut: Codable, Equatable {
        public var loss, accuracy: Double
        public var batch: Int
        public var lossFloor: Double
        /// Share of held-out images whose nearest caption is theirs (or an identical one), and chance.
        public var retrieval, retrievalChance: Double

        public init(
            loss: Double, accuracy: Double, batch: Int, lossFloor: Double, retrieval: Double, retrievalChance: Double
        ) {
            self.loss = loss; self.accuracy = accuracy; self.batch = batch; self.lossFloor = lossFloor
            self.retrieval = retrieval; self.retrievalChance = retrievalChance
        }

        public enum CodingKeys: String, CodingKey {
            case loss = "val_loss", accuracy = "val_accuracy", batch = "val_batch", lossFloor = "val_loss_floor"
            case retrieval = "val_retrieval", retrievalChance = "val_retrieval_chance"
        }
    }

    public init(
        step: Int, loss: Double, accuracy: Double, temperature: Double, logitScale: Double, lr: Double,
        lossFloor: Double
    ) {
        self.step = step; self.loss = loss; self.accuracy = accuracy; self.temperature = temperature
        self.logitScale = logitScale; self.lr = lr; self.lossFloor = lossFloor
    }

    enum CodingKeys: String, CodingKey {
        case step, loss, accuracy, temperature, logitScale = "logit_scale", lr, lossFloor = "loss_floor"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        loss = try c.decode(Double.self, forKey: .loss)
        accuracy = try c.decode(Double.self, forKey: .accuracy)
        temperature = try c.decode(Double.self, forKey: .temperature)
        logitScale = try c.decode(Double.self, forKey: .logitScale)
        lr = try c.decode(Double.self, forKey: .lr)
        lossFloor = try c.decode(Double.self, forKey: .lossFloor)
        let v = try decoder.container(keyedBy: HeldOut.CodingKeys.self)
        heldOut = v.contains(.loss) ? try HeldOut(from: decoder) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(loss, forKey: .loss)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(logitScale, forKey: .logitScale)
        try c.encode(lr, forKey: .lr)
        try c.encode(lossFloor, forKey: .lossFloor)
        try heldOut?.encode(to: encoder)
    }
}
