import Foundation

/// A flat sequence of token ids with random-access batches.
///
/// Training windows are drawn at offsets from the named stream "data/<name>" whose counter is
/// derived from (step, micro-batch, row): a batch is a pure function of the step, so resuming at
/// step s reads exactly the batches an uninterrupted run would. Held-out windows are read in order.
public struct TokenStream {
    public let name: String
    public let tokens: [Int32]
    /// Set for text-to-image shards (`tokenize pairs`): the stream is whole sequences of this
    /// length, and a row is one sequence (inputs its first L − 1 ids, targets its last L − 1),
    /// never a window across two. Training visits them in seeded per-epoch permutations.
    public let sequenceLength: Int?
    /// Training order of the sequences (seeded per run when first used).
    private let orders = OrderCache()

    public init(name: String, tokens: [Int32], sequenceLength: Int? = nil) {
        precondition(sequenceLength.map { $0 > 1 && tokens.count % $0 == 0 } ?? true)
        self.name = name
        self.tokens = tokens
        self.sequenceLength = sequenceLength
    }

    public var sequences: Int { sequenceLength.map { tokens.count / $0 } ?? 0 }

    /// UTF-8 bytes of a text file as tokens 0–255 (until the BPE tokenizer lands).
    public static func bytes(of path: String) throws -> [Int32] {
        let data = try FileIO.read(path)
        guard !data.isEmpty else { throw TesseraError.data(file: path, "file is empty") }
        return data.map { Int32($0) }
    }

    /// The train and held-out streams a config asks for. `data.train` is either a directory of
    /// token shards (`tessera tokenize text`; its "train" and "val" splits, checksums verified) or
    /// a text file whose bytes are the tokens, held out by a separate file or a fixed tail split.
    public static func load(
        _ d: TrainConfig.DataSection
    ) throws -> (train: TokenStream, val: TokenStream, shards: TokenShards.Manifest?) {
        if FileIO.isDirectory(d.train) {
            let (m, train) = try TokenShards.load(dir: d.train, split: "train")
            let valDir = d.val.isEmpty ? d.train : d.val
            let (vm, val) = try TokenShards.load(dir: valDir, split: "val")
            guard vm.tokenizerHash == m.tokenizerHash else {
                throw TesseraError.data(
                    file: valDir,
                    "held-out shards use tokenizer \(vm.tokenizerHash), the training shards \(m.tokenizerHash)")
            }
            if let l = m.layout {
                try l.check(vm.layout ?? l, mine: d.train + "/manifest.json", theirs: valDir + "/manifest.json")
            }
            guard vm.sequenceLength == m.sequenceLength else {
                throw TesseraError.data(
                    file: valDir + "/manifest.json",
                    "sequence_length \(vm.sequenceLength.map(String.init) ?? "none") differs from \(d.train)'s \(m.sequenceLength.map(String.init) ?? "none")"
                )
            }
            if let L = m.sequenceLength, d.seqLen != L - 1 {
                throw TesseraError.config(
                    "data.seq_len (\(d.seqLen)) must be \(L - 1): \(d.train) holds sequences of \(L) ids (inputs are the first \(L - 1), targets the last \(L - 1))"
                )
            }
            return (
                TokenStream(name: "train", tokens: train, sequenceLength: m.sequenceLength),
                TokenStream(name: "val", tokens: val, sequenceLength: m.sequenceLength), m
            )
        }
        let train = try bytes(of: d.train)
        if !d.val.isEmpty {
            return (
                TokenStream(name: "train", tokens: train), TokenStream(name: "val", tokens: try bytes(of: d.val)), nil
            )
        }
        let cut = Int(Double(train.count) * (1 - d.valFraction))
        return (
            TokenStream(name: "train", tokens: Array(train[..<cut])),
            TokenStream(name: "val", tokens: Array(train[cut...])), nil
        )
    }

    public var count: Int { tokens.count }

    /// Fills `rows` windows of `seqLen` inputs and their next-token targets for optimizer step
    /// `step`, micro-batch `micro` (of `accumulation`).
    /// `captionDropout` (sequence mode only) drops the caption of that fraction of sequences.
    public func fillTraining(
        step: Int, micro: Int, accumulation: Int, rows: Int, seqLen: Int, seed: UInt64,
        captionDropout: CaptionDropout? = nil,
        inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>
    ) {
        if let L = sequenceLength {
            precondition(seqLen == L - 1)
            tokens.withUnsafeBufferPointer { src in
                let order = orders.order(count: sequences, seed: seed, name: "data/" + name)
                for b in 0..<rows {
                    let row = (step * accumulation + micro) * rows + b
                    let s = order.index(row)
                    (inputs + b * seqLen).update(from: src.baseAddress! + s * L, count: seqLen)
                    (targets + b * seqLen).update(from: src.baseAddress! + s * L + 1, count: seqLen)
                    if let d = captionDropout, d.drops(row: row, seed: seed) {
                        d.dropCaption(inputs: inputs + b * seqLen, targets: targets + b * seqLen, count: seqLen)
                    }
                }
            }
            return
        }
        for b in 0..<rows {
            fillWindow(
                row: (step * accumulation + micro) * rows + b, seqLen: seqLen, seed: seed, inputs: inputs + b * seqLen,
                targets: targets + b * seqLen)
        }
    }

    /// Plain text: training row `row`'s window, at an offset drawn from the stream "data/<name>"
    /// at counter `row`.
    public func fillWindow(
        row: Int, seqLen: Int, seed: UInt64, inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>
    ) {
        let span = tokens.count - seqLen - 1
        var rng = RandomStream(seed: seed, name: "data/" + name, counter: UInt64(row))
        let o = span > 0 ? rng.int(below: span + 1) : 0
        tokens.withUnsafeBufferPointer { src in
            inputs.update(from: src.baseAddress! + o, count: seqLen)
            targets.update(from: src.baseAddress! + o + 1, count: seqLen)
        }
    }

    /// Number of consecutive non-overlapping windows for evaluation (each needs seqLen + 1 tokens;
    /// the last is partial when the stream does not divide evenly).
    public func evalWindows(seqLen: Int, maxTokens: Int) -> Int {
        if sequenceLength != nil { return maxTokens > 0 ? min(sequences, max(1, maxTokens / seqLen)) : sequences }
        let usable = maxTokens > 0 ? min(tokens.count - 1, maxTokens) : tokens.count - 1
        return max(0, (usable + seqLen - 1) / seqLen)
    }

    /// Window w of the in-order evaluation pass; positions past the end get `ignore` targets
    /// (and token 0 inputs).
    public func fillEval(
        window w: Int, seqLen: Int, maxTokens: Int, ignore: Int32,
        inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>
    ) {
        if let L = sequenceLength {
            for t in 0..<seqLen { inputs[t] = tokens[w * L + t]; targets[t] = tokens[w * L + t + 1] }
            return
        }
        let limit = maxTokens > 0 ? min(tokens.count - 1, maxTokens) : tokens.count - 1
        let start = w * seqLen
        for t in 0..<seqLen {
            let i = start + t
            inputs[t] = i < limit ? tokens[i] : 0
            targets[t] = i < limit ? tokens[i + 1] : ignore
        }
    }
}

/// Holds a stream's `EpochOrder` once its seed is known (streams are values; the order is shared state).
final class OrderCache: @unchecked Sendable {
    private var cached: EpochOrder?
    func order(count: Int, seed: UInt64, name: String) -> EpochOrder {
        if let c = cached, c.seed == seed { return c }
        let o = EpochOrder(count: count, seed: seed, name: name)
        cached = o
        return o
    }
}
