import ArgumentParser
import Foundation
import TesseraCore

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe what a trained model knows.",
        subcommands: [ProbeComplete.self, ProbeAlign.self, ProbeForget.self])
}

struct ProbeComplete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete",
        abstract: "Greedy completion of prompts by a checkpoint (what the model says, as in the paper's Table 1).",
        discussion: "Each --prompt is completed separately; the completion goes to stdout, one per line.")

    @Option(help: "Checkpoint directory, or a run directory.") var checkpoint: String
    @Option(help: "Prompt text (repeatable).") var prompt: [String]
    @Option(help: "Tokens to generate per prompt.") var maxNewTokens: Int = 64
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption

    func validate() throws {
        guard maxNewTokens >= 1 else { throw TesseraError.config("--max-new-tokens must be ≥ 1") }
        guard !prompt.isEmpty else { throw TesseraError.config("give at least one --prompt") }
    }

    func run() throws {
        let loaded = try LoadedCheckpoint(
            path: checkpoint, batch: 1, threads: workers.threads, seqLen: 1, precision: arithmetic.precision)
        let session = InferenceSession(
            config: loaded.config.model, params: loaded.model.params,
            maxLength: loaded.config.model.maxSeqLen, pool: loaded.model.pool, mixed: loaded.model.mixed)
        for p in prompt {
            var greedy = Sampler()
            let promptIDs = Array(loaded.encode(p).suffix(loaded.config.model.maxSeqLen - 1))
            let n = min(maxNewTokens, loaded.config.model.maxSeqLen - promptIDs.count)
            let ids = session.generate(prompt: promptIDs, maxNewTokens: n, sampler: &greedy)
            Console.out(loaded.decode(ids))
        }
    }
}

struct ProbeAlign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align",
        abstract: "Contrastive alignment of image codes with a text LM's token embeddings (paper §3.2).",
        discussion: """
            An image is the l2-normalised mean of its codes' embeddings (trained, one row per code), a caption \
            the l2-normalised mean of the checkpoint's frozen token embeddings; CLIP's symmetric cross-entropy \
            with a learnable temperature (log-scale from log(1/0.07), clamped at log 100), AdamW. --out receives \
            metrics.jsonl (loss, in-batch top-1, temperature per step; held-out figures every --eval-every), \
            nearest.tsv (each code's nearest text tokens by cosine), image_rows.safetensors (the trained rows, \
            for init.aligned) and summary.json, all at once.
            """)

    @Option(help: "Pre-trained text LM: checkpoint or run directory (its tokenizer embeds the captions).")
    var checkpoint: String
    @Option(help: "Image codes with captions (tokenize images output).") var codes: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Optimizer steps.") var steps = 1000
    @Option(help: "Image–caption pairs per batch (capped at the training set).") var batch = 1024
    @Option(help: "Peak learning rate.") var lr = 1e-2
    @Option(help: "Held-out evaluation every N steps.") var evalEvery = 100
    @Option(help: "Nearest text tokens listed per code.") var nearest = 5
    @Option(help: "Seed.") var seed: UInt64 = 1337
    @OptionGroup var workers: ThreadsOption
    @Option(
        help:
            "Stop words (one per line, # comments) left out of the caption-word count, e.g. configs/probes/stopwords-en.txt."
    )
    var stopwords: String?
    @Flag(help: "Control probe: permute the training captions across images (held-out pairs stay true).")
    var shuffleCaptions = false
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard steps >= 1, batch >= 2, lr > 0, evalEvery >= 1, nearest >= 1 else {
            throw TesseraError.config("--steps, --eval-every, --nearest ≥ 1, --batch ≥ 2 and --lr > 0 are required")
        }
    }

    func run() throws {
        try FileIO.prepareOutputDirectory(out, overwrite: overwrite)
        var o = AlignmentTraining.Options()
        o.steps = steps; o.batch = batch; o.lr = lr; o.minLR = lr / 10; o.evalEvery = evalEvery; o.nearest = nearest;
        o.seed = seed
        o.warmup = min(50, steps / 10)
        o.shuffleCaptions = shuffleCaptions
        if let stopwords { o.stopWords = try AlignmentProbe.readStopWords(stopwords) }
        let pool = Parallel(threads: workers.threads)
        let s = try FileIO.buildDirectory(out, overwrite: overwrite) {
            try AlignmentTraining.run(checkpoint: checkpoint, codesDir: codes, to: $0, options: o, pool: pool) {
                Console.log($0)
            }
        }
        Console.out(
            String(
                format: "loss %.4f, in-batch top-1 %.1f%% of %d (chance %.2f%%), temperature %.4f → %@",
                s.last.loss, 100 * s.last.accuracy, s.batch, 100 * s.chanceTop1, s.last.temperature, out)
                + (s.last.heldOut.map {
                    String(format: "; held-out loss %.4f, top-1 %.1f%% of %d", $0.loss, 100 * $0.accuracy, $0.batch)
                } ?? ""))
    }
}

