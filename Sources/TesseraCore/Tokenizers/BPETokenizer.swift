import Foundation

/// Byte-level BPE as GPT-2 defines it: text → pre-tokenizer pieces → bytes → one symbol per byte
/// → merges applied lowest rank first (leftmost on ties, as HF `tokenizers` does) → ids.
/// Added tokens (e.g. `<|endoftext|>`) are matched in the raw text first and never split.
/// Decoding maps ids back to bytes, so any byte string round-trips, invalid UTF-8 included.
public final class BPETokenizer {
    public struct AddedToken: Sendable, Equatable {
        public let id: Int32
        public let content: String
        public let special: Bool
        public init(id: Int32, content: String, special: Bool) {
            self.id = id; self.content = content; self.special = special
        }
    }

    /// Vocabulary in byte-level spelling (what tokenizer.json stores), indexed by id.
    public let tokens: [String]
    /// Merges in rank order, as pairs of ids.
    public let merges: [(Int32, Int32)]
    public let preTokenizer: PreTokenizer
    public let added: [AddedToken]
    /// Apply Unicode NFC to text before encoding (GPT-NeoX's tokenizer.json asks for it).
    public let normalizeNFC: Bool
    let vocabIndex: [String: Int32]

    /// Raw bytes of each id (added tokens: their UTF-8 content).
    let tokenBytes: [[UInt8]]
    /// id of the single-byte symbol for each byte.
    let byteIDs: [Int32]
    /// (left << 32 | right) → rank << 32 | merged id.
    let mergeTable: [UInt64: UInt64]
    let addedBytes: [(bytes: [UInt8], id: Int32)]
    var cache: [[UInt8]: [Int32]] = [:]

    public var vocabSize: Int { tokens.count }

