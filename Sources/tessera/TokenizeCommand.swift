import ArgumentParser
import Foundation
import TesseraCore

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train tokenizers and turn text into token ids and back.",
        subcommands: [
            TokenizeText.self, TokenizeImages.self, TokenizePairs.self, TokenizeEncode.self, TokenizeDecode.self,
            TokenizeTrainBPE.self,
        ])
}

/// `--tokenizer`: `bytes`, a tokenizer.json, or a GPT-2 vocab.json (merges.txt beside it).
struct TokenizerOption: ParsableArguments {
    @Option(help: "bytes, a tokenizer.json, a vocab.json (merges.txt beside it), a .gguf, or a checkpoint directory.")
    var tokenizer: String = "bytes"

    func load() throws -> BPETokenizer? {
        if tokenizer == "bytes" { return nil }
        return try TokenizerFiles.load(tokenizer)
    }
}

struct TokenizeEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Read lines on stdin, print each line's token ids space-separated, one output line per input line.",
        discussion: """
            Lines split on "\\n" only. With --tokenizer bytes every byte is its own id, so any byte string \
            (invalid UTF-8, "\\r", NUL) round-trips through `tokenize decode`; a BPE tokenizer needs \
            UTF-8 text and refuses a line that is not (exit 3, naming the line and byte offset).
            """)

    @OptionGroup var tok: TokenizerOption

    func run() throws {
        let t = try tok.load()
        var lines = StdinLines()
        while let line = try lines.next() {
            let ids: [Int32]
            if let t {
                if let bad = StdinLines.invalidUTF8Offset(line) {
                    throw TesseraError.data(
                        file: "stdin",
                        "line \(lines.number): invalid UTF-8 at byte \(bad); a BPE tokenizer encodes text (use --tokenizer bytes for raw bytes)"
                    )
                }
                ids = t.encode(String(decoding: line, as: UTF8.self))
            } else {
                ids = line.map { Int32($0) }
            }
            Console.out(ids.map { String($0) }.joined(separator: " "))
        }
    }
}

struct TokenizeDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Turn ids back into text, or image codes back into PNGs.",
        discussion: """
            Text: reads lines of space-separated ids on stdin and prints each line's text. \
            Images: when --tokenizer is an image-tokenizer checkpoint (tessera train, task: vq), decodes \
            the first --count images of --split from --codes DIR (made by `tokenize images`), or else \
            each stdin line of side² codes, to PNGs in --out (plus grid.png).
            """)

    @OptionGroup var tok: TokenizerOption
    @Option(help: "Image codes directory (tokenize images output).") var codes: String?
    @Option(help: "Split of --codes to decode.") var split = "val"
    @Option(help: "Images to decode from --codes (0: all).") var count = 16
    @Option(help: "Output folder for decoded PNGs.") var out: String?
    @Flag(help: "Replace an existing --out folder.") var overwrite = false

    func validate() throws {
        guard count >= 0 else { throw TesseraError.config("--count must be ≥ 0") }
    }

    func run() throws {
        if FileIO.isDirectory(tok.tokenizer), (try? ImageTokenizer.isImageTokenizer(tok.tokenizer)) == true {
            try decodeImages()
            return
        }
        guard codes == nil, out == nil else {
            throw TesseraError.config("--codes/--out need an image tokenizer (a task: vq checkpoint) as --tokenizer")
        }
        let t = try tok.load()
        var n = 0
        while let line = readLine(strippingNewline: true) {
            n += 1
            let ids = try line.split(separator: " ").map { s -> Int32 in
                guard let v = Int32(s) else {
                    throw TesseraError.data(file: "stdin", "line \(n): \"\(s)\" is not a token id")
                }
                return v
            }
            if let t {
                Console.outBytes(try t.decodeBytes(ids) + [10])
            } else {
                guard let bad = ids.first(where: { $0 < 0 || $0 > 255 }) else {
                    Console.outBytes(ids.map { UInt8($0) } + [10])
                    continue
                }
                throw TesseraError.data(file: "stdin", "line \(n): id \(bad) is not a byte (0–255)")
            }
        }
    }
}

