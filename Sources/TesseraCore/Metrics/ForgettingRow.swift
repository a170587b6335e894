import Foundation

/// `tessera probe forget --json`: what one checkpoint still knows about text (paper Table 1).
/// Written by the probe, read by the report (C11, C12 and Table 1).
public struct ForgettingRow: Codable, Equatable {
    public struct Completion: Codable, Equatable {
        public var prompt, completion: String
        public init(prompt: String, completion: String) { self.prompt = prompt; self.completion = completion }
    }
    public struct Example: Codable, Equatable {
        public var word, completion: String
        public var right: Bool
        public init(word: String, completion: String, right: Bool) {
            self.word = word; self.completion = completion; self.right = right
        }
    }

    public var checkpoint: String
    /// The checkpoint's training step (nil for a model that was never trained here, e.g. an import).
    public var step: Int?
    public var completions: [Completion] = []
    /// Held-out perplexity on the probe's corpus over the full vocabulary…
    public var loss: Double?
    /// …and renormalised over text ids (the probability of text among text tokens; equal to the
    /// full figure for a text LM).
    public var lossTextOnly: Double?
    public var translationAccuracy: Double?
    public var translationExamples: [Example]?
    public var clozeAccuracy: Double?
    public var clozeRight: [String]?

    public var perplexity: Double? { loss.map { Foundation.exp($0) } }
    public var perplexityTextOnly: Double? { lossTextOnly.map { Foundation.exp($0) } }

    public init(checkpoint: String, step: Int?) { self.checkpoint = checkpoint; self.step = step }

    enum CodingKeys: String, CodingKey {
        case checkpoint, step, completions, loss = "val_loss", perplexity = "val_ppl", lossTextOnly =
            "val_loss_text_only"
        case perplexityTextOnly = "val_ppl_text_only", translationAccuracy = "translation_accuracy"
        case translationExamples = "translation_examples", clozeAccuracy = "cloze_accuracy", clozeRight = "cloze_right"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        step = try c.decodeIfPresent(Int.self, forKey: .step)
        completions = try c.decodeIfPresent([Completion].self, forKey: .completions) ?? []
        loss = try c.decodeIfPresent(Double.self, forKey: .loss)
        lossTextOnly = try c.decodeIfPresent(Double.self, forKey: .lossTextOnly)
        translationAccuracy = try c.decodeIfPresent(Double.self, forKey: .translationAccuracy)
        translationExamples = try c.decodeIfPresent([Example].self, forKey: .translationExamples)
        clozeAccuracy = try c.decodeIfPresent(Double.self, forKey: .clozeAccuracy)
        clozeRight = try c.decodeIfPresent([String].self, forKey: .clozeRight)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encodeIfPresent(step, forKey: .step)
        try c.encode(completions, forKey: .completions)
        try c.encodeIfPresent(loss, forKey: .loss)
        try c.encodeIfPresent(perplexity, forKey: .perplexity)
        try c.encodeIfPresent(lossTextOnly, forKey: .lossTextOnly)
        try c.encodeIfPresent(perplexityTextOnly, forKey: .perplexityTextOnly)
        try c.encodeIfPresent(translationAccuracy, forKey: .translationAccuracy)
        try c.encodeIfPresent(translationExamples, forKey: .translationExamples)
        try c.encodeIfPresent(clozeAccuracy, forKey: .clozeAccuracy)
        try c.encodeIfPresent(clozeRight, forKey: .clozeRight)
    }
}