    /// Builds a tokenizer from a vocabulary and merges in byte-level spelling. Fails (naming the
    /// entry) if a byte has no single-character token, or a merge's parts or result are missing.
    public init(
        vocab: [String: Int32], merges: [(String, String)], preTokenizer: PreTokenizer,
        added: [AddedToken] = [], normalizeNFC: Bool = false, source: String = "tokenizer"
    ) throws {
        var maxID: Int32 = -1
        for (_, id) in vocab { maxID = max(maxID, id) }
        for a in added { maxID = max(maxID, a.id) }
        guard maxID >= 0 else { throw TesseraError.data(file: source, "empty vocabulary") }
        // Ids must run 0..<count; checked before sizing any table by the largest id (a forged id
        // would otherwise allocate gigabytes: found by fuzzing).
        let distinct = Set(vocab.values).union(added.map(\.id)).count
        guard Int(maxID) < distinct else {
            throw TesseraError.data(
                file: source, "vocabulary ids are not contiguous: id \(maxID) with \(distinct) distinct ids")
        }
        var tokens = [String](repeating: "", count: Int(maxID) + 1)
        var seen = [Bool](repeating: false, count: tokens.count)
        for (t, id) in vocab {
            guard id >= 0 else { throw TesseraError.data(file: source, "token \"\(t)\" has negative id \(id)") }
            if seen[Int(id)] { throw TesseraError.data(file: source, "id \(id) is used by two tokens") }
            tokens[Int(id)] = t
            seen[Int(id)] = true
        }
        var bytes = [[UInt8]](repeating: [], count: tokens.count)
        for (t, id) in vocab { bytes[Int(id)] = ByteLevel.decode(t) ?? Array(t.utf8) }
        for a in added {
            tokens[Int(a.id)] = a.content
            bytes[Int(a.id)] = Array(a.content.utf8)
            seen[Int(a.id)] = true
        }
        if let hole = seen.firstIndex(of: false) {
            throw TesseraError.data(file: source, "vocabulary has no token with id \(hole) (ids must be contiguous)")
        }
        // A byte without a token of its own (SmolLM2 lacks a few control bytes) is dropped when
        // encoding, as HF tokenizers does for a BPE without unk_token; most bytes must be there.
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteIDs[b] = vocab[String(ByteLevel.byteToChar[b])] ?? -1 }
        let missing = byteIDs.filter { $0 < 0 }.count
        guard missing < 128 else {
            throw TesseraError.data(
                file: source, "vocabulary has tokens for only \(256 - missing) of the 256 bytes: not a byte-level BPE")
        }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        var idMerges: [(Int32, Int32)] = []
        idMerges.reserveCapacity(merges.count)
        for (rank, (l, r)) in merges.enumerated() {
            guard let a = vocab[l], let b = vocab[r] else {
                throw TesseraError.data(
                    file: source, "merge \(rank) \"\(l) \(r)\" uses a token missing from the vocabulary")
            }
            guard let m = vocab[l + r] else {
                throw TesseraError.data(
                    file: source, "merge \(rank) \"\(l) \(r)\" produces \"\(l + r)\", missing from the vocabulary")
            }
            let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: m)) }
            idMerges.append((a, b))
        }
        self.tokens = tokens
        self.merges = idMerges
        self.preTokenizer = preTokenizer
        self.added = added
        self.normalizeNFC = normalizeNFC
        var index = vocab
        for a in added { index[a.content] = a.id }
        vocabIndex = index
        tokenBytes = bytes
        self.byteIDs = byteIDs
        mergeTable = table
        addedBytes = added.map { (Array($0.content.utf8), $0.id) }.sorted { $0.0.count > $1.0.count }
    }

    /// Id of a token in byte-level spelling, or of an added token by its content.
    public func id(of token: String) -> Int32? { vocabIndex[token] }

    // MARK: encode

    public func encode(_ text: String) -> [Int32] {
        encode(bytes: Array((normalizeNFC ? text.precomposedStringWithCanonicalMapping : text).utf8))
    }

    public func encode(bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 3)
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            var i = 0
            // Added tokens split the text first.
            while i < b.count {
                if !addedBytes.isEmpty, let (len, id) = matchAdded(b, at: i) {
                    if start < i { encodeText(UnsafeBufferPointer(rebasing: b[start..<i]), into: &out) }
                    out.append(id)
                    i += len
                    start = i
                } else {
                    i += 1
                }
            }
            if start < b.count { encodeText(UnsafeBufferPointer(rebasing: b[start..<b.count]), into: &out) }
        }
        return out
    }

    @inline(__always)
    func matchAdded(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int, Int32)? {
        for (t, id) in addedBytes where t.count <= b.count - i && b[i] == t[0] {
            var ok = true
            for k in 1..<t.count where b[i + k] != t[k] { ok = false; break }
            if ok { return (t.count, id) }
        }
        return nil
    }

    func encodeText(_ b: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        var symbols: [Int32] = []
        preTokenizer.split(b) { r in
            let key = Array(b[r])
            if let hit = cache[key] { out.append(contentsOf: hit); return }
            symbols.removeAll(keepingCapacity: true)
            for i in r {
                let id = byteIDs[Int(b[i])]
                if id >= 0 { symbols.append(id) }
            }
            mergeWord(&symbols)
            if cache.count < 1 << 20 { cache[key] = symbols }
            out.append(contentsOf: symbols)
        }
    }

    /// Applies merges to one piece: repeatedly the lowest-ranked adjacent pair, leftmost first.
    @inline(__always)
    func mergeWord(_ s: inout [Int32]) {
        while s.count > 1 {
            var bestRank = UInt64.max, bestAt = -1, bestID: Int32 = 0
            for i in 0..<(s.count - 1) {
                let key = UInt64(UInt32(bitPattern: s[i])) << 32 | UInt64(UInt32(bitPattern: s[i + 1]))
                if let v = mergeTable[key], v >> 32 < bestRank {
                    bestRank = v >> 32
                    bestAt = i
                    bestID = Int32(bitPattern: UInt32(truncatingIfNeeded: v))
                }
            }
            if bestAt < 0 { return }
            s[bestAt] = bestID
            s.remove(at: bestAt + 1)
        }
    }

    // MARK: decode

    /// Raw bytes of ids; ids outside the vocabulary are an error naming the id.
    public func decodeBytes(_ ids: [Int32]) throws -> [UInt8] {
        var out: [UInt8] = []
        for id in ids {
            guard id >= 0, Int(id) < tokenBytes.count else {
                throw TesseraError.data(file: "ids", "token id \(id) is outside the vocabulary of \(tokenBytes.count)")
            }
            out.append(contentsOf: tokenBytes[Int(id)])
        }
        return out
    }

    /// Text of ids (invalid UTF-8 shown as U+FFFD).
    public func decode(_ ids: [Int32]) throws -> String {
        String(decoding: try decodeBytes(ids), as: UTF8.self)
    }
}
