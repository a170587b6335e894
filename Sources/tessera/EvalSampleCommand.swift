import ArgumentParser
import Foundation
import TesseraCore

struct EvalSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract:
            "Draw images for captions from a text-to-image checkpoint; a labelled PNG grid, the images, their codes and (on shapes captions) caption consistency.",
        discussion: """
            Each caption becomes the prompt <doc> <text> caption </text> <image>; the image codes are drawn \
            one by one with the KV cache, restricted to code ids, and decoded by the image tokenizer the \
            training shards were made with (or --image-tokenizer, whose weights must be the same). \
            --captions is a text file (one caption per line) or a captions.jsonl (its "val" lines when it \
            has a split field). --guidance g > 1 is classifier-free guidance; it needs a model trained with \
            data.caption_dropout. When every caption is a synthetic-shapes caption, each image's shape, \
            colour, size and position are recovered from its pixels and scored against the caption. \
            --out receives grid.png, images/, samples.jsonl and summary.json, all at once.
            """)

    @Option(help: "Text-to-image checkpoint, or a run directory (newest checkpoint).") var checkpoint: String
    @Option(help: "Captions: a text file, one per line, or a captions.jsonl.") var captions: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Image tokenizer (checkpoint or run directory); default: the one recorded in the training shards.")
    var imageTokenizer: String?
    @Option(help: "Use only the first N captions (0: all).") var limit = 0
    @Option(help: "Images per caption.") var samples = 1
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Classifier-free guidance scale (1: none).") var guidance: Float = 1
    @Option(help: "Classifier (eval classifier) for class accuracy; captions must be its class names.") var classifier:
        String?
    @Option(
        help:
            "Captioned image folder whose val images are the real reference of the Fréchet distance (with --classifier)."
    ) var reference: String?
    @Option(
        help: "Field of the --captions .jsonl rows that names each caption's class (with --classifier; e.g. category).")
    var label: String?
    @Option(help: "Images per grid row.") var columns = 8
    @Option(help: "Captions decoded side by side (1–256): each step's products then read the weights once for all.")
    var batch = 16
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption
    @Flag(help: "Replace an existing output directory.") var overwrite = false
    @Flag(help: "Print the summary as one JSON line.") var json = false

    func validate() throws {
        guard limit >= 0, samples >= 1, columns >= 1 else {
            throw TesseraError.config("--limit ≥ 0, --samples and --columns ≥ 1 are required")
        }
        guard guidance > 0, guidance.isFinite else {
            throw TesseraError.config("--guidance must be > 0")
        }
        guard (1...256).contains(batch) else { throw TesseraError.config("--batch must be 1…256, got \(batch)") }
    }

    func run() throws {
        let loaded = try LoadedCheckpoint(
            path: checkpoint, batch: 1, threads: workers.threads, seqLen: 1, precision: arithmetic.precision)
        guard let layout = try Checkpoint.layout(loaded.path) else {
            throw TesseraError.data(
                file: loaded.path,
                "is not a text-to-image checkpoint (no layout.json): train it on `tokenize pairs` shards")
        }
        if guidance != 1 && loaded.config.data.captionDropout == 0 {
            throw TesseraError.config(
                "--guidance \(guidance) needs a model trained with data.caption_dropout > 0; \(loaded.path) was trained without (use --guidance 1)"
            )
        }
        let texts = try Self.readCaptions(captions, limit: limit)
        guard label == nil || (classifier != nil && captions.hasSuffix(".jsonl")) else {
            throw TesseraError.config("--label needs --classifier and a captions.jsonl")
        }
        let classOf = try label.map { try Self.readLabels(captions, field: $0) }
        let pool = Parallel(threads: workers.threads)
        let tokenizer = try Self.imageTokenizer(
            explicit: imageTokenizer, trainData: loaded.config.data.train, pool: pool)
        guard tokenizer.config.nEmbed == layout.imageCodes else {
            throw TesseraError.data(
                file: tokenizer.checkpoint,
                "has \(tokenizer.config.nEmbed) codes but \(loaded.path)/layout.json has \(layout.imageCodes)")
        }
        let textSize = loaded.tokenizer?.vocabSize ?? 256
        guard textSize == layout.textSize else {
            throw TesseraError.data(
                file: loaded.path + "/layout.json",
                "text range [0, \(layout.textSize)) does not match the checkpoint's text tokenizer (\(textSize) ids)")
        }
        let L = loaded.config.data.seqLen + 1
        guard L - PairSequence.overhead(unconditional: false) - tokenizer.config.tokensPerImage >= 1 else {
            throw TesseraError.data(
                file: loaded.path,
                "sequences of \(L) cannot hold a caption and \(tokenizer.config.tokensPerImage) codes")
        }
        let g = TextToImageGenerator(
            config: loaded.config.model, params: loaded.model.params, layout: layout,
            codesPerImage: tokenizer.config.tokensPerImage, sequenceLength: L, guidance: guidance, pool: pool,
            bf16: loaded.model.mixed, rows: min(batch, max(1, texts.count * samples)))
        let temperature = sampling.temperature ?? 1
        let t0 = Date()
        let result = try CaptionSamples.draw(
            generator: g, tokenizer: tokenizer, captions: texts, encode: loaded.encode,
            samplesPerCaption: samples, temperature: temperature, topK: sampling.topK, topP: sampling.topP,
            seed: sampling.seed
        ) { done, total in if Console.isTerminal { Console.live("sampled \(done)/\(total)") } }
        var score: (ClassifierScore, classes: Int)?
        if let classifier {
            let (model, classes) = try ClassifierTraining.load(classifier, maxBatch: 64, pool: pool)
            var real: ImageSet?, realTrain: ImageSet?
            if let reference {
                let folder = try CaptionedImageFolder(dir: reference)
                real = try ImageSet.load(folder: folder, split: "val", side: model.side, pool: pool)
                realTrain = try ImageSet.load(folder: folder, split: "train", side: model.side, pool: pool).prefix(
                    result.items.count)
            }
            let s = try ClassifierScore.measure(
                samples: result, classifier: model, classes: classes, reference: real,
                realTrain: realTrain, file: captions, classOf: classOf)
            score = (s, classes.count)
        } else if reference != nil {
            throw TesseraError.config("--reference needs --classifier (the features come from it)")
        }
        var summary = result.summary(
            checkpoint: loaded.path, imageTokenizer: tokenizer.checkpoint, captions: captions,
            samplesPerCaption: samples, topK: sampling.topK, seed: Int(sampling.seed), temperature: Double(temperature),
            topP: Double(sampling.topP), guidance: Double(guidance), seconds: Date().timeIntervalSince(t0))
        if let classifier, let (s, classes) = score { s.record(in: &summary, classifier: classifier, classes: classes) }
        try FileIO.buildDirectory(out, overwrite: overwrite) {
            try result.write(to: $0, columns: columns, summary: summary)
        }
        if json {
            Console.out(MetricsLog.line(summary))
        } else {
            Console.out(
                String(
                    format:
                        "%d images for %d captions → %@ (%.1f codes/s with the KV cache; </image> most likely after the last code in %.0f%%)",
                    result.items.count, texts.count, out, result.tokensPerSecond, 100 * result.imageEndRate))
            if let c = result.consistency { Console.out("caption consistency: " + c.summary) }
            if let a = summary.classAccuracy, let chance = summary.classChance {
                var line = String(format: "class accuracy %.1f%% (chance %.1f%%)", 100 * a, 100 * chance)
                if let fd = summary.frechetDistance {
                    line += String(
                        format: "; Fréchet distance %.3f to the held-out images (real training images: %.3f)", fd,
                        summary.frechetDistanceRealTrain ?? .nan)
                }
                Console.out(line)
            }
        }
    }

    /// caption → the value of `field` in a captions.jsonl (the first row of a caption decides).
    static func readLabels(_ path: String, field: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let text = String(decoding: try FileIO.read(path), as: UTF8.self)
        for (n, line) in text.split(separator: "\n").enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                let c = o["caption"] as? String
            else {
                throw TesseraError.data(file: path, "line \(n + 1) is not a JSON object with a \"caption\" string")
            }
            guard let v = o[field] as? String else {
                throw TesseraError.data(file: path, "line \(n + 1) has no \"\(field)\" string (--label)")
            }
            if out[c] == nil { out[c] = v }
        }
        return out
    }

    static func readCaptions(_ path: String, limit: Int) throws -> [String] {
        let text = String(decoding: try FileIO.read(path), as: UTF8.self)
        var lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if path.hasSuffix(".jsonl") {
            var rows: [(caption: String, split: String?)] = []
            for (n, line) in lines.enumerated() {
                guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                    let c = o["caption"] as? String
                else {
                    throw TesseraError.data(file: path, "line \(n + 1) is not a JSON object with a \"caption\" string")
                }
                rows.append((c, o["split"] as? String))
            }
            let held = rows.filter { $0.split == "val" }
            lines = (held.isEmpty ? rows : held).map(\.caption)
        }
        if limit > 0 { lines = Array(lines.prefix(limit)) }
        guard !lines.isEmpty else { throw TesseraError.data(file: path, "holds no captions") }
        return lines
    }

    /// The image tokenizer: explicit, or the one the training shards' codes were made with; when
    /// both are known its weights must hash the same.
    static func imageTokenizer(explicit: String?, trainData: String, pool: Parallel) throws -> ImageTokenizer {
        let manifest = trainData + "/manifest.json"
        let source = FileIO.exists(manifest) ? try TokenShards.readManifest(trainData).sources.first : nil
        guard let path = explicit ?? source?["image_tokenizer"] else {
            throw TesseraError.config(
                "the image tokenizer is unknown (\(manifest) is gone or names none): pass --image-tokenizer RUN")
        }
        let t = try ImageTokenizer(path: path, maxBatch: 16, pool: pool)
        if let want = source?["image_tokenizer_hash"], want != t.hash {
            throw TesseraError.data(
                file: t.weightsFile, "weights hash \(t.hash) differs from \(want), which made the codes of \(manifest)")
        }
        return t
    }
}

