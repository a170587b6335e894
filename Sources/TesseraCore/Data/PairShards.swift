import Foundation

/// Builds text-to-image training shards from image codes (`tokenize images`) and a text tokenizer:
/// one fixed-length `PairSequence` per image, every split kept, the layout and sequence length in
/// the manifest, the text tokenizer copied beside the shards.
public enum PairShards {
    public struct Result {
        public let manifest: TokenShards.Manifest
        /// Captions cut to fit, per split.
        public let truncated: [String: Int]
        public let captionTokens: [String: (mean: Double, max: Int)]
    }

    /// `text` nil means bytes (ids 0–255). `dir` must exist and be empty.
    public static func write(
        codesDir: String, text: BPETokenizer?, textSource: String, to dir: String, seqLen: Int,
        unconditional: Bool
    ) throws -> Result {
        let m = try ImageCodes.readManifest(codesDir)
        let layout = VocabularyLayout(textSize: text?.vocabSize ?? 256, imageCodes: m.codebookSize)
        let need = m.tokensPerImage + PairSequence.overhead(unconditional: unconditional) + (unconditional ? 0 : 1)
        guard seqLen >= need else {
            throw TesseraError.config(
                "--seq-len \(seqLen) cannot hold \(m.tokensPerImage) codes, the \(PairSequence.overhead(unconditional: unconditional)) structure tokens\(unconditional ? "" : " and one caption token") (needs ≥ \(need))"
            )
        }
        var splits: [String: [Int32]] = [:], truncated: [String: Int] = [:], stats: [String: (Double, Int)] = [:]
        for name in m.splits.keys.sorted() {
            let s = try ImageCodes.load(dir: codesDir, split: name)
            var ids: [Int32] = []
            ids.reserveCapacity(s.captions.count * seqLen)
            var cut = 0, total = 0, longest = 0
            for (i, caption) in s.captions.enumerated() {
                let c = text?.encode(caption) ?? caption.utf8.map { Int32($0) }
                total += c.count; longest = max(longest, c.count)
                let codes = s.codes[(i * m.tokensPerImage)..<((i + 1) * m.tokensPerImage)]
                let (seq, t) = PairSequence.make(
                    caption: c, codes: codes, layout: layout, seqLen: seqLen, unconditional: unconditional)
                if t { cut += 1 }
                ids += seq
            }
            splits[name] = ids
            truncated[name] = unconditional ? 0 : cut
            stats[name] = (Double(total) / Double(max(1, s.captions.count)), longest)
        }
        var tokenizerName = "bytes", tokenizerHash = "bytes"
        if let text {
            let path = dir.appendingPathComponent("tokenizer.json")
            try TokenizerFiles.save(text, to: path)
            tokenizerName = "tokenizer.json"
            tokenizerHash = TokenShards.fnv1a(try FileIO.read(path))
        }
        var source: [String: String] = [
            "kind": unconditional ? "unconditional" : "pairs", "codes": codesDir,
            "image_tokenizer": m.tokenizer, "image_tokenizer_hash": m.tokenizerHash,
            "text_tokenizer": textSource, "grid": "\(m.gridSide)x\(m.gridSide)",
        ]
        for (k, v) in truncated { source["captions_truncated_\(k)"] = String(v) }
        let manifest = try TokenShards.write(
            splits: splits, to: dir, vocabSize: layout.vocabSize, tokenizer: tokenizerName,
            tokenizerHash: tokenizerHash, sources: [source], layout: layout, sequenceLength: seqLen)
        return Result(
            manifest: manifest, truncated: truncated, captionTokens: stats.mapValues { (mean: $0.0, max: $0.1) })
    }
}
