/// Splits text into the pieces that BPE merges never cross, as the GPT-2 regex does:
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// implemented as a hand-written scanner over UTF-8 (no regex engine, no String allocation).
/// Bytes that are not valid UTF-8 count as "other" characters, so any byte string splits and
/// round-trips. `smollm` first isolates every \p{N} character (HF `Digits(individual_digits)`,
/// llama.cpp's SMOLLM case) and then applies the GPT-2 rules inside each part.
public enum PreTokenizer: String, Sendable, CaseIterable {
    case gpt2
    case smollm

    enum Kind: UInt8 { case letter, number, space, other }

    struct Unit {
        var start: Int
        var length: Int
        var kind: Kind
        var scalar: UInt32  // 0xFFFF_FFFF for an invalid byte
    }

    /// ASCII classes, indexed by byte.
    static let asciiKind: [Kind] = (0..<128).map { b in
        let u = Unicode.Scalar(UInt8(b))
        if u.properties.isWhitespace { return .space }
        if (65...90).contains(b) || (97...122).contains(b) { return .letter }
        if (48...57).contains(b) { return .number }
        return .other
    }

    static func kind(of scalar: Unicode.Scalar) -> Kind {
        let p = scalar.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return p.isWhitespace ? .space : .other
        }
    }

    /// Decodes one UTF-8 unit at `i` (an invalid sequence yields a one-byte `.other` unit).
    @inline(__always)
    static func unit(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Unit {
        let c0 = b[i]
        if c0 < 0x80 { return Unit(start: i, length: 1, kind: asciiKind[Int(c0)], scalar: UInt32(c0)) }
        var need = 0
        var v: UInt32 = 0
        if c0 & 0xE0 == 0xC0 {
            need = 1; v = UInt32(c0 & 0x1F)
        } else if c0 & 0xF0 == 0xE0 {
            need = 2; v = UInt32(c0 & 0x0F)
        } else if c0 & 0xF8 == 0xF0 {
            need = 3; v = UInt32(c0 & 0x07)
        } else {
            return Unit(start: i, length: 1, kind: .other, scalar: .max)
        }
        guard i + need < b.count else { return Unit(start: i, length: 1, kind: .other, scalar: .max) }
        for k in 1...need {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return Unit(start: i, length: 1, kind: .other, scalar: .max) }
            v = (v << 6) | UInt32(c & 0x3F)
        }
        // Overlong forms and surrogates are not valid UTF-8.
        let minimum: UInt32 = need == 1 ? 0x80 : need == 2 ? 0x800 : 0x10000
        guard v >= minimum, let s = Unicode.Scalar(v) else {
            return Unit(start: i, length: 1, kind: .other, scalar: .max)
        }
        return Unit(start: i, length: need + 1, kind: kind(of: s), scalar: v)
    }

    /// Calls `piece(range)` for each piece of `bytes`, in order; the ranges tile the input.
    public func split(_ bytes: UnsafeBufferPointer<UInt8>, _ piece: (Range<Int>) -> Void) {
        var units: [Unit] = []
        units.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let u = PreTokenizer.unit(bytes, i)
            units.append(u)
            i += u.length
        }
        switch self {
        case .gpt2:
            PreTokenizer.gpt2(units, 0..<units.count, total: bytes.count, piece)
        case .smollm:
            var start = 0
            for (k, u) in units.enumerated() where u.kind == .number {
                if start < k { PreTokenizer.gpt2(units, start..<k, total: bytes.count, piece) }
                piece(u.start..<(u.start + u.length))
                start = k + 1
            }
            if start < units.count { PreTokenizer.gpt2(units, start..<units.count, total: bytes.count, piece) }
        }
    }

    /// Convenience: the pieces as byte ranges.
    public func pieces(_ bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { b in split(b) { out.append($0) } }
        return out
    }

    static func gpt2(_ u: [Unit], _ range: Range<Int>, total: Int, _ piece: (Range<Int>) -> Void) {
        let end = range.upperBound
        func byteEnd(_ k: Int) -> Int { k < end ? u[k].start : (k == 0 ? 0 : u[k - 1].start + u[k - 1].length) }
        @inline(__always) func isASCII(_ k: Int, _ c: UInt8) -> Bool { k < end && u[k].scalar == UInt32(c) }
        var i = range.lowerBound
        while i < end {
            var j = i
            // Contractions: 's 't 're 've 'm 'll 'd (ASCII, lowercase, as GPT-2 wrote them).
            if isASCII(i, UInt8(ascii: "'")) {
                if isASCII(i + 1, UInt8(ascii: "s")) || isASCII(i + 1, UInt8(ascii: "t"))
                    || isASCII(i + 1, UInt8(ascii: "m")) || isASCII(i + 1, UInt8(ascii: "d"))
                {
                    j = i + 2
                } else if (isASCII(i + 1, UInt8(ascii: "r")) && isASCII(i + 2, UInt8(ascii: "e")))
                    || (isASCII(i + 1, UInt8(ascii: "v")) && isASCII(i + 2, UInt8(ascii: "e")))
                    || (isASCII(i + 1, UInt8(ascii: "l")) && isASCII(i + 2, UInt8(ascii: "l")))
                {
                    j = i + 3
                }
            }
            if j == i {
                // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
                let k0 = isASCII(i, 0x20) ? i + 1 : i
                if k0 < end, u[k0].kind != .space {
                    let kind = u[k0].kind
                    var k = k0 + 1
                    while k < end && u[k].kind == kind { k += 1 }
                    j = k
                }
            }
            if j == i {
                // `\s+(?!\S)` then `\s+`: a whitespace run leaves its last character to the next
                // piece when a non-space follows, unless the run is that one character.
                var k = i
                while k < end && u[k].kind == .space { k += 1 }
                if k == end || k - i == 1 { j = k == end ? k : i + 1 } else { j = k - 1 }
            }
            piece(byteEnd(i)..<byteEnd(j))
            i = j
        }
    }
}
