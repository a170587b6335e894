import Foundation

/// Trains an `AlignmentProbe` on image codes with captions (`tokenize images` output) against a
/// pre-trained text LM checkpoint's frozen token embeddings, and writes what the paper's §3.2 and
/// the `pretrained+aligned` initialisation need.
public enum AlignmentTraining {
    public struct Options {
        public var steps = 1000, batch = 1024, warmup = 50, evalEvery = 100, nearest = 5
        public var lr = 1e-2, minLR = 1e-3
        public var seed: UInt64 = 1337
        /// The control probe: training captions permuted across images (stream "align/shuffle"),
        /// so nothing but caption statistics can be learned. Held-out pairs stay true.
        public var shuffleCaptions = false
        /// Function words left out of the caption-word count (C9).
        public var stopWords: Set<String> = []
        public init() {}
    }

    /// Caption token sets and their unit bag-of-words embeddings; images with empty captions are dropped.
    struct Side {
        var codes: [ArraySlice<Int32>] = []
        var text: [Float] = []
        /// Bags of tokens and of codes (sorted ids): equal keys mean equal embeddings.
        var textKeys: [[Int32]] = []
        var imageKeys: [[Int32]] = []
        var count: Int { codes.count }
    }

    static func side(
        codes: [Int32], captions: [String], per: Int, tokenizer: BPETokenizer, table: UnsafePointer<Float>, d: Int,
        permutation: [Int]? = nil
    ) -> Side {
        var s = Side()
        var sets: [ArraySlice<Int32>] = []
        for (i, c) in captions.enumerated() {
            let ids = tokenizer.encode(permutation.map { captions[$0[i]] } ?? c)
            guard !ids.isEmpty else { continue }
            sets.append(ids[...])
            s.codes.append(codes[(i * per)..<((i + 1) * per)])
            s.textKeys.append(ids.sorted())
            s.imageKeys.append(s.codes.last!.sorted())
        }
        s.text = [Float](repeating: 0, count: sets.count * d)
        s.text.withUnsafeMutableBufferPointer {
            AlignmentProbe.bagOfWords(table: table, d: d, sets: sets, out: $0.baseAddress!)
        }
        return s
    }

