/// The alignment probe's summary.json: its last step and what the probe found.
public struct AlignmentSummary: Codable, Equatable {
    public var last: AlignmentStepRow
    public var checkpoint, codes: String
    public var batch, trainImages, valImages: Int
    public var chanceTop1: Double
    /// Share of codes whose nearest text token is a word of the training captions, and the share
    /// of the text vocabulary that is (chance); then the same over content words (stop words out).
    public var nearestCaptionWordShare, vocabularyCaptionWordShare: Double
    public var captionWords: Int
    public var nearestContentWordShare, vocabularyContentWordShare: Double
    public var contentWords, stopWords: Int
    public var seed: Int
    /// A control probe: captions permuted across training images.
    public var shuffledCaptions: Bool

    public init(
        last: AlignmentStepRow, checkpoint: String, codes: String, batch: Int, trainImages: Int, valImages: Int,
        chanceTop1: Double, nearestCaptionWordShare: Double, vocabularyCaptionWordShare: Double, captionWords: Int,
        nearestContentWordShare: Double, vocabularyContentWordShare: Double, contentWords: Int, stopWords: Int,
        seed: Int, shuffledCaptions: Bool
    ) {
        self.last = last; self.checkpoint = checkpoint; self.codes = codes; self.batch = batch;
        self.trainImages = trainImages
        self.valImages = valImages; self.chanceTop1 = chanceTop1; self.nearestCaptionWordShare = nearestCaptionWordShare
        self.vocabularyCaptionWordShare = vocabularyCaptionWordShare; self.captionWords = captionWords
        self.nearestContentWordShare = nearestContentWordShare;
        self.vocabularyContentWordShare = vocabularyContentWordShare
        self.contentWords = contentWords; self.stopWords = stopWords; self.seed = seed;
        self.shuffledCaptions = shuffledCaptions
    }

    enum CodingKeys: String, CodingKey {
        case checkpoint, codes, batch, trainImages = "train_images", valImages = "val_images", chanceTop1 =
            "chance_top1"
        case nearestCaptionWordShare = "nearest_caption_word_share", vocabularyCaptionWordShare =
            "vocabulary_caption_word_share"
        case captionWords = "caption_words", nearestContentWordShare = "nearest_content_word_share"
        case vocabularyContentWordShare = "vocabulary_content_word_share", contentWords = "content_words"
        case stopWords = "stop_words", seed, shuffledCaptions = "shuffled_captions"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        last = try AlignmentStepRow(from: decoder)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        codes = try c.decode(String.self, forKey: .codes)
        batch = try c.decode(Int.self, forKey: .batch)
        trainImages = try c.decode(Int.self, forKey: .trainImages)
        valImages = try c.decode(Int.self, forKey: .valImages)
        chanceTop1 = try c.decode(Double.self, forKey: .chanceTop1)
        nearestCaptionWordShare = try c.decode(Double.self, forKey: .nearestCaptionWordShare)
        vocabularyCaptionWordShare = try c.decode(Double.self, forKey: .vocabularyCaptionWordShare)
        captionWords = try c.decode(Int.self, forKey: .captionWords)
        nearestContentWordShare =
            try c.decodeIfPresent(Double.self, forKey: .nearestContentWordShare) ?? nearestCaptionWordShare
        vocabularyContentWordShare =
            try c.decodeIfPresent(Double.self, forKey: .vocabularyContentWordShare) ?? vocabularyCaptionWordShare
        contentWords = try c.decodeIfPresent(Int.self, forKey: .contentWords) ?? captionWords
        stopWords = try c.decodeIfPresent(Int.self, forKey: .stopWords) ?? 0
        seed = try c.decode(Int.self, forKey: .seed)
        shuffledCaptions = try c.decodeIfPresent(Bool.self, forKey: .shuffledCaptions) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        try last.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(codes, forKey: .codes)
        try c.encode(batch, forKey: .batch)
        try c.encode(trainImages, forKey: .trainImages)
        try c.encode(valImages, forKey: .valImages)
        try c.encode(chanceTop1, forKey: .chanceTop1)
        try c.encode(nearestCaptionWordShare, forKey: .nearestCaptionWordShare)
        try c.encode(vocabularyCaptionWordShare, forKey: .vocabularyCaptionWordShare)
        try c.encode(captionWords, forKey: .captionWords)
        try c.encode(nearestContentWordShare, forKey: .nearestContentWordShare)
        try c.encode(vocabularyContentWordShare, forKey: .vocabularyContentWordShare)
        try c.encode(contentWords, forKey: .contentWords)
        try c.encode(stopWords, forKey: .stopWords)
        try c.encode(seed, forKey: .seed)
        try c.encode(shuffledCaptions, forKey: .shuffledCaptions)
    }
}
