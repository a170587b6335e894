import Foundation

/// Names of emoji from Unicode's own data: `emoji-test.txt` (Debian unicode-data,
/// usr/share/unicode/emoji/) gives every emoji sequence its CLDR short name, group and subgroup:
///   `1F600 ; fully-qualified # 😀 E1.0 grinning face` under `# group: Smileys & Emotion`;
/// CLDR's `annotations/en.xml` (Debian unicode-cldr-core) gives keywords:
///   `<annotation cp="😀">face | grin | grinning face</annotation>`.
/// Sequences are keyed without U+FE0F (the emoji presentation selector), so "2764 FE0F" (red heart)
/// and a font's cmap entry for U+2764 meet.
public struct EmojiNames {
    public struct Entry: Equatable {
        public let name: String
        public let group: String
        public let subgroup: String
        /// fully-qualified, minimally-qualified, unqualified or component.
        public let status: String

        public init(name: String, group: String, subgroup: String, status: String) {
            self.name = name; self.group = group; self.subgroup = subgroup; self.status = status
        }
    }

    public let entries: [[UInt32]: Entry]
    public var keywords: [[UInt32]: [String]] = [:]

    /// The largest names file read (emoji-test.txt 15.0 is 0.6 MB; en.xml 0.7 MB).
    public static let maxBytes = 64 << 20

    public static func key(_ scalars: [UInt32]) -> [UInt32] { scalars.filter { $0 != 0xFE0F } }

    public init(emojiTest path: String) throws {
        let text = try Self.readText(path)
        var entries: [[UInt32]: Entry] = [:]
        var group = "", subgroup = ""
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("# group:") { group = line.dropFirst(8).trimmingCharacters(in: .whitespaces); continue }
            if line.hasPrefix("# subgroup:") {
                subgroup = line.dropFirst(11).trimmingCharacters(in: .whitespaces); continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            // codepoints ; status # emoji Eversion name
            let halves = line.split(separator: "#", maxSplits: 1)
            let fields = halves[0].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard halves.count == 2, fields.count == 2, !fields[0].isEmpty else {
                throw TesseraError.data(
                    file: path, "line \(n + 1) is not \"code points ; status # emoji E<version> name\"")
            }
            var scalars: [UInt32] = []
            for hex in fields[0].split(separator: " ") {
                guard let v = UInt32(hex, radix: 16), v <= 0x10FFFF else {
                    throw TesseraError.data(file: path, "line \(n + 1): \"\(hex)\" is not a hexadecimal code point")
                }
                scalars.append(v)
            }
            let comment = halves[1].split(separator: " ", omittingEmptySubsequences: true)
            // "😀", "E1.0", then the name.
            guard comment.count >= 3, comment[1].hasPrefix("E") else {
                throw TesseraError.data(file: path, "line \(n + 1): the comment lacks \"emoji E<version> name\"")
            }
            let name = comment[2...].joined(separator: " ")
            let k = Self.key(scalars)
            if entries[k] == nil { entries[k] = Entry(name: name, group: group, subgroup: subgroup, status: fields[1]) }
        }
        guard !entries.isEmpty else {
            throw TesseraError.data(file: path, "lists no emoji (expected emoji-test.txt lines)")
        }
        self.entries = entries
    }

    /// Adds CLDR keywords (not the "tts" name lines) for the emoji known here.
    public mutating func readAnnotations(_ path: String) throws {
        let text = try Self.readText(path)
        var found = 0
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("<annotation cp=\""), !line.contains("type=\"tts\""),
                let q = line.dropFirst(16).firstIndex(of: "\""),
                let open = line.firstIndex(of: ">"), let close = line.range(of: "</annotation>")
            else { continue }
            let cp = String(line[line.index(line.startIndex, offsetBy: 16)..<q])
            let k = Self.key(cp.unicodeScalars.map(\.value))
            guard entries[k] != nil, open < close.lowerBound else { continue }
            let words = line[line.index(after: open)..<close.lowerBound].split(separator: "|")
                .map { Self.unescape($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.isEmpty }
            keywords[k] = words
            found += 1
        }
        guard found > 0 else {
            throw TesseraError.data(file: path, "has no <annotation cp=…> keywords for any emoji of the names file")
        }
    }

    static func readText(_ path: String) throws -> String {
        let size = FileIO.fileSize(path) ?? 0
        guard size <= maxBytes else {
            throw TesseraError.data(file: path, "\(size) bytes exceed the \(maxBytes)-byte limit")
        }
        guard let s = String(data: try FileIO.read(path), encoding: .utf8) else {
            throw TesseraError.data(file: path, "is not UTF-8 text")
        }
        return s
    }

    /// XML character entities (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;).
    public static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = "", i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].firstIndex(of: ";"), s.distance(from: i, to: semi) <= 10 {
                let body = s[s.index(after: i)..<semi]
                var c: Character?
                switch body {
                case "amp": c = "&"
                case "lt": c = "<"
                case "gt": c = ">"
                case "quot": c = "\""
                case "apos": c = "'"
                default:
                    if body.hasPrefix("#x") || body.hasPrefix("#X"), let v = UInt32(body.dropFirst(2), radix: 16) {
                        c = Unicode.Scalar(v).map(Character.init)
                    } else if body.hasPrefix("#"), let v = UInt32(body.dropFirst()) {
                        c = Unicode.Scalar(v).map(Character.init)
                    }
                }
                if let c { out.append(c); i = s.index(after: semi); continue }
            }
            out.append(s[i]); i = s.index(after: i)
        }
        return out
    }
}
