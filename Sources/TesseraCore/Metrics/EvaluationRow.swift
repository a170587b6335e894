/// `tessera eval --json`: a checkpoint's held-out figures on one corpus.
public struct EvaluationRow: Codable, Equatable {
    public var checkpoint: String
    public var corpus: String
    /// Targets counted.
    public var tokens: Int
    public var seconds: Double
    /// Bits per byte of a text file (compares models with different tokenizers).
    public var bitsPerByte: Double?
    public var heldOut: HeldOutLoss

    public init(
        checkpoint: String, corpus: String, tokens: Int, seconds: Double, bitsPerByte: Double?, heldOut: HeldOutLoss
    ) {
        self.checkpoint = checkpoint; self.corpus = corpus; self.tokens = tokens; self.seconds = seconds
        self.bitsPerByte = bitsPerByte; self.heldOut = heldOut
    }

    enum CodingKeys: String, CodingKey { case checkpoint, corpus, tokens, seconds, bitsPerByte = "bits_per_byte" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        corpus = try c.decode(String.self, forKey: .corpus)
        tokens = try c.decode(Int.self, forKey: .tokens)
        seconds = try c.decode(Double.self, forKey: .seconds)
        bitsPerByte = try c.decodeIfPresent(Double.self, forKey: .bitsPerByte)
        heldOut = try HeldOutLoss(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(corpus, forKey: .corpus)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(seconds, forKey: .seconds)
        try c.encodeIfPresent(bitsPerByte, forKey: .bitsPerByte)
        try heldOut.encode(to: encoder)
    }
}
