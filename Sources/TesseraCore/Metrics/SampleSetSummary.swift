/// `eval sample`'s summary.json: how a set of samples for held-out captions was drawn and how
/// it scores. Written by the command, read by the report (C5 and the sample grids).
public struct SampleSetSummary: Codable, Equatable {
    public var checkpoint, imageTokenizer, captions: String
    public var images, samplesPerCaption, topK, seed: Int
    public var temperature, topP, guidance, seconds: Double
    public var codesPerSecond: Double
    /// Share of samples whose </image> came right after the last code.
    public var imageEndRate: Double
    /// On synthetic shapes: recognised as their caption by the shapes recogniser, per attribute and
    /// "all", and the chance of "all".
    public var consistency: [String: Double]?
    public var consistencyChance: [String: Double]?
    /// With --classifier: share assigned to their caption's class, chance, and the Fréchet distance
    /// of the classifier's features to the held-out images, beside that of real training images.
    public var classifier: String?
    public var classAccuracy, classChance, frechetDistance, frechetDistanceRealTrain: Double?

    public init(
        checkpoint: String, imageTokenizer: String, captions: String, images: Int, samplesPerCaption: Int, topK: Int,
        seed: Int, temperature: Double, topP: Double, guidance: Double, seconds: Double, codesPerSecond: Double,
        imageEndRate: Double
    ) {
        self.checkpoint = checkpoint; self.imageTokenizer = imageTokenizer; self.captions = captions;
        self.images = images
        self.samplesPerCaption = samplesPerCaption; self.topK = topK; self.seed = seed; self.temperature = temperature
        self.topP = topP; self.guidance = guidance; self.seconds = seconds; self.codesPerSecond = codesPerSecond
        self.imageEndRate = imageEndRate
    }

    enum CodingKeys: String, CodingKey {
        case checkpoint, imageTokenizer = "image_tokenizer", captions, images, samplesPerCaption = "samples_per_caption"
        case topK = "top_k", seed, temperature, topP = "top_p", guidance, seconds, codesPerSecond = "codes_per_second"
        case imageEndRate = "image_end_rate", consistency, consistencyChance = "consistency_chance", classifier
        case classAccuracy = "class_accuracy", classChance = "class_chance", frechetDistance = "frechet_distance"
        case frechetDistanceRealTrain = "frechet_distance_real_train"
    }
}
