/// One sample of a set (a line of samples.jsonl).
public struct SampleRow: Codable, Equatable {
    /// Image path relative to the set's directory.
    public var file, caption: String
    /// Which sample of its caption.
    public var sample: Int
    public var codes: [Int]
    /// Whether </image> was the most likely token after the last code.
    public var endsImage: Bool
    /// On synthetic shapes: what the recogniser saw.
    public var recognised: String?

    public init(file: String, caption: String, sample: Int, codes: [Int], endsImage: Bool, recognised: String?) {
        self.file = file; self.caption = caption; self.sample = sample; self.codes = codes; self.endsImage = endsImage
        self.recognised = recognised
    }

    enum CodingKeys: String, CodingKey { case file, caption, sample, codes, endsImage = "ends_image", recognised }
}
