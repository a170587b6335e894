import Foundation
import TesseraCore
import Testing

/// The image tokenizer's training loop, CLI and code files, end to end.
@Suite struct VQTrainingTests {
    static func tinyConfig(
        _ extra: [String: Any] = [:], steps: Int = 6, cpuFlags: Set<String>? = BLASKernel.cpuFlags()
    ) throws -> VQTrainConfig {
        var tree: [String: Any] = [
            "task": "vq", "seed": 7, "threads": 2,
            "model": [
                "resolution": 8, "ch": 8, "ch_mult": [1, 2], "num_res_blocks": 1, "attn_resolutions": [4],
                "n_embed": 16, "norm_groups": 4,
            ],
            "data": ["shapes": ["count": 40, "val_count": 8]],
            "optim": ["steps": steps, "batch": 4, "lr": 1e-3],
            "codebook": ["restart_every": 2], "ema": ["decay": 0.9], "eval": ["every": 3, "grid": 2],
            "checkpoint": ["every": 3],
        ]
        for (k, v) in extra { tree[k] = v }
        let reader = ConfigReader(tree: tree, file: "test")
        reader.cpuFlags = cpuFlags
        return try VQTrainConfig(reader: reader)
    }

    static func losses(_ dir: String) throws -> [String] {
        try MetricsLog.rows(dir + "/metrics.jsonl", as: VQStepRow.self).map { r in
            [
                r.loss, r.reconstructionLoss, r.vqLoss, r.gradNorm, r.generatorAdversarialLoss, r.discriminatorLoss,
                r.heldOut?.psnr,
                r.heldOut?.ssim,
            ].map { $0.map { "\($0)" } ?? "-" }.joined(separator: " ")
        }
    }

