import Foundation

/// Tokenized corpora on disk: zstd-compressed shards of token ids plus a `manifest.json` that
/// records counts, the vocabulary size, the tokenizer's hash and every shard's checksum.
///
/// Shard payload (before zstd): magic "TSRD", u32 format version, u32 bytes per id (2 or 4),
/// u64 id count, then the ids little-endian. The checksum is FNV-1a 64 of the compressed file.
public enum TokenShards {
    public static let magic: [UInt8] = Array("TSRD".utf8)
    public static let formatVersion = 1
    public static let manifestName = "manifest.json"

    public struct Shard: Equatable {
        public var file: String
        public var tokens: Int
        public var checksum: String
    }

    public struct Split: Equatable {
        public var tokens: Int
        public var shards: [Shard]
    }

    public struct Manifest: Equatable {
        public var vocabSize: Int
        public var tokenizer: String
        public var tokenizerHash: String
        public var splits: [String: Split]
        public var sources: [[String: String]]
        /// Text-to-image shards: the id layout, and the fixed length of every sequence.
        public var layout: VocabularyLayout? = nil
        public var sequenceLength: Int? = nil
    }

    /// The tokenizer a shard folder's manifest names must be there and be the one it records: a
    /// manifest of "tokenizer.json" (what `tokenize text` and `tokenize pairs` write beside their
    /// shards) needs DIR/tokenizer.json with the recorded FNV-1a hash (else a swapped tokenizer
    /// would train and ship in every checkpoint, or text be read as bytes). Returns the
    /// tokenizer's path, or nil for shards that need none (bytes).
    @discardableResult
    public static func verifyTokenizer(dir: String, manifest m: Manifest) throws -> String? {
        guard m.tokenizer == "tokenizer.json" else { return nil }
        let path = dir.appendingPathComponent("tokenizer.json")
        guard FileIO.exists(path) else {
            throw TesseraError.data(
                file: path,
                "is missing: \(dir)/manifest.json records tokenizer \"\(m.tokenizer)\" (hash \(m.tokenizerHash)) and its ids mean nothing without it"
            )
        }
        let have = fnv1a(try FileIO.read(path))
        guard m.tokenizerHash.isEmpty || have == m.tokenizerHash else {
            throw TesseraError.data(
                file: path,
                "is not the tokenizer these shards were made with (hash \(have), manifest.json records \(m.tokenizerHash))"
            )
        }
        return path
    }

