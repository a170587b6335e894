import Foundation

/// Caption dropout for classifier-free guidance: a dropped sequence keeps `<doc> <text>` and
/// continues at `</text>`, everything after shifted left and the tail filled with `<pad>`, so the
/// model also learns p(image | empty caption), the unconditional branch guidance subtracts.
public struct CaptionDropout: Sendable {
    public let probability: Double
    public let layout: VocabularyLayout

    public init(probability: Double, layout: VocabularyLayout) {
        self.probability = probability
        self.layout = layout
    }

    /// Whether training row `row` (counted over the whole run) loses its caption.
    public func drops(row: Int, seed: UInt64) -> Bool {
        RandomStream.chance(probability, seed: seed, name: "data/caption-dropout", counter: row)
    }

    /// Rewrites one row in place. Inputs are ids 0..<count of the sequence, targets ids 1...count.
    public func dropCaption(inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>, count: Int) {
        let open = layout.special("<text>"), close = layout.special("</text>"), pad = layout.special("<pad>")
        // Sequence position of <text> (1) and of </text>; the caption is strictly between.
        guard count >= 2, inputs[1] == open else { return }
        var end = 2
        while end < count && inputs[end] != close { end += 1 }
        guard end < count else { return }
        let cut = end - 2  // caption tokens removed
        guard cut > 0 else { return }
        // Full sequence index i: input i for i < count, target count-1 for i == count.
        func at(_ i: Int) -> Int32 { i < count ? inputs[i] : (i == count ? targets[count - 1] : pad) }
        for i in 2...count {
            let v = i + cut <= count ? at(i + cut) : pad
            if i < count { inputs[i] = v }
            targets[i - 1] = v
        }
    }
}
