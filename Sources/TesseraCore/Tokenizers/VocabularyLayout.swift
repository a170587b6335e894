import Foundation

/// The id space of a text-to-image language model: the text tokenizer's ids first, then the image
/// codes, then the structure tokens, padded to a multiple of 64 (rows no data uses, kept so matmul
/// widths stay aligned):
///   [0, text)                    text tokens
///   [text, text + codes)         image code k ↦ text + k
///   then <doc> </doc> <text> </text> <image> </image> <pad>, in that order
/// Recorded in every pair-shard manifest and checkpoint; a mismatch on load names both sides.
public struct VocabularyLayout: Equatable, Sendable {
    public static let specials = ["<doc>", "</doc>", "<text>", "</text>", "<image>", "</image>", "<pad>"]
    public let textSize: Int
    public let imageCodes: Int
    public let multipleOf: Int

    public init(textSize: Int, imageCodes: Int, multipleOf: Int = 64) {
        precondition(textSize > 0 && imageCodes > 0 && multipleOf > 0)
        self.textSize = textSize; self.imageCodes = imageCodes; self.multipleOf = multipleOf
    }

    public var imageRange: Range<Int> { textSize..<(textSize + imageCodes) }
    public var specialStart: Int { textSize + imageCodes }
    /// Ids data can contain.
    public var usedSize: Int { specialStart + Self.specials.count }
    public var vocabSize: Int { (usedSize + multipleOf - 1) / multipleOf * multipleOf }

    public func special(_ name: String) -> Int32 {
        guard let i = Self.specials.firstIndex(of: name) else { preconditionFailure("no special token \(name)") }
        return Int32(specialStart + i)
    }
    public func imageToken(_ code: Int32) -> Int32 { Int32(textSize) + code }

    public var json: [String: Any] {
        var sp: [String: Any] = [:]
        for (i, n) in Self.specials.enumerated() { sp[n] = specialStart + i }
        return [
            "text": [0, textSize], "image": [imageRange.lowerBound, imageRange.upperBound], "specials": sp,
            "multiple_of": multipleOf, "vocab_size": vocabSize,
        ]
    }

    /// Reads `json`'s form back, requiring every field to agree with the layout rule.
    public init(json o: Any, file: String) throws {
        func bad(_ m: String) -> TesseraError { .data(file: file, "vocabulary layout: \(m)") }
        guard let o = o as? [String: Any], let text = o["text"] as? [Any], text.count == 2,
            let t0 = JSONKeys.exactInt(text[0]), let t1 = JSONKeys.exactInt(text[1]),
            let image = o["image"] as? [Any], image.count == 2,
            let i0 = JSONKeys.exactInt(image[0]), let i1 = JSONKeys.exactInt(image[1]),
            let mult = o["multiple_of"].flatMap(JSONKeys.exactInt), let v = o["vocab_size"].flatMap(JSONKeys.exactInt),
            let sp = o["specials"] as? [String: Any]
        else { throw bad("needs text, image, specials, multiple_of, vocab_size") }
        guard t0 == 0, t1 > 0, i0 == t1, i1 > i0, mult > 0 else {
            throw bad("text must be [0, N) and image [N, N+K) right after it")
        }
        let most = SizeLimits.maxVocabulary
        guard i1 <= most, mult <= most else {
            throw bad("ids beyond Tessera's maximum vocabulary of \(most) (image ends at \(i1), multiple_of \(mult))")
        }
        self.init(textSize: t1, imageCodes: i1 - i0, multipleOf: mult)
        guard v == vocabSize else {
            throw bad("vocab_size \(v) is not \(vocabSize) (used ids \(usedSize) rounded up to \(mult))")
        }
        for (i, n) in Self.specials.enumerated() {
            guard sp[n].flatMap(JSONKeys.exactInt) == specialStart + i else {
                throw bad("\(n) must be id \(specialStart + i)")
            }
        }
        guard sp.count == Self.specials.count else { throw bad("specials must be exactly \(Self.specials)") }
    }

    public var summary: String {
        "text [0, \(textSize)), image codes [\(imageRange.lowerBound), \(imageRange.upperBound)), specials [\(specialStart), \(usedSize)), vocab \(vocabSize)"
    }

    /// Throws unless `other` is the same layout; the message names both sources.
    public func check(_ other: VocabularyLayout, mine: String, theirs: String) throws {
        guard self != other else { return }
        throw TesseraError.data(file: theirs, "vocabulary layout \(other.summary) differs from \(mine)'s \(summary)")
    }
}

/// Caption + image sequences of fixed length, the paper's layout:
///   <doc> <text> caption </text> <image> codes </image> </doc> <pad> …
/// or, unconditional (image only, paper §3.1): <doc> <image> codes </image> </doc> <pad> …
public enum PairSequence {
    /// Tokens around the caption and codes.
    public static func overhead(unconditional: Bool) -> Int { unconditional ? 4 : 6 }

    /// One sequence of exactly `seqLen` ids; the caption is cut to what fits (`truncated` says so).
    public static func make(
        caption: [Int32], codes: ArraySlice<Int32>, layout: VocabularyLayout, seqLen: Int,
        unconditional: Bool
    ) -> (ids: [Int32], truncated: Bool) {
        let budget = seqLen - overhead(unconditional: unconditional) - codes.count
        precondition(budget >= 0, "seq_len \(seqLen) cannot hold \(codes.count) codes")
        var s: [Int32] = [layout.special("<doc>")]
        s.reserveCapacity(seqLen)
        var truncated = false
        if !unconditional {
            s.append(layout.special("<text>"))
            truncated = caption.count > budget
            s += caption.prefix(budget)
            s.append(layout.special("</text>"))
        }
        s.append(layout.special("<image>"))
        for c in codes { s.append(layout.imageToken(c)) }
        s.append(layout.special("</image>"))
        s.append(layout.special("</doc>"))
        s += [Int32](repeating: layout.special("<pad>"), count: seqLen - s.count)
        return (s, truncated)
    }
}