    public static func fnv1a(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        data.withUnsafeBytes { p in
            for b in p { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        return String(format: "%016llx", h)
    }

    /// Encodes ids into one compressed shard.
    public static func encodeShard(_ ids: ArraySlice<Int32>, vocabSize: Int) -> Data {
        let width = vocabSize <= 65536 ? 2 : 4
        var raw = Data(magic)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
        put(UInt32(formatVersion))
        put(UInt32(width))
        put(UInt64(ids.count))
        raw.reserveCapacity(raw.count + ids.count * width)
        if width == 2 {
            for id in ids { put(UInt16(truncatingIfNeeded: id)) }
        } else {
            for id in ids { put(UInt32(bitPattern: id)) }
        }
        return Zstd.compress(raw)
    }

    /// Decodes and checks one shard: magic, version, width, count, and every id below `vocabSize`.
    /// The frame may not claim more than `maxTokens` ids' worth of bytes (the manifest's count when
    /// known), so a forged size header cannot make it allocate gigabytes.
    public static func decodeShard(
        _ data: Data, file: String, vocabSize: Int, maxTokens: Int = 64 << 20
    ) throws -> [Int32] {
        let raw = try Zstd.decompress(data, file: file, maxBytes: 20 + 4 * maxTokens)
        guard raw.count >= 20, Array(raw.prefix(4)) == magic else {
            throw TesseraError.data(file: file, "not a Tessera token shard (bad magic)")
        }
        return try raw.withUnsafeBytes { p -> [Int32] in
            let version = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let width = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            let count = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
            guard version == formatVersion else {
                throw TesseraError.data(file: file, "shard format version \(version) is not supported")
            }
            guard width == 2 || width == 4 else {
                throw TesseraError.data(file: file, "shard id width \(width) is not 2 or 4")
            }
            guard count <= UInt64(raw.count), 20 + Int(count) * width == raw.count else {
                throw TesseraError.data(file: file, "shard says \(count) ids but holds \((raw.count - 20) / width)")
            }
            var ids = [Int32](repeating: 0, count: Int(count))
            for i in 0..<Int(count) {
                let v =
                    width == 2
                    ? Int32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 20 + 2 * i, as: UInt16.self)))
                    : Int32(
                        bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 20 + 4 * i, as: UInt32.self)))
                guard v >= 0 && Int(v) < vocabSize else {
                    throw TesseraError.data(
                        file: file, "id \(v) at position \(i) is outside the vocabulary of \(vocabSize)")
                }
                ids[i] = v
            }
            return ids
        }
    }

    // MARK: manifest

    public static func write(_ m: Manifest, to dir: String) throws {
        var splits: [String: Any] = [:]
        for (name, s) in m.splits {
            splits[name] = [
                "tokens": s.tokens,
                "shards": s.shards.map { ["file": $0.file, "tokens": $0.tokens, "checksum": $0.checksum] },
            ]
        }
        var obj: [String: Any] = [
            "format": "tessera-token-shards", "format_version": formatVersion, "vocab_size": m.vocabSize,
            "tokenizer": m.tokenizer, "tokenizer_hash": m.tokenizerHash, "splits": splits,
            "sources": m.sources,
        ]
        if let l = m.layout { obj["layout"] = l.json }
        if let n = m.sequenceLength { obj["sequence_length"] = n }
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
        try FileIO.writeAtomically(dir.appendingPathComponent(manifestName), data: data)
    }

    public static func readManifest(_ dir: String) throws -> Manifest {
        let path = dir.appendingPathComponent(manifestName)
        return try parseManifest(try FileIO.read(path), path: path)
    }

    public static func parseManifest(_ data: Data, path: String) throws -> Manifest {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TesseraError.data(file: path, "not a JSON object")
        }
        func bad(_ m: String) -> TesseraError { .data(file: path, m) }
        guard o["format"] as? String == "tessera-token-shards" else { throw bad("format is not tessera-token-shards") }
        guard o["format_version"].flatMap(JSONKeys.exactInt) == formatVersion else {
            throw bad("format_version is not \(formatVersion)")
        }
        guard let vocab = o["vocab_size"].flatMap(JSONKeys.exactInt), vocab > 0 else {
            throw bad("vocab_size is missing or not positive")
        }
        guard vocab <= SizeLimits.maxVocabulary else {
            throw bad("vocab_size \(vocab) exceeds Tessera's maximum of \(SizeLimits.maxVocabulary)")
        }
        guard let splitsAny = o["splits"] as? [String: Any] else { throw bad("splits is missing") }
        var splits: [String: Split] = [:]
        for (name, v) in splitsAny {
            guard let s = v as? [String: Any], let total = s["tokens"].flatMap(JSONKeys.exactInt),
                let shardList = s["shards"] as? [[String: Any]]
            else { throw bad("splits.\(name) needs tokens and shards") }
            var shards: [Shard] = []
            for (i, sh) in shardList.enumerated() {
                if let f = sh["file"] as? String, f.contains("/") || f == ".." {
                    throw bad("splits.\(name).shards[\(i)].file \"\(f)\" must name a file inside the shard directory")
                }
                guard let f = sh["file"] as? String, !f.contains("/"), let n = sh["tokens"].flatMap(JSONKeys.exactInt),
                    n >= 0,
                    let c = sh["checksum"] as? String
                else { throw bad("splits.\(name).shards[\(i)] needs file, tokens, checksum") }
                shards.append(Shard(file: f, tokens: n, checksum: c))
            }
            let (sum, overflow) = shards.reduce((0, false)) { acc, sh in
                let r = acc.0.addingReportingOverflow(sh.tokens); return (r.partialValue, acc.1 || r.overflow)
            }
            guard !overflow else { throw bad("splits.\(name): shard token counts overflow") }
            guard sum == total else {
                throw bad(
                    "splits.\(name).tokens (\(total)) disagrees with its shards (\(shards.reduce(0) { $0 + $1.tokens }))"
                )
            }
            splits[name] = Split(tokens: total, shards: shards)
        }
        var m = Manifest(
            vocabSize: vocab, tokenizer: o["tokenizer"] as? String ?? "",
            tokenizerHash: o["tokenizer_hash"] as? String ?? "",
            splits: splits, sources: o["sources"] as? [[String: String]] ?? [])
        if let l = o["layout"] {
            let layout = try VocabularyLayout(json: l, file: path)
            guard layout.vocabSize == vocab else {
                throw bad("layout.vocab_size \(layout.vocabSize) differs from vocab_size \(vocab)")
            }
            m.layout = layout
        }
        if let n = o["sequence_length"] {
            guard let len = JSONKeys.exactInt(n), len > 1, len <= SizeLimits.maxSequenceLength else {
                throw bad("sequence_length must be an integer in 2…\(SizeLimits.maxSequenceLength)")
            }
            for (name, s) in splits where s.tokens % len != 0 {
                throw bad("splits.\(name).tokens (\(s.tokens)) is not a whole number of \(len)-token sequences")
            }
            m.sequenceLength = len
        }
        return m
    }

    /// All ids of a split, each shard checked against the manifest (checksum, count, id range).
    public static func load(dir: String, split: String) throws -> (manifest: Manifest, ids: [Int32]) {
        let m = try readManifest(dir)
        let manifestPath = dir.appendingPathComponent(manifestName)
        guard let s = m.splits[split] else { throw TesseraError.data(file: manifestPath, "has no \"\(split)\" split") }
        // Counts are checked against the files before anything is allocated from them: zstd cannot
        // expand a file by more than 2^16 (a 3-byte block header per 128 KiB run), and the whole split
        // must fit in memory.
        for sh in s.shards {
            let path = dir.appendingPathComponent(sh.file)
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            guard sh.tokens <= (SizeLimits.bytes(size, 1 << 16) ?? Int.max) / 4 else {
                throw TesseraError.data(
                    file: manifestPath,
                    "says \(sh.file) holds \(sh.tokens) tokens, more than a \(size)-byte zstd file can")
            }
        }
        if let why = SizeLimits.memoryProblem(SizeLimits.bytes(s.tokens, 4), "the \(s.tokens) tokens of split \(split)")
        {
            throw TesseraError.data(file: manifestPath, why)
        }
        var ids: [Int32] = []
        ids.reserveCapacity(s.tokens)
        for sh in s.shards {
            let path = dir.appendingPathComponent(sh.file)
            let data = try FileIO.read(path)
            let sum = fnv1a(data)
            guard sum == sh.checksum else {
                throw TesseraError.data(file: path, "checksum \(sum) does not match the manifest's \(sh.checksum)")
            }
            let part = try decodeShard(data, file: path, vocabSize: m.vocabSize, maxTokens: sh.tokens)
            guard part.count == sh.tokens else {
                throw TesseraError.data(file: path, "holds \(part.count) ids, the manifest says \(sh.tokens)")
            }
            ids += part
        }
        return (m, ids)
    }

    /// Writes `splits` (name → ids) as shards of at most `shardTokens` ids, then the manifest last.
    public static func write(
        splits: [String: [Int32]], to dir: String, vocabSize: Int, tokenizer: String,
        tokenizerHash: String, sources: [[String: String]], shardTokens: Int = 4_000_000,
        layout: VocabularyLayout? = nil, sequenceLength: Int? = nil
    ) throws -> Manifest {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var out: [String: Split] = [:]
        for (name, ids) in splits.sorted(by: { $0.key < $1.key }) {
            var shards: [Shard] = []
            var start = 0
            repeat {
                let end = min(ids.count, start + shardTokens)
                let file = String(format: "%@-%05d.tok.zst", name, shards.count)
                let data = encodeShard(ids[start..<end], vocabSize: vocabSize)
                try FileIO.writeAtomically(dir.appendingPathComponent(file), data: data)
                shards.append(Shard(file: file, tokens: end - start, checksum: fnv1a(data)))
                start = end
            } while start < ids.count
            out[name] = Split(tokens: ids.count, shards: shards)
        }
        let m = Manifest(
            vocabSize: vocabSize, tokenizer: tokenizer, tokenizerHash: tokenizerHash, splits: out, sources: sources,
            layout: layout, sequenceLength: sequenceLength)
        try write(m, to: dir)
        return m
    }
}
