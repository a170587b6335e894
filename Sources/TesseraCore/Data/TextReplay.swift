import Foundation

/// Text replay (beyond the paper, whose §3.1 leaves forgetting open): a fraction of text-to-image
/// training rows is replaced by a window of plain text in the LM's own tokenizer, so the LM keeps
/// seeing the distribution it was pre-trained on.
///
/// Which rows: row r of the run (counted as caption dropout counts them, over steps, micro-batches
/// and rows) is replayed when a uniform draw of the stream "data/text-replay" at counter r is below
/// `fraction`; its window is drawn from the stream "data/replay" at the same counter. Both are pure
/// functions of the row, so a resumed run replays exactly the rows an uninterrupted one would.
/// The corpus's "train" split is read; `probe forget --corpus` measures perplexity on its "val".
public struct TextReplay {
    public let fraction: Double
    public let stream: TokenStream

    /// Loads `dir`'s "train" split and checks it against the text-to-image shards it joins: the same
    /// tokenizer (by hash), plain text (no pair layout), only text ids of `layout`, long enough.
    public static func load(
        dir: String, fraction: Double, seqLen: Int, pairs: TokenShards.Manifest, pairsDir: String
    ) throws -> TextReplay {
        guard let layout = pairs.layout, pairs.sources.first?["kind"] != "unconditional" else {
            throw TesseraError.config(
                "data.text_replay needs caption–image shards (tokenize pairs without --unconditional); \(pairsDir) has none"
            )
        }
        let (m, ids) = try TokenShards.load(dir: dir, split: "train")
        let manifest = dir.appendingPathComponent(TokenShards.manifestName)
        guard m.layout == nil, m.sequenceLength == nil else {
            throw TesseraError.data(
                file: manifest,
                "is text-to-image shards; data.replay_corpus must be plain text (tessera tokenize text)")
        }
        _ = try TokenShards.verifyTokenizer(dir: dir, manifest: m)
        guard m.tokenizerHash == pairs.tokenizerHash else {
            throw TesseraError.data(
                file: manifest,
                "tokenizer hash \(m.tokenizerHash) differs from \(pairsDir)'s \(pairs.tokenizerHash): replayed text must be in the captions' tokenizer"
            )
        }
        guard ids.count > seqLen else {
            throw TesseraError.data(
                file: manifest, "train split has \(ids.count) tokens, fewer than seq_len + 1 = \(seqLen + 1)")
        }
        if let top = ids.max(), Int(top) >= layout.textSize {
            throw TesseraError.data(
                file: manifest, "token id \(top) is not a text id (the layout's text ids are 0..<\(layout.textSize))")
        }
        return TextReplay(fraction: fraction, stream: TokenStream(name: "replay", tokens: ids))
    }

    public init(fraction: Double, stream: TokenStream) {
        self.fraction = fraction
        self.stream = stream
    }

    /// Whether training row `row` (counted over the whole run) is replaced by text.
    public func replaces(row: Int, seed: UInt64) -> Bool {
        RandomStream.chance(fraction, seed: seed, name: "data/text-replay", counter: row)
    }

    /// Overwrites one row with the text window of `row`.
    public func fill(
        row: Int, seqLen: Int, seed: UInt64, inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>
    ) {
        stream.fillWindow(row: row, seqLen: seqLen, seed: seed, inputs: inputs, targets: targets)
    }
}
