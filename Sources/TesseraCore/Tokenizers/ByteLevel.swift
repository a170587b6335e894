/// GPT-2's reversible map between bytes and printable Unicode characters: the printable ranges
/// '!'…'~', '¡'…'¬', '®'…'ÿ' map to themselves, the other 68 bytes to U+0100 onwards in order.
/// Byte-level BPE vocabularies are written in these characters.
public enum ByteLevel {
    /// byte → its character.
    public static let byteToChar: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Character(Unicode.Scalar(UInt32(b))!)
            } else {
                table[b] = Character(Unicode.Scalar(next)!)
                next += 1
            }
        }
        return table
    }()

    /// character (scalar value) → byte, for the 256 characters of the map.
    public static let charToByte: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { m[c.unicodeScalars.first!.value] = UInt8(b) }
        return m
    }()

    /// The byte-level spelling of raw bytes.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = ""
        for b in bytes { s.append(byteToChar[Int(b)]) }
        return s
    }

    /// Raw bytes of a byte-level spelling; nil if a character is outside the map.
    public static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            guard let b = charToByte[u.value] else { return nil }
            out.append(b)
        }
        return out
    }
}