extension TokenizeDecode {
    func decodeImages() throws {
        guard let out else { throw TesseraError.config("--out DIR is required to decode images") }
        let pool = Parallel(threads: ProcessInfo.processInfo.activeProcessorCount)
        let t = try ImageTokenizer(path: tok.tokenizer, maxBatch: 16, pool: pool)
        let per = t.config.tokensPerImage
        var grids: [Int32] = [], captions: [String] = []
        if let codes {
            let loaded = try ImageCodes.load(dir: codes, split: split)
            guard loaded.manifest.tokensPerImage == per, loaded.manifest.codebookSize == t.config.nEmbed else {
                throw TesseraError.config(
                    "\(codes) holds \(loaded.manifest.gridSide)² grids of \(loaded.manifest.codebookSize) codes; \(tok.tokenizer) makes \(t.config.gridSide)² of \(t.config.nEmbed)"
                )
            }
            if loaded.manifest.tokenizerHash != t.hash {
                Console.log(
                    "note: \(codes) was made by a tokenizer with hash \(loaded.manifest.tokenizerHash), this one is \(t.hash)"
                )
            }
            let n = count == 0 ? loaded.captions.count : min(count, loaded.captions.count)
            grids = Array(loaded.codes.prefix(n * per)); captions = Array(loaded.captions.prefix(n))
        } else {
            var line = 0
            while let text = readLine(strippingNewline: true) {
                line += 1
                let ids = try text.split(separator: " ").map { s -> Int32 in
                    guard let v = Int32(s) else {
                        throw TesseraError.data(file: "stdin", "line \(line): \"\(s)\" is not a code")
                    }
                    return v
                }
                guard ids.count == per else {
                    throw TesseraError.data(file: "stdin", "line \(line) has \(ids.count) codes; a grid has \(per)")
                }
                grids += ids; captions.append("stdin line \(line)")
            }
        }
        let images = try t.decode(grids, count: captions.count)
        let side = t.config.resolution
        try FileIO.buildDirectory(out, overwrite: overwrite) { dir in
            var lines: [String] = []
            for (i, img) in images.enumerated() {
                let file = String(format: "%05d.png", i)
                try ImageTokenizer.image(img, side: side).write(path: dir.appendingPathComponent(file), durable: false)
                lines.append(MetricsLog.line(["file": file, "caption": captions[i], "split": "val"]))
            }
            if !images.isEmpty {
                try ImageMetrics.grid(
                    originals: Array(images.prefix(8)), reconstructions: Array(images.dropFirst(8).prefix(8)),
                    side: side
                )
                .write(path: dir.appendingPathComponent("grid.png"), durable: false)
            }
            try FileIO.writeAtomically(
                dir.appendingPathComponent("captions.jsonl"), data: Data((lines.joined(separator: "\n") + "\n").utf8))
        }
        Console.log("decoded \(images.count) image(s) → \(out)")
    }
}

