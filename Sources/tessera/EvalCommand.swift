import ArgumentParser
import Foundation
import TesseraCore

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: held-out loss (default) or text generation.",
        subcommands: [EvalLoss.self, EvalGenerate.self, EvalSample.self, EvalImages.self, EvalClassifier.self],
        defaultSubcommand: EvalLoss.self)
}

struct EvalLoss: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract:
            "Held-out loss and perplexity of a checkpoint on a text corpus (`tessera eval --checkpoint DIR --corpus FILE`).",
        discussion: "--checkpoint takes a checkpoint directory or a run directory (its newest complete checkpoint).")

    @Option(help: "Checkpoint directory, or a run directory.")
    var checkpoint: String

    @Option(
        help: "UTF-8 text file (encoded with the checkpoint's tokenizer), or a token-shard directory (its val split).")
    var corpus: String

    @Option(help: "Evaluate at most this many tokens (0: all).")
    var tokens: Int = 0

    @Option(help: "Rows per forward pass.")
    var batch: Int = 8

    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption

    @Flag(help: "Print one JSON line instead of text.")
    var json = false

    func validate() throws {
        guard batch >= 1, tokens >= 0 else { throw TesseraError.config("--batch must be ≥ 1 and --tokens ≥ 0") }
    }

    func run() throws {
        let loaded = try LoadedCheckpoint(
            path: checkpoint, batch: batch, threads: workers.threads, precision: arithmetic.precision)
        var stream = TokenStream(name: "eval", tokens: try loaded.tokens(of: corpus))
        if let bad = stream.tokens.first(where: { Int($0) >= loaded.config.model.vocabSize }) {
            throw TesseraError.data(
                file: corpus, "token \(bad) is outside the model's vocabulary of \(loaded.config.model.vocabSize)")
        }
        // Text-to-image checkpoints: <pad> is never a target, and the loss splits by modality.
        let layout = try Checkpoint.layout(loaded.path)
        if let layout, FileIO.isDirectory(corpus) {
            let m = try TokenShards.readManifest(corpus)
            try layout.check(
                m.layout ?? VocabularyLayout(textSize: m.vocabSize, imageCodes: 1), mine: loaded.path + "/layout.json",
                theirs: corpus + "/manifest.json")
            stream = TokenStream(name: "eval", tokens: stream.tokens, sequenceLength: m.sequenceLength)
            if let L = m.sequenceLength, L - 1 != loaded.config.data.seqLen {
                throw TesseraError.data(
                    file: corpus + "/manifest.json",
                    "sequences of \(L) do not match the checkpoint's \(loaded.config.data.seqLen + 1)")
            }
        }
        let ignore = layout.map { $0.special("<pad>") } ?? Int32(loaded.config.data.ignoreIndex)
        let t0 = Date()
        var inputs = [Int32](repeating: 0, count: loaded.model.rows), targets = inputs
        var split: ModalityLoss?
        guard
            let loss = Evaluator.meanLoss(
                model: loaded.model, stream: stream, maxTokens: tokens, ignoreIndex: ignore,
                layout: layout, inputs: &inputs, targets: &targets, split: &split)
        else {
            throw TesseraError.data(file: corpus, "has fewer than 2 tokens")
        }
        let counted = tokens > 0 ? min(tokens, stream.count - 1) : stream.count - 1
        let bytesPerToken =
            loaded.tokenizer == nil ? 1.0 : Double((try? FileIO.read(corpus).count) ?? 0) / Double(stream.count)
        let dt = Date().timeIntervalSince(t0)
        if json {
            // Bits per byte compare models with different tokenizers (text files only).
            let bpb = bytesPerToken > 0 && !FileIO.isDirectory(corpus) ? loss / Foundation.log(2) / bytesPerToken : nil
            let row = EvaluationRow(
                checkpoint: loaded.path, corpus: corpus, tokens: split?.allCount ?? counted, seconds: dt,
                bitsPerByte: bpb, heldOut: HeldOutLoss(mean: loss, split: split))
            Console.out(MetricsLog.line(row))
        } else {
            var line = String(
                format: "val_loss %.4f  perplexity %.3f  tokens %d", loss, Foundation.exp(loss),
                split?.allCount ?? counted)
            if let t = split?.meanText, let i = split?.meanImage {
                line += String(
                    format: "  text %.4f (%d tokens)  image %.4f (%d tokens)", t, split!.textCount, i, split!.imageCount
                )
            }
            Console.out(line + String(format: "  (%@, %.1f s)", loaded.path, dt))
        }
    }
}