    /// Runs the probe; `dir` (existing, empty) receives metrics.jsonl, nearest.tsv, image_rows.safetensors
    /// and summary.json. Returns the summary.
    public static func run(
        checkpoint: String, codesDir: String, to dir: String, options o: Options, pool: Parallel,
        log: @escaping (String) -> Void
    ) throws -> AlignmentSummary {
        let ckpt = try Checkpoint.resolve(checkpoint, role: "--checkpoint")
        let model = try TrainConfig.load(json: ckpt.appendingPathComponent("config.json")).model
        let tokPath = ckpt.appendingPathComponent("tokenizer.json")
        guard FileIO.exists(tokPath) else {
            throw TesseraError.data(
                file: ckpt, "has no tokenizer.json: the probe embeds captions with the text LM's own tokenizer")
        }
        let tokenizer = try TokenizerFiles.load(tokPath)
        let d = model.dModel
        let table = try SafetensorsFile(path: ckpt.appendingPathComponent("model.safetensors")).floats(
            TransformerWeights.Global.embedding.name)
        let textRows = tokenizer.vocabSize
        guard table.count >= textRows * d else {
            throw TesseraError.data(file: ckpt, "tok_embeddings has fewer rows than the tokenizer's \(textRows)")
        }
        let m = try ImageCodes.readManifest(codesDir)
        let per = m.tokensPerImage
        var trainCaptions: [String] = []
        func load(_ split: String) throws -> Side {
            let (_, codes, captions) = try ImageCodes.load(dir: codesDir, split: split)
            var permutation: [Int]?
            if split == "train" {
                trainCaptions = captions
                if o.shuffleCaptions {
                    var p = Array(captions.indices), rng = RandomStream(seed: o.seed, name: "align/shuffle")
                    rng.shuffle(&p)
                    permutation = p
                }
            }
            return table.withUnsafeBufferPointer {
                side(
                    codes: codes, captions: captions, per: per, tokenizer: tokenizer, table: $0.baseAddress!, d: d,
                    permutation: permutation)
            }
        }
        let train = try load("train")
        let val = m.splits["val"] != nil ? try load("val") : Side()
        let n = min(o.batch, train.count)
        guard n >= 2 else {
            throw TesseraError.data(
                file: codesDir, "has \(train.count) captioned training image(s); the probe needs ≥ 2")
        }
        let probe = AlignmentProbe(
            codebookSize: m.codebookSize, dim: d, codesPerImage: per, initialRows: nil, seed: o.seed, pool: pool)
        let trainer = AlignmentTrainer(probe: probe, train: train, val: val, d: d, options: o, pool: pool)
        // The probe's own summary.json (AlignmentSummary, below) replaces the lifecycle's; a failed
        // probe leaves no directory behind (FileIO.buildDirectory), so there is no ending to record.
        _ = try RunLifecycle(runDir: dir, log: log, writesSummary: false).run { trainer }
        // Nearest text tokens of every code, as text.
        let nearest = table.withUnsafeBufferPointer {
            probe.nearestTextTokens(textTable: $0.baseAddress!, textRows: textRows, k: o.nearest)
        }
        var lines = ["code\t" + (1...o.nearest).map { "token\($0)\tcosine\($0)" }.joined(separator: "\t")]
        for (c, list) in nearest.enumerated() {
            lines.append(
                "\(c)\t"
                    + list.map { t in
                        let s = ((try? tokenizer.decode([t.token])) ?? "?").replacingOccurrences(of: "\t", with: "\\t")
                            .replacingOccurrences(of: "\n", with: "\\n")
                        return "\(s)\t" + String(format: "%.4f", t.cosine)
                    }.joined(separator: "\t"))
        }
        try FileIO.writeAtomically(
            dir.appendingPathComponent("nearest.tsv"), data: Data((lines.joined(separator: "\n") + "\n").utf8))
        let meta = [
            "source_checkpoint": ckpt, "tokenizer_hash": TokenShards.fnv1a(try FileIO.read(tokPath)),
            "image_tokenizer_hash": m.tokenizerHash, "codebook_size": String(m.codebookSize), "d_model": String(d),
        ]
        try SafetensorsWriter.write(
            path: dir.appendingPathComponent("image_rows.safetensors"),
            tensors: [
                SafetensorsTensor(
                    name: "image_embeddings", shape: [m.codebookSize, d], f32: probe.params.value("image_embeddings"))
            ],
            metadata: meta)
        let decodeOne: (Int32) -> String = { (try? tokenizer.decode([$0])) ?? "" }
        let firsts = nearest.compactMap { $0.first?.token }
        let share = AlignmentProbe.captionWordShare(
            nearest: firsts, captions: trainCaptions, vocabulary: textRows, decode: decodeOne)
        let content = AlignmentProbe.captionWordShare(
            nearest: firsts, captions: trainCaptions, vocabulary: textRows,
            stopWords: o.stopWords, decode: decodeOne)
        guard let last = trainer.last else { throw TesseraError.config("the alignment probe needs at least one step") }
        let summary = AlignmentSummary(
            last: last, checkpoint: ckpt, codes: codesDir, batch: n, trainImages: train.count,
            valImages: val.count, chanceTop1: 1 / Double(n), nearestCaptionWordShare: share.codes,
            vocabularyCaptionWordShare: share.vocabulary, captionWords: share.words,
            nearestContentWordShare: content.codes, vocabularyContentWordShare: content.vocabulary,
            contentWords: content.words, stopWords: o.stopWords.count, seed: Int(o.seed),
            shuffledCaptions: o.shuffleCaptions)
        try FileIO.writeAtomically(
            dir.appendingPathComponent("summary.json"),
            data: try MetricsLog.encoder(pretty: true).encode(summary))
        return summary
    }
}
