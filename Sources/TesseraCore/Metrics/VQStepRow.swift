/// One optimizer step of an image-tokenizer run (a line of its metrics.jsonl), with the
/// held-out reconstruction figures on evaluation steps. Written by `VQTrainer`.
public struct VQStepRow: Codable, Equatable {
    public var step: Int
    /// Images seen so far (step × batch).
    public var images: Int
    public var lr: Double
    /// reconstruction + VQ (+ adversarial) loss of the step, and its parts.
    public var loss, reconstructionLoss, vqLoss: Double
    public var gradNorm: Double
    public var imagesPerSecond: Double
    public var elapsedSeconds: Double
    /// With the discriminator on: the generator's adversarial term and the discriminator's hinge loss.
    public var generatorAdversarialLoss, discriminatorLoss: Double?
    /// On evaluation steps.
    public var heldOut: ReconstructionScores?

    public init(
        step: Int, images: Int, lr: Double, loss: Double, reconstructionLoss: Double, vqLoss: Double, gradNorm: Double,
        imagesPerSecond: Double, elapsedSeconds: Double
    ) {
        self.step = step; self.images = images; self.lr = lr; self.loss = loss;
        self.reconstructionLoss = reconstructionLoss
        self.vqLoss = vqLoss; self.gradNorm = gradNorm; self.imagesPerSecond = imagesPerSecond;
        self.elapsedSeconds = elapsedSeconds
    }

    enum CodingKeys: String, CodingKey {
        case step, images, lr, loss, reconstructionLoss = "rec_loss", vqLoss = "vq_loss", gradNorm = "grad_norm"
        case imagesPerSecond = "images_per_s", elapsedSeconds = "elapsed_s", generatorAdversarialLoss = "g_adv_loss"
        case discriminatorLoss = "d_loss"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        images = try c.decode(Int.self, forKey: .images)
        lr = try c.decode(Double.self, forKey: .lr)
        loss = try c.decode(Double.self, forKey: .loss)
        reconstructionLoss = try c.decode(Double.self, forKey: .reconstructionLoss)
        vqLoss = try c.decode(Double.self, forKey: .vqLoss)
        gradNorm = try c.decode(Double.self, forKey: .gradNorm)
        imagesPerSecond = try c.decodeIfPresent(Double.self, forKey: .imagesPerSecond) ?? 0
        elapsedSeconds = try c.decodeIfPresent(Double.self, forKey: .elapsedSeconds) ?? 0
        generatorAdversarialLoss = try c.decodeIfPresent(Double.self, forKey: .generatorAdversarialLoss)
        discriminatorLoss = try c.decodeIfPresent(Double.self, forKey: .discriminatorLoss)
        let v = try decoder.container(keyedBy: ReconstructionScores.CodingKeys.self)
        heldOut = v.contains(.psnr) ? try ReconstructionScores(from: decoder) : nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(images, forKey: .images)
        try c.encode(lr, forKey: .lr)
        try c.encode(loss, forKey: .loss)
        try c.encode(reconstructionLoss, forKey: .reconstructionLoss)
        try c.encode(vqLoss, forKey: .vqLoss)
        try c.encode(gradNorm, forKey: .gradNorm)
        try c.encode(imagesPerSecond, forKey: .imagesPerSecond)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encodeIfPresent(generatorAdversarialLoss, forKey: .generatorAdversarialLoss)
        try c.encodeIfPresent(discriminatorLoss, forKey: .discriminatorLoss)
        try heldOut?.encode(to: encoder)
    }
}
