import Foundation

/// A FreeDict dictionary in dictd format, as Debian's `dict-freedict-eng-fra` installs it
/// (usr/share/dictd/freedict-eng-fra.index + .dict.dz): the index lists `headword TAB offset TAB
/// length`, numbers in dictd's base-64 digits (A–Z a–z 0–9 + /), into the gzip'd (dictzip) body,
/// whose entries read `headword /IPA/` then lines of translations, numbered "1. " when several,
/// alternatives separated by ", ".
public struct FreedictDictionary {
    public struct Entry: Equatable {
        public let headword: String
        public let translations: [String]
    }

    public let entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// Reads `<dir>/<name>.index` and `<dir>/<name>.dict.dz`; the "00database…" entries are skipped.
    public init(dir: String, name: String = "freedict-eng-fra") throws {
        let indexPath = dir.appendingPathComponent(name + ".index")
        let dictPath = dir.appendingPathComponent(name + ".dict.dz")
        try self.init(
            index: try FileIO.read(indexPath), body: try Gzip.decompress(path: dictPath, maxBytes: 1 << 28),
            indexPath: indexPath, dictPath: dictPath)
    }

    /// From the index bytes and the decompressed body; the paths only name the inputs in errors.
    public init(index indexData: Data, body: Data, indexPath: String, dictPath: String) throws {
        let index = String(decoding: indexData, as: UTF8.self)
        var entries: [Entry] = []
        for (n, line) in index.split(separator: "\n").enumerated() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 3, let offset = Self.number(f[1]), let length = Self.number(f[2]) else {
                throw TesseraError.data(file: indexPath, "line \(n + 1) is not headword TAB offset TAB length")
            }
            if f[0].hasPrefix("00database") || f[0].hasPrefix("00-database") { continue }
            guard offset + length <= body.count else {
                throw TesseraError.data(
                    file: indexPath,
                    "line \(n + 1) points past the end of \(dictPath) (\(offset) + \(length) > \(body.count))")
            }
            let text = String(
                decoding: body[(body.startIndex + offset)..<(body.startIndex + offset + length)], as: UTF8.self)
            entries.append(Entry(headword: String(f[0]), translations: Self.translations(text)))
        }
        guard !entries.isEmpty else { throw TesseraError.data(file: indexPath, "lists no entries") }
        self.entries = entries
    }

    /// dictd's base-64 number.
    static func number(_ s: Substring) -> Int? {
        guard !s.isEmpty else { return nil }
        var v = 0
        for c in s.utf8 {
            let d: Int
            switch c {
            case 65...90: d = Int(c) - 65
            case 97...122: d = Int(c) - 97 + 26
            case 48...57: d = Int(c) - 48 + 52
            case 43: d = 62
            case 47: d = 63
            default: return nil
            }
            guard v < Int.max >> 7 else { return nil }  // longer than any file: refuse rather than overflow
            v = v * 64 + d
        }
        return v
    }

    /// Translations of one entry body (its first line is the headword and pronunciation).
    static func translations(_ text: String) -> [String] {
        var out: [String] = []
        for line in text.split(separator: "\n").dropFirst() {
            var l = line.trimmingCharacters(in: .whitespaces)
            if let dot = l.firstIndex(of: "."), l[..<dot].allSatisfy(\.isNumber), !l[..<dot].isEmpty {
                l = String(l[l.index(after: dot)...]).trimmingCharacters(in: .whitespaces)
            }
            out += l.components(separatedBy: ", ").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
        return out
    }

    /// Single-word, lowercase-letter headwords with at least one single-word translation, merged
    /// over duplicate headwords, minus `exclude`; a seeded sample of `count` (all when fewer).
    public func wordPairs(count: Int, seed: UInt64, exclude: Set<String>) -> [(english: String, french: [String])] {
        var merged: [String: [String]] = [:]
        for e in entries
        where !exclude.contains(e.headword) && !e.headword.isEmpty
            && e.headword.unicodeScalars.allSatisfy({ $0.properties.isLowercase && $0.isASCII })
        {
            let single = e.translations.filter { !$0.contains(" ") }
            if !single.isEmpty { merged[e.headword, default: []] += single }
        }
        var keys = merged.keys.sorted()
        var rng = RandomStream(seed: seed, name: "probe/translation")
        for i in stride(from: keys.count - 1, to: 0, by: -1) { keys.swapAt(i, rng.int(below: i + 1)) }
        return keys.prefix(count).map { ($0, merged[$0]!) }
    }
}