struct TokenizeImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Encode a captioned image folder to code grids with a trained image tokenizer.",
        discussion: """
            Writes, per split, zstd shards of codes (side² per image, raster order), the captions in image \
            order and manifest.json (counts, grid, codebook size, tokenizer path and hash, checksums). \
            The output appears only when complete.
            """)

    @Option(help: "Image tokenizer: a checkpoint directory or a run directory (tessera train, task: vq).")
    var tokenizer: String
    @Option(help: "Captioned image folder (captions.jsonl + images).") var dataset: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Images per forward pass.") var batch = 32
    @OptionGroup var workers: ThreadsOption
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard batch >= 1 else { throw TesseraError.config("--batch must be ≥ 1") }
    }

    func run() throws {
        let pool = Parallel(threads: workers.threads)
        let t = try ImageTokenizer(path: tokenizer, maxBatch: batch, pool: pool)
        let folder = try CaptionedImageFolder(dir: dataset)
        var splits: [String: (codes: [Int32], captions: [String])] = [:]
        let t0 = Date()
        var total = 0
        for name in Set(folder.items.map(\.split)).sorted() {
            let set = try ImageSet.load(folder: folder, split: name, side: t.config.resolution, pool: pool)
            let codes = t.encode(set) { if Console.isTerminal { Console.live("\(name): \($0)/\(set.count) images") } }
            splits[name] = (codes, set.captions)
            total += set.count
        }
        let dt = Date().timeIntervalSince(t0)
        let m = try FileIO.buildDirectory(out, overwrite: overwrite) {
            try ImageCodes.write(
                splits, to: $0, gridSide: t.config.gridSide, codebookSize: t.config.nEmbed,
                tokenizer: t.checkpoint, tokenizerHash: t.hash)
        }
        let counts = m.splits.sorted { $0.key > $1.key }.map { "\($0.value.images) \($0.key)" }.joined(separator: ", ")
        Console.log(
            String(
                format: "encoded %@ images (%d×%d codes each) in %.1f s (%.1f images/s) → %@", counts,
                m.gridSide, m.gridSide, dt, Double(total) / max(dt, 1e-9), out))
    }
}

struct TokenizePairs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs",
        abstract: "Caption + image-code sequences for text-to-image training.",
        discussion: """
            Each image of --codes (tokenize images output) becomes one sequence of exactly --seq-len ids: \
            <doc> <text> caption </text> <image> codes </image> </doc> <pad>…, or with --unconditional \
            <doc> <image> codes </image> </doc> <pad>…. Ids: text tokens [0, T), image code k → T + k, \
            then the 7 structure tokens, the vocabulary padded to a multiple of 64; manifest.json records \
            this layout and the sequence length. Captions longer than the budget are cut and counted.
            """)

    @OptionGroup var tok: TokenizerOption
    @Option(help: "Image-code directory (tokenize images output).") var codes: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Length of every sequence.") var seqLen: Int
    @Flag(help: "Image-only sequences (no caption).") var unconditional = false
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard seqLen >= 2 && seqLen <= SizeLimits.maxSequenceLength else {
            throw TesseraError.config("--seq-len \(seqLen) must be in 2…\(SizeLimits.maxSequenceLength)")
        }
    }

    func run() throws {
        let text = try tok.load()
        let r = try FileIO.buildDirectory(out, overwrite: overwrite) {
            try PairShards.write(
                codesDir: codes, text: text, textSource: tok.tokenizer, to: $0, seqLen: seqLen,
                unconditional: unconditional)
        }
        let layout = r.manifest.layout!
        Console.log("layout: " + layout.summary)
        for (name, split) in r.manifest.splits.sorted(by: { $0.key > $1.key }) {
            let st = r.captionTokens[name]!
            if unconditional {
                Console.log("\(name): \(split.tokens / seqLen) image-only sequences of \(seqLen)")
                continue
            }
            Console.log(
                String(
                    format: "%@: %d sequences of %d; caption tokens mean %.1f, max %d; %d caption(s) cut to fit",
                    name, split.tokens / seqLen, seqLen, st.mean, st.max, r.truncated[name] ?? 0))
        }
        Console.log("→ \(out)")
    }
}

struct TokenizeTrainBPE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-bpe",
        abstract:
            "Learn a byte-level BPE of a chosen vocabulary size from text files; writes an HF-compatible tokenizer.json."
    )

    @Option(name: .customLong("in"), help: "UTF-8 text file (repeatable).") var inputs: [String]
    @Option(help: "Vocabulary size, special tokens included.") var vocabSize: Int
    @Option(help: "Output tokenizer.json.") var out: String
    @Option(help: "Pre-tokenizer: gpt2, or smollm (digits split one by one).") var preTokenizer: String = "gpt2"
    @Option(help: "Special token appended to the vocabulary (repeatable).") var special: [String] = []
    @Option(help: "Stop when the best pair occurs fewer times.") var minFrequency: Int = 2

    func validate() throws {
        guard minFrequency >= 1 else { throw TesseraError.config("--min-frequency must be ≥ 1") }
    }

    func run() throws {
        guard !inputs.isEmpty else { throw TesseraError.config("give at least one --in FILE") }
        guard let pre = PreTokenizer(rawValue: preTokenizer) else {
            throw TesseraError.config("--pre-tokenizer \(preTokenizer): expected gpt2 or smollm")
        }
        let texts = try inputs.map { [UInt8](try FileIO.read($0)) }
        let t0 = Date()
        let t = try BPETrainer.train(
            texts: texts, vocabSize: vocabSize, preTokenizer: pre, specialTokens: special,
            minFrequency: minFrequency)
        try TokenizerFiles.save(t, to: out)
        Console.log(
            String(
                format: "trained %d tokens (%d merges) on %d bytes in %.1f s → %@",
                t.vocabSize, t.merges.count, texts.reduce(0) { $0 + $1.count }, Date().timeIntervalSince(t0), out))
    }
}