struct ProbeForget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract:
            "What checkpoints still know about text (paper Table 1): completions, held-out perplexity, few-shot translation, world knowledge.",
        discussion: """
            For each --checkpoint: greedy completions (text ids only) of the paper's two prompts and any \
            --prompt; perplexity on --corpus (a text file, encoded with the checkpoint's tokenizer, or a \
            shard directory's val split); few-shot English→French accuracy on --words pairs drawn (seeded) \
            from --dictionary (scripts/data/freedict.sh), with the paper's 3-shot prompt; accuracy on the \
            --cloze items (prompt TAB answer). One JSON line per checkpoint with --json, else a table.
            """)

    @Option(help: "Checkpoint or run directory (repeatable).") var checkpoint: [String]
    @Option(help: "Held-out text (file or shard directory) for perplexity.") var corpus: String?
    @Option(help: "FreeDict eng-fra directory (freedict-eng-fra.index + .dict.dz).") var dictionary: String?
    @Option(help: "World-knowledge items, prompt TAB answer per line.") var cloze: String?
    @Option(help: "Extra prompt to complete (repeatable).") var prompt: [String] = []
    @Option(help: "Translation pairs to test.") var words = 100
    @Option(help: "Tokens of each prompt completion.") var maxNewTokens = 24
    @Option(help: "Held-out tokens for perplexity (0: all).") var tokens = 65536
    @Option(help: "Seed of the word sample.") var seed: UInt64 = 1337
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption
    @Flag(help: "One JSON line per checkpoint.") var json = false

    func validate() throws {
        guard !checkpoint.isEmpty else { throw TesseraError.config("name at least one --checkpoint") }
        guard words >= 1, maxNewTokens >= 1, tokens >= 0 else {
            throw TesseraError.config("--words, --max-new-tokens ≥ 1 and --tokens ≥ 0 are required")
        }
    }

    func run() throws {
        let pairs = try dictionary.map {
            try FreedictDictionary(dir: $0).wordPairs(count: words, seed: seed, exclude: ForgettingProbe.shotWords)
        }
        let items = try cloze.map { try ForgettingProbe.readCloze($0) }
        var table: [[String]] = []
        for path in checkpoint {
            let loaded = try LoadedCheckpoint(
                path: path, batch: 4, threads: workers.threads, precision: arithmetic.precision)
            let row = try ForgettingProbe.measure(
                loaded, prompts: prompt, maxNewTokens: maxNewTokens, corpus: corpus, tokens: tokens,
                pairs: pairs, cloze: items)
            if json { Console.out(MetricsLog.line(row)); continue }
            for c in row.completions { Console.out("\(loaded.path): \(c.prompt) ‖\(c.completion)") }
            table.append([
                loaded.path, row.perplexity.map { String(format: "%.2f", $0) } ?? "-",
                row.translationAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "-",
                row.clozeAccuracy.map { String(format: "%.1f%%", 100 * $0) } ?? "-",
            ])
        }
        if !json {
            Console.out(
                "checkpoint\tperplexity\ttranslation (\(pairs?.count ?? 0) words)\tcloze (\(items?.count ?? 0) items)")
            for r in table { Console.out(r.joined(separator: "\t")) }
        }
    }
}