struct EvalClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract:
            "Train the small CNN that scores samples by class (eval sample --classifier): captions are class names.",
        discussion: """
            The classes are the distinct captions of the folder's train split (e.g. Fashion-MNIST's "a photo \
            of a sneaker"); prints held-out accuracy and writes --out/classifier.safetensors and \
            classifier.json, all at once. Its pooled features give `eval sample` a Fréchet distance.
            """)

    @Option(help: "Captioned image folder whose captions (or --label field) are class names.") var dataset: String
    @Option(help: "Field of captions.jsonl that names the class (default: the caption; e.g. category).") var label:
        String?
    @Option(help: "Output directory.") var out: String
    @Option(help: "Image side the classifier reads (default: the first image's).") var side = 0
    @Option(help: "Optimizer steps.") var steps = 1500
    @Option(help: "Images per step.") var batch = 64
    @Option(help: "Channels of the first convolution (the others are 2×).") var width = 32
    @Option(help: "Peak learning rate.") var lr = 2e-3
    @Option(help: "Seed.") var seed: UInt64 = 1337
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard steps >= 1, batch >= 1, lr > 0, width >= 4, width % 4 == 0, side >= 0 else {
            throw TesseraError.config("--steps, --batch ≥ 1, --lr > 0, --width a multiple of 4 (≥ 4) are required")
        }
    }

    func run() throws {
        try FileIO.prepareOutputDirectory(out, overwrite: overwrite)
        let pool = Parallel(threads: workers.threads)
        let folder = try CaptionedImageFolder(dir: dataset)
        let s = side > 0 ? side : try folder.image(folder.items[0]).width
        let train = try ImageSet.load(folder: folder, split: "train", side: s, pool: pool, label: label)
        let val = try ImageSet.load(folder: folder, split: "val", side: s, pool: pool, label: label)
        var o = ClassifierTraining.Options()
        o.steps = steps; o.batch = batch; o.width = width; o.lr = lr; o.minLR = lr / 20; o.seed = seed
        let t0 = Date()
        let r = try ClassifierTraining.train(
            train: train, val: val, options: o, pool: pool, file: dataset + "/captions.jsonl"
        ) { Console.log($0) }
        try FileIO.buildDirectory(out, overwrite: overwrite) {
            try ClassifierTraining.save(r, to: $0, dataset: dataset, options: o)
        }
        Console.out(
            String(
                format: "%d classes, %d×%d: held-out accuracy %.2f%% on %d images (%.0f s) → %@", r.classes.count, s, s,
                100 * r.valAccuracy, r.valImages, Date().timeIntervalSince(t0), out))
    }
}
