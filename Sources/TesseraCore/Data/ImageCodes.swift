import Foundation

/// Images tokenized by a MoVQ tokenizer: per split, zstd shards of code ids (the token-shard
/// payload, `side`² ids per image in raster order), the captions in image order, and a
/// `manifest.json` with counts, grid, codebook size, the tokenizer's path and hash, and checksums.
public enum ImageCodes {
    public static let format = "tessera-image-codes"
    public static let formatVersion = 1

    public struct Split: Equatable {
        public var images: Int
        public var shards: [TokenShards.Shard]
        public var captionsFile: String
        public var captionsChecksum: String
    }

    public struct Manifest: Equatable {
        public var gridSide: Int
        public var codebookSize: Int
        public var tokenizer: String
        public var tokenizerHash: String
        public var splits: [String: Split]
        public var tokensPerImage: Int { gridSide * gridSide }
    }

    /// Writes every split (codes, captions), then the manifest last; `dir` must exist.
    @discardableResult
    public static func write(
        _ splits: [String: (codes: [Int32], captions: [String])], to dir: String, gridSide: Int,
        codebookSize: Int, tokenizer: String, tokenizerHash: String, imagesPerShard: Int = 20_000
    ) throws -> Manifest {
        var out: [String: Split] = [:]
        let per = gridSide * gridSide
        for (name, s) in splits.sorted(by: { $0.key < $1.key }) {
            precondition(s.codes.count == s.captions.count * per)
            var shards: [TokenShards.Shard] = []
            var start = 0
            repeat {
                let end = min(s.captions.count, start + imagesPerShard)
                let file = String(format: "%@-%05d.codes.zst", name, shards.count)
                let data = TokenShards.encodeShard(s.codes[(start * per)..<(end * per)], vocabSize: codebookSize)
                try FileIO.writeAtomically(dir.appendingPathComponent(file), data: data)
                shards.append(.init(file: file, tokens: (end - start) * per, checksum: TokenShards.fnv1a(data)))
                start = end
            } while start < s.captions.count
            let captionsFile = "\(name)-captions.jsonl"
            let text = Data((s.captions.map { MetricsLog.line(["caption": $0]) }.joined(separator: "\n") + "\n").utf8)
            try FileIO.writeAtomically(dir.appendingPathComponent(captionsFile), data: text)
            out[name] = Split(
                images: s.captions.count, shards: shards, captionsFile: captionsFile,
                captionsChecksum: TokenShards.fnv1a(text))
        }
        let m = Manifest(
            gridSide: gridSide, codebookSize: codebookSize, tokenizer: tokenizer, tokenizerHash: tokenizerHash,
            splits: out)
        var splitsJSON: [String: Any] = [:]
        for (name, s) in m.splits {
            splitsJSON[name] = [
                "images": s.images, "captions": s.captionsFile, "captions_checksum": s.captionsChecksum,
                "shards": s.shards.map { ["file": $0.file, "tokens": $0.tokens, "checksum": $0.checksum] },
            ]
        }
        let obj: [String: Any] = [
            "format": format, "format_version": formatVersion, "grid": [gridSide, gridSide],
            "tokens_per_image": m.tokensPerImage, "codebook_size": codebookSize,
            "tokenizer": tokenizer, "tokenizer_hash": tokenizerHash, "splits": splitsJSON,
        ]
        try FileIO.writeAtomically(
            dir.appendingPathComponent(TokenShards.manifestName),
            data: try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]))
        return m
    }

    public static func readManifest(_ dir: String) throws -> Manifest {
        let path = dir.appendingPathComponent(TokenShards.manifestName)
        return try parseManifest(try FileIO.read(path), path: path)
    }

    public static func parseManifest(_ data: Data, path: String) throws -> Manifest {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TesseraError.data(file: path, "not a JSON object")
        }
        func bad(_ m: String) -> TesseraError { .data(file: path, m) }
        guard o["format"] as? String == format else {
            throw bad("format is not \(format) (is this an image-code directory?)")
        }
        guard o["format_version"].flatMap(JSONKeys.exactInt) == formatVersion else {
            throw bad("format_version is not \(formatVersion)")
        }
        guard let grid = o["grid"] as? [Any], grid.count == 2, let side = JSONKeys.exactInt(grid[0]), side > 0,
            JSONKeys.exactInt(grid[1]) == side
        else { throw bad("grid must be [side, side] with side > 0") }
        guard let k = o["codebook_size"].flatMap(JSONKeys.exactInt), k > 0 else {
            throw bad("codebook_size is missing or not positive")
        }
        guard k <= SizeLimits.maxVocabulary else {
            throw bad("codebook_size \(k) exceeds Tessera's maximum of \(SizeLimits.maxVocabulary)")
        }
        guard side <= 1 << 12 else { throw bad("grid side \(side) exceeds Tessera's maximum of 4096") }
        guard let splitsAny = o["splits"] as? [String: Any] else { throw bad("splits is missing") }
        var splits: [String: Split] = [:]
        for (name, v) in splitsAny {
            guard let s = v as? [String: Any], let n = s["images"].flatMap(JSONKeys.exactInt), n >= 0,
                let cf = s["captions"] as? String, !cf.contains("/"), let cs = s["captions_checksum"] as? String,
                let list = s["shards"] as? [[String: Any]]
            else { throw bad("splits.\(name) needs images, captions, captions_checksum, shards") }
            var shards: [TokenShards.Shard] = []
            for (i, sh) in list.enumerated() {
                guard let f = sh["file"] as? String, !f.contains("/"), let t = sh["tokens"].flatMap(JSONKeys.exactInt),
                    t >= 0,
                    let c = sh["checksum"] as? String
                else { throw bad("splits.\(name).shards[\(i)] needs file, tokens, checksum") }
                shards.append(.init(file: f, tokens: t, checksum: c))
            }
            guard shards.reduce(0, { $0 + $1.tokens }) == n * side * side else {
                throw bad(
                    "splits.\(name): shards hold \(shards.reduce(0) { $0 + $1.tokens }) codes, not \(n) images × \(side * side) = \(n * side * side)"
                )
            }
            splits[name] = Split(images: n, shards: shards, captionsFile: cf, captionsChecksum: cs)
        }
        return Manifest(
            gridSide: side, codebookSize: k, tokenizer: o["tokenizer"] as? String ?? "",
            tokenizerHash: o["tokenizer_hash"] as? String ?? "", splits: splits)
    }

    /// A split's codes and captions, every file checked against the manifest.
    public static func load(
        dir: String, split: String
    ) throws -> (manifest: Manifest, codes: [Int32], captions: [String]) {
        let m = try readManifest(dir)
        guard let s = m.splits[split] else {
            throw TesseraError.data(
                file: dir.appendingPathComponent(TokenShards.manifestName), "has no \"\(split)\" split")
        }
        var codes: [Int32] = []
        codes.reserveCapacity(s.images * m.tokensPerImage)
        for sh in s.shards {
            let path = dir.appendingPathComponent(sh.file)
            let data = try FileIO.read(path)
            guard TokenShards.fnv1a(data) == sh.checksum else {
                throw TesseraError.data(file: path, "checksum does not match the manifest's \(sh.checksum)")
            }
            let part = try TokenShards.decodeShard(data, file: path, vocabSize: m.codebookSize, maxTokens: sh.tokens)
            guard part.count == sh.tokens else {
                throw TesseraError.data(file: path, "holds \(part.count) codes, the manifest says \(sh.tokens)")
            }
            codes += part
        }
        let cpath = dir.appendingPathComponent(s.captionsFile)
        let cdata = try FileIO.read(cpath)
        guard TokenShards.fnv1a(cdata) == s.captionsChecksum else {
            throw TesseraError.data(file: cpath, "checksum does not match the manifest's")
        }
        var captions: [String] = []
        for (i, line) in String(decoding: cdata, as: UTF8.self).split(separator: "\n").enumerated() {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                let c = o["caption"] as? String
            else {
                throw TesseraError.data(file: cpath, "line \(i + 1) has no \"caption\"")
            }
            captions.append(c)
        }
        guard captions.count == s.images else {
            throw TesseraError.data(file: cpath, "holds \(captions.count) captions for \(s.images) images")
        }
        return (m, codes, captions)
    }
}
