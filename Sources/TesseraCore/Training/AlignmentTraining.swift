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
        log: (String) -> Void
    ) throws -> [String: Any] {
        let ckpt = try Checkpoint.resolve(checkpoint, role: "--checkpoint")
        let model = try TrainConfig.load(json: (ckpt as NSString).appendingPathComponent("config.json")).model
        let tokPath = (ckpt as NSString).appendingPathComponent("tokenizer.json")
        guard FileIO.exists(tokPath) else {
            throw TesseraError.data(
                file: ckpt, "has no tokenizer.json: the probe embeds captions with the text LM's own tokenizer")
        }
        let tokenizer = try TokenizerFiles.load(tokPath)
        let d = model.dModel
        let table = try SafetensorsFile(path: (ckpt as NSString).appendingPathComponent("model.safetensors")).floats(
            "tok_embeddings.weight")
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
        let adam = AdamW(store: probe.params, config: AdamWConfig(beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0))
        let schedule = LRSchedule(baseLR: o.lr, minLR: o.minLR, warmupSteps: o.warmup, totalSteps: o.steps)
        let order = EpochOrder(count: train.count, seed: o.seed, name: "align/train")
        let nv = min(n, val.count)
        let scratch = FloatBuffer(count: 2 * n * n + 2 * n * d + 16)
        let text = FloatBuffer(count: n * d)
        let metrics = try FileIO.LineWriter(path: (dir as NSString).appendingPathComponent("metrics.jsonl"))
        var last: [String: Any] = [:]
        let valFloor = ContrastiveFloor.floor(
            imageKeys: Array(val.imageKeys.prefix(nv)), textKeys: Array(val.textKeys.prefix(nv)))
        var best = [Int32](repeating: 0, count: max(nv, 1))
        func evaluate() -> (loss: Double, accuracy: Double, retrieval: Double, chance: Double)? {
            guard nv >= 2 else { return nil }
            probe.params.zeroGrads()
            let r = val.text.withUnsafeBufferPointer { t in
                best.withUnsafeMutableBufferPointer {
                    probe.lossAndGradients(
                        codes: Array(val.codes.prefix(nv)), text: t.baseAddress!, scratch: scratch.pointer,
                        best: $0.baseAddress!)
                }
            }
            let ret = ContrastiveFloor.retrieval(best: best, textKeys: Array(val.textKeys.prefix(nv)))
            return (r.loss, r.accuracy, ret.hits, ret.chance)
        }
        for step in 0..<o.steps {
            var batch: [ArraySlice<Int32>] = [], imageKeys: [[Int32]] = [], textKeys: [[Int32]] = []
            batch.reserveCapacity(n); imageKeys.reserveCapacity(n); textKeys.reserveCapacity(n)
            for b in 0..<n {
                let i = order.index(step * n + b)
                batch.append(train.codes[i])
                imageKeys.append(train.imageKeys[i]); textKeys.append(train.textKeys[i])
                train.text.withUnsafeBufferPointer {
                    (text.pointer + b * d).update(from: $0.baseAddress! + i * d, count: d)
                }
            }
            probe.params.zeroGrads()
            let r = probe.lossAndGradients(codes: batch, text: text.pointer, scratch: scratch.pointer)
            guard r.loss.isFinite else {
                throw TesseraError.divergence("alignment loss is \(r.loss) at step \(step + 1)")
            }
            adam.update(lr: schedule.lr(at: step), pool: pool)
            let ls = probe.params.value("logit_scale")
            ls[0] = min(ls[0], AlignmentProbe.maxLogScale)
            var row: [String: Any] = [
                "step": step + 1, "loss": r.loss, "accuracy": r.accuracy, "temperature": probe.temperature,
                "logit_scale": Double(probe.logScale), "lr": schedule.lr(at: step),
                "loss_floor": ContrastiveFloor.floor(imageKeys: imageKeys, textKeys: textKeys),
            ]
            if (step + 1) % o.evalEvery == 0 || step + 1 == o.steps, let v = evaluate() {
                row["val_loss"] = v.loss; row["val_accuracy"] = v.accuracy; row["val_batch"] = nv
                row["val_loss_floor"] = valFloor; row["val_retrieval"] = v.retrieval;
                row["val_retrieval_chance"] = v.chance
            }
            metrics.write(MetricsLog.line(row))
            if (step + 1) % o.evalEvery == 0 || step + 1 == o.steps {
                log(
                    String(
                        format: "step %d/%d  loss %.4f  in-batch top-1 %.1f%% (chance %.2f%%)  temperature %.4f",
                        step + 1, o.steps, r.loss,
                        100 * r.accuracy, 100 / Double(n), probe.temperature)
                        + (row["val_loss"].map {
                            String(
                                format: "  val loss %.4f, top-1 %.1f%%", $0 as! Double,
                                100 * (row["val_accuracy"] as! Double))
                        } ?? ""))
            }
            last = row
        }
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
            (dir as NSString).appendingPathComponent("nearest.tsv"),
            data: Data((lines.joined(separator: "\n") + "\n").utf8))
        let meta = [
            "source_checkpoint": ckpt, "tokenizer_hash": TokenShards.fnv1a(try FileIO.read(tokPath)),
            "image_tokenizer_hash": m.tokenizerHash, "codebook_size": String(m.codebookSize), "d_model": String(d),
        ]
        try SafetensorsWriter.write(
            path: (dir as NSString).appendingPathComponent("image_rows.safetensors"),
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
        var summary = last
        summary.merge([
            "checkpoint": ckpt, "codes": codesDir, "batch": n, "train_images": train.count, "val_images": val.count,
            "chance_top1": 1 / Double(n), "nearest_caption_word_share": share.codes,
            "vocabulary_caption_word_share": share.vocabulary, "caption_words": share.words,
            "nearest_content_word_share": content.codes, "vocabulary_content_word_share": content.vocabulary,
            "content_words": content.words, "stop_words": o.stopWords.count,
            "seed": Int(o.seed), "shuffled_captions": o.shuffleCaptions,
        ]) { a, _ in a }
        try FileIO.writeAtomically(
            (dir as NSString).appendingPathComponent("summary.json"),
            data: try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys]))
        return summary
    }
}