    /// Stopping at a checkpoint and resuming gives the same numbers as one uninterrupted run:
    /// weights, Adam moments, EMA, code usage and the data order all survive the checkpoint.
    @Test(arguments: [false, true])
    func resumeIsBitIdentical(gan: Bool) throws {
        let c = try Self.tinyConfig(gan ? ["gan": ["weight": 0.1, "ndf": 8, "layers": 1]] : [:])
        let a = tempDirectory("vq-a"), b = tempDirectory("vq-b")
        for d in [a, b] { try RunDirectory.create(d, configJSON: c.json, overwrite: true) }
        _ = try VQTrainer(config: c, runDir: a, resume: false).run()
        let first = try VQTrainer(config: c, runDir: b, resume: false)
        first.stopRequested = { first.step == 3 ? 15 : nil }
        #expect(throws: TesseraError.self) { _ = try first.run() }
        _ = try VQTrainer(config: c, runDir: b, resume: true).run()
        let la = try Self.losses(a), lb = try Self.losses(b)
        #expect(la.count == 6 && la == lb)
        #expect(
            gan
                == (try MetricsLog.rows(a + "/metrics.jsonl", as: VQStepRow.self)).allSatisfy {
                    $0.discriminatorLoss != nil
                })
        #expect(FileIO.exists(a + "/samples/recon_step_00000006.png"))
    }

    /// oneDNN's weight gradients sum in an order set by the thread count, so a resume keeps a
    /// oneDNN run's count; an im2col run (Tessera's GEMM blocks) may change it.
    @Test(arguments: [ConvolutionEngine.auto, .onednn, .im2col])
    func aResumeKeepsTheThreadCountOnOneDNN(engine: ConvolutionEngine) throws {
        let c = try Self.tinyConfig(["convolutions": engine.rawValue])
        let dir = tempDirectory("vq-threads")
        try RunDirectory.create(dir, configJSON: c.json, overwrite: true)
        #expect(try RunConfig.forResume(dir, given: nil, threads: 2, allowChange: false).threads == 2)
        #expect(try RunConfig.forResume(dir, given: nil, threads: 1, allowChange: true).threads == 1)
        if engine == .im2col {
            #expect(try RunConfig.forResume(dir, given: nil, threads: 1, allowChange: false).threads == 1)
        } else {
            do {
                _ = try RunConfig.forResume(dir, given: nil, threads: 1, allowChange: false)
                Issue.record("\(engine): a resume on 1 thread of a 2-thread oneDNN run was accepted")
            } catch {
                #expect("\(error)".contains("ran on 2 thread(s)"), "\(error)")
            }
        }
    }

    /// configs/vq-smoke.yaml through the CLI: held-out PSNR rises; the run then tokenizes a folder
    /// and decodes the codes back to PNGs that match its own reconstructions.
    @Test func smokeConfigTrainsTokenizesAndDecodes() throws {
        let root = tempDirectory("vq-smoke"), run = root + "/run"
        let r = try runTessera(["train", "--config", "configs/vq-smoke.yaml", "--run-dir", run], cwd: packageRoot)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try MetricsLog.rows(run + "/metrics.jsonl", as: VQStepRow.self)
        let psnr = rows.compactMap { $0.heldOut?.psnr }
        #expect(psnr.count == 3 && psnr.last! > psnr.first! + 1, "held-out PSNR \(psnr)")
        let usage = rows.compactMap { $0.heldOut?.codeUsage }.last!
        #expect(usage >= 0.5, "code usage \(usage)")

        let data = root + "/shapes", codes = root + "/codes", decoded = root + "/decoded"
        #expect(
            try runTessera(["data", "shapes", "--out", data, "--count", "24", "--val", "8", "--size", "16"]).status == 0
        )
        let t = try runTessera(["tokenize", "images", "--tokenizer", run, "--dataset", data, "--out", codes])
        #expect(t.status == 0, "\(t.stderr)")
        let loaded = try ImageCodes.load(dir: codes, split: "val")
        #expect(loaded.captions.count == 8 && loaded.codes.count == 8 * 16 && loaded.manifest.codebookSize == 64)
        let d = try runTessera([
            "tokenize", "decode", "--tokenizer", run, "--codes", codes, "--count", "3", "--out", decoded,
        ])
        #expect(d.status == 0, "\(d.stderr)")
        // The decoded PNG equals the tokenizer's own decode of those codes.
        let tok = try ImageTokenizer(path: run, maxBatch: 4, pool: Parallel(threads: 1))
        let mine = try tok.decode(Array(loaded.codes.prefix(16)), count: 1)[0]
        let png = try RGBImage.read(path: decoded + "/00000.png")
        #expect(ImageSet.chw(png, side: 16) == mine)
        #expect(FileIO.exists(decoded + "/grid.png"))
        // tokenize pairs: the first val sequence is the documented layout of its caption and codes.
        let pairs = root + "/pairs"
        let p = try runTessera(["tokenize", "pairs", "--codes", codes, "--out", pairs, "--seq-len", "64"])
        #expect(p.status == 0, "\(p.stderr)")
        let (m, ids) = try TokenShards.load(dir: pairs, split: "val")
        let layout = VocabularyLayout(textSize: 256, imageCodes: 64)
        #expect(m.layout == layout && m.sequenceLength == 64 && ids.count == 8 * 64 && m.vocabSize == 384)
        let first = PairSequence.make(
            caption: loaded.captions[0].utf8.map { Int32($0) }, codes: loaded.codes[0..<16],
            layout: layout, seqLen: 64, unconditional: false
        ).ids
        #expect(Array(ids[0..<64]) == first)
        // A language model trains on the pairs: losses by modality, <pad> never counted.
        let lmConfig = root + "/t2i.yaml"
        try
            "seed: 1\nmodel: {d_model: 32, n_layers: 1, n_heads: 2, vocab_size: 384}\ndata: {train: \(pairs), seq_len: 63}\noptim: {steps: 4, micro_batch: 4}\neval: {tokens: 1000}\n"
            .write(toFile: lmConfig, atomically: true, encoding: .utf8)
        let lm = try runTessera(["train", "--config", lmConfig, "--run-dir", root + "/lm"])
        #expect(lm.status == 0, "\(lm.stderr)")
        let last = try MetricsLog.rows(root + "/lm/metrics.jsonl", as: TrainingStepRow.self).last!
        #expect(last.lossText != nil && last.lossImage != nil && last.lossImageEMA != nil)
        #expect(last.heldOut?.lossText != nil && last.heldOut?.lossImage != nil)
        // The checkpoint records the id layout; shards rebuilt with another text tokenizer (300 text ids:
        // the same padded vocabulary of 384, different ranges) are refused on resume, naming both sides.
        #expect(FileIO.exists(Checkpoint.list(runDir: root + "/lm").first!.path + "/layout.json"))
        let bpe = root + "/bpe300.json"
        #expect(
            try runTessera(
                [
                    "tokenize", "train-bpe", "--in", "configs/corpus/pride-and-prejudice.txt", "--vocab-size", "300",
                    "--out", bpe,
                ], cwd: packageRoot
            ).status == 0)
        let again = try runTessera([
            "tokenize", "pairs", "--codes", codes, "--out", pairs, "--seq-len", "64", "--tokenizer", bpe, "--overwrite",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        let resumed = try runTessera(["train", "--resume", "--run-dir", root + "/lm"])
        #expect(
            resumed.status == 5 && resumed.stderr.contains("layout.json") && resumed.stderr.contains("[300, 364)"),
            "\(resumed.stderr)")
        // eval images agrees with the run's own final evaluation on the same kind of data.
        let e = try runTessera([
            "eval", "images", "--tokenizer", run, "--dataset", data, "--json", "--grid", root + "/g.png",
        ])
        #expect(e.status == 0, "\(e.stderr)")
        let ev = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        #expect(ev["images"] as? Int == 8 && abs((ev["psnr"] as! Double) - psnr.last!) < 3, "\(ev)")
        #expect(FileIO.exists(root + "/g.png"))
        let v = try runTessera(["checkpoints", run, "--verify"])
        #expect(v.status == 0 && v.stdout.contains("verified"), "\(v.stdout) \(v.stderr)")
    }
}