struct EvalGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract:
            "Complete a prompt with a KV cache: greedy by default, or temperature / top-k / top-p sampling, seeded.",
        discussion: "The completion goes to stdout; prompt and generation speed (tokens/s) to stderr.")

    @Option(help: "Checkpoint directory (from train or import), or a run directory.") var checkpoint: String
    @Option(help: "Prompt text.") var prompt: String
    @Option(help: "Tokens to generate.") var maxNewTokens: Int = 64
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption
    @Flag(help: "Print the completion's token ids instead of its text.") var ids = false

    func validate() throws {
        guard maxNewTokens >= 1 else { throw TesseraError.config("--max-new-tokens must be ≥ 1") }
    }

    func run() throws {
        let loaded = try LoadedCheckpoint(
            path: checkpoint, batch: 1, threads: workers.threads, seqLen: 1, precision: arithmetic.precision)
        let promptIDs = loaded.encode(prompt)
        guard !promptIDs.isEmpty else { throw TesseraError.config("--prompt is empty") }
        let length = min(loaded.config.model.maxSeqLen, promptIDs.count + maxNewTokens)
        guard promptIDs.count < length else {
            throw TesseraError.config(
                "the prompt (\(promptIDs.count) tokens) fills the model's context of \(loaded.config.model.maxSeqLen)")
        }
        let session = InferenceSession(
            config: loaded.config.model, params: loaded.model.params, maxLength: length,
            pool: loaded.model.pool, mixed: loaded.model.mixed)
        var sampler = Sampler(
            temperature: sampling.temperature ?? 0, topK: sampling.topK, topP: sampling.topP, seed: sampling.seed)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let logits = session.prefill(promptIDs)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let out = session.decode(from: logits, maxNewTokens: maxNewTokens, sampler: &sampler)
        let t2 = DispatchTime.now().uptimeNanoseconds
        Console.out(ids ? out.map(String.init).joined(separator: " ") : loaded.decode(out))
        Console.log(
            String(
                format: "prompt %d tokens: %.1f tokens/s; generated %d tokens: %.1f tokens/s",
                promptIDs.count, Double(promptIDs.count) / (Double(t1 - t0) / 1e9),
                out.count, Double(out.count) / (Double(max(1, t2 - t1)) / 1e9)))
    }
}

struct EvalImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract:
            "Reconstruction quality of an image tokenizer on a captioned image folder: PSNR, SSIM, code usage, perplexity.",
        discussion: """
            Images pass through the codes (encode → nearest code → decode). PSNR and SSIM are on 8-bit \
            images (SSIM as scikit-image's, Gaussian window), averaged over images; code usage is the \
            fraction of the codebook chosen at least once, perplexity exp(entropy) of the choices.
            """)

    @Option(help: "Image tokenizer: a checkpoint or run directory (tessera train, task: vq).") var tokenizer: String
    @Option(help: "Captioned image folder.") var dataset: String
    @Option(help: "Split to measure.") var split = "val"
    @Option(help: "At most this many images, in order (0: all).") var limit = 0
    @Flag(help: "Use the raw training weights even when the checkpoint has EMA weights.") var raw = false
    @Option(help: "Write originals over reconstructions of the first images to this PNG.") var grid: String?
    @Option(help: "Images in the grid.") var gridImages = 12
    @OptionGroup var workers: ThreadsOption
    @Flag(help: "One JSON line on stdout.") var json = false

    func validate() throws {
        guard limit >= 0, gridImages >= 0 else { throw TesseraError.config("--limit and --grid-images must be ≥ 0") }
    }

    func run() throws {
        let pool = Parallel(threads: workers.threads)
        let t = try ImageTokenizer(path: tokenizer, maxBatch: 32, pool: pool, useEMA: !raw)
        let set = try ImageSet.load(
            folder: try CaptionedImageFolder(dir: dataset), split: split, side: t.config.resolution, pool: pool)
        let t0 = Date()
        let r = ReconstructionReport.measure(model: t.model, set: set, limit: limit, keep: grid == nil ? 0 : gridImages)
        let dt = Date().timeIntervalSince(t0)
        if let grid { try r.grid(side: t.config.resolution).write(path: grid) }
        if json {
            var row: [String: Any] = [
                "tokenizer": t.checkpoint, "weights": t.weightsFile.lastPathComponent,
                "dataset": dataset, "split": split, "images": r.images, "mse": r.meanSquaredError,
                "psnr": r.psnr, "ssim": r.ssim, "code_usage": r.codeUsage,
                "code_perplexity": r.codePerplexity, "seconds": dt,
            ]
            if let o = r.originalConsistency, let c = r.reconstructionConsistency {
                row["consistency_originals"] = o.accuracy; row["consistency_reconstructions"] = c.accuracy
            }
            Console.out(MetricsLog.line(row))
        } else {
            Console.out(
                String(
                    format:
                        "%@ (%@) on %d %@ images of %@: PSNR %.2f dB, SSIM %.4f, codes used %.1f%% of %d, perplexity %.1f, MSE %.5f (%.1f s)",
                    t.checkpoint, t.weightsFile.lastPathComponent, r.images, split, dataset, r.psnr, r.ssim,
                    100 * r.codeUsage, t.config.nEmbed, r.codePerplexity, r.meanSquaredError, dt))
            if let o = r.originalConsistency, let c = r.reconstructionConsistency {
                Console.out("caption consistency of the originals: " + o.summary)
                Console.out("caption consistency of the reconstructions: " + c.summary)
            }
        }
    }
}