struct TokenizeText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Tokenize text files into zstd token shards with a manifest, ready for `train` (data.train: DIR).",
        discussion: """
            Each input's last --val-fraction of tokens goes to the "val" split, the rest to "train", so \
            every source is represented in both. The output directory receives train-NNNNN.tok.zst, \
            val-NNNNN.tok.zst, tokenizer.json (the tokenizer, rewritten in HF format) and manifest.json \
            (counts, vocabulary size, tokenizer hash, checksums), written last.
            """)

    @Option(help: "tokenizer.json, vocab.json (merges.txt beside it), .gguf, or a checkpoint directory.") var tokenizer:
        String
    @Option(name: .customLong("in"), help: "UTF-8 text file (repeatable).") var inputs: [String]
    @Option(help: "Output directory.") var out: String
    @Option(help: "Fraction of each input held out.") var valFraction: Double = 0.05
    @Option(help: "Token appended after each input (e.g. \"<|endoftext|>\"); must be in the vocabulary.") var separator:
        String?
    @Option(help: "Ids per shard.") var shardTokens: Int = 4_000_000
    @Flag(help: "Replace an existing output directory.") var overwrite = false

    func validate() throws {
        guard valFraction >= 0, valFraction < 1 else { throw TesseraError.config("--val-fraction must be in [0, 1)") }
        guard shardTokens >= 1 else { throw TesseraError.config("--shard-tokens must be ≥ 1") }
    }

    func run() throws {
        guard !inputs.isEmpty else { throw TesseraError.config("give at least one --in FILE") }
        try FileIO.prepareOutputDirectory(out, overwrite: overwrite)
        let tok = try TokenizerFiles.load(tokenizer)
        var sep: Int32?
        if let separator {
            guard let id = tok.id(of: separator) else {
                throw TesseraError.config("--separator \(separator) is not a token of \(tokenizer)")
            }
            sep = id
        }
        var train: [Int32] = [], val: [Int32] = []
        var sources: [[String: String]] = []
        let t0 = Date()
        var bytes = 0
        for f in inputs {
            let data = [UInt8](try FileIO.read(f))
            bytes += data.count
            var ids = tok.encode(bytes: data)
            if let sep { ids.append(sep) }
            let cut = ids.count - Int(Double(ids.count) * valFraction)
            train += ids[..<cut]
            val += ids[cut...]
            sources.append(["file": f, "bytes": String(data.count), "tokens": String(ids.count)])
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let tokPath = out.appendingPathComponent("tokenizer.json")
        try TokenizerFiles.save(tok, to: tokPath)
        let m = try TokenShards.write(
            splits: ["train": train, "val": val], to: out, vocabSize: tok.vocabSize,
            tokenizer: "tokenizer.json", tokenizerHash: TokenShards.fnv1a(try FileIO.read(tokPath)),
            sources: sources, shardTokens: shardTokens)
        Console.log(
            String(
                format: "%d bytes → %d train + %d val tokens (vocabulary %d) in %.1f s → %@",
                bytes, m.splits["train"]!.tokens, m.splits["val"]!.tokens, m.vocabSize, Date().timeIntervalSince(t0),
                out))
    }
}