/// Bad image inputs: one line naming the file, a data-error exit code, nothing half-written.
@Suite struct ImageInputErrorTests {
    func expectError(_ args: [String], _ fragment: String, code: Int32 = 3) throws {
        let r = try runTessera(args, cwd: packageRoot)
        #expect(r.status == code, "exit \(r.status), stderr: \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "expected one line: \(r.stderr)")
        #expect(r.stderr.contains(fragment), "stderr: \(r.stderr)")
    }

    func gzip(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + ".raw"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(path).raw' > '\(path)' && rm '\(path).raw'"]
        try p.run(); p.waitUntilExit()
    }

    /// An IDX image file with a label file's magic; and a truncated gzip stream.
    @Test func fashionMNISTWithWrongMagicOrTruncatedGzip() throws {
        let src = tempDirectory("idx"), out = tempDirectory("idx-out") + "/fashion"
        let header: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2]
        try gzip([0, 0, 8, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4], to: src + "/train-images-idx3-ubyte.gz")
        try gzip([0, 0, 8, 1, 0, 0, 0, 1, 5], to: src + "/train-labels-idx1-ubyte.gz")
        try expectError(
            ["data", "import", "fashion-mnist", "--from", src, "--out", out],
            "train-images-idx3-ubyte.gz: IDX magic 0x00000801")
        #expect(!FileIO.exists(out))
        try gzip(header + [1, 2, 3, 4], to: src + "/train-images-idx3-ubyte.gz")
        let whole = try Data(contentsOf: URL(fileURLWithPath: src + "/train-images-idx3-ubyte.gz"))
        try whole.prefix(whole.count - 10).write(to: URL(fileURLWithPath: src + "/train-images-idx3-ubyte.gz"))
        try expectError(
            ["data", "import", "fashion-mnist", "--from", src, "--out", out],
            "train-images-idx3-ubyte.gz: not a valid gzip stream")
        #expect(!FileIO.exists(out))
    }

    /// ruby-gemojione's layout with an entry lacking its code point, then with a missing PNG.
    @Test func emojiIndexProblems() throws {
        let gem = tempDirectory("gem"), out = tempDirectory("gem-out") + "/emoji"
        try FileManager.default.createDirectory(atPath: gem + "/config", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: gem + "/assets/png", withIntermediateDirectories: true)
        try #"{"cat": {"name": "cat face", "keywords": ["cat"]}}"#.write(
            toFile: gem + "/config/index.json", atomically: true, encoding: .utf8)
        try expectError(
            ["data", "import", "emoji", "--from", gem, "--out", out],
            "index.json: entry \"cat\" lacks a hexadecimal \"unicode\"")
        #expect(!FileIO.exists(out))
        try #"{"cat": {"unicode": "1F431", "name": "cat face"}}"#.write(
            toFile: gem + "/config/index.json", atomically: true, encoding: .utf8)
        try expectError(["data", "import", "emoji", "--from", gem, "--out", out], "assets/png/1F431.png")
        #expect(!FileIO.exists(out))
    }

    /// captions.jsonl naming an image that is not there, and a truncated PNG: the run is refused
    /// before its directory exists.
    @Test func captionFileWithMissingImageAndTruncatedPNG() throws {
        let data = tempDirectory("vqdata")
        #expect(try runTessera(["data", "shapes", "--out", data + "/ds", "--count", "6", "--val", "2"]).status == 0)
        let config = tempDirectory("vqcfg") + "/vq.yaml"
        try
            "task: vq\nmodel: {resolution: 16, ch: 8, ch_mult: [1, 2], attn_resolutions: [], n_embed: 8, norm_groups: 4}\ndata: {folder: \(data)/ds}\noptim: {steps: 1, batch: 2}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let png = data + "/ds/images/000001.png"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: png))
        let run = tempDirectory("vqrun") + "/r"
        try expectError(["train", "--config", config, "--run-dir", run], "000001.png")
        #expect(!FileIO.exists(run))
        try FileManager.default.removeItem(atPath: png)
        try expectError(["train", "--config", config, "--run-dir", run], "000001.png: listed on line 2")
        #expect(!FileIO.exists(run))
    }
}
