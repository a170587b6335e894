import Foundation
import TesseraCore
import Testing

/// `data.text_replay`: rows of plain text among text-to-image rows, drawn per row from named
/// streams, counted apart from the captions' text, bit-identical on resume, and refused when the
/// text is not in the captions' tokenizer.
@Suite struct TextReplayTests {
    static let layout = VocabularyLayout(textSize: 256, imageCodes: 16)

    /// Pair shards (caption bytes + 16 codes, sequences of 32) and a plain-text shard folder
    /// (bytes 'a'…'z' repeating), both of the byte tokenizer.
    static func data(_ root: String, textHash: String = "bytes", textIds: [Int32]? = nil) throws -> (String, String) {
        var seqs: [Int32] = []
        for i in 0..<40 {
            let caption = Array("shape \(i % 7)".utf8).map { Int32($0) }
            let codes = (0..<16).map { Int32((i * 3 + $0) % 16) }
            seqs +=
                PairSequence.make(
                    caption: caption, codes: codes[...], layout: layout, seqLen: 32, unconditional: false
                ).ids
        }
        let pairs = root + "/pairs", text = root + "/text"
        _ = try TokenShards.write(
            splits: ["train": Array(seqs[..<(32 * 32)]), "val": Array(seqs[(32 * 32)...])], to: pairs,
            vocabSize: layout.vocabSize, tokenizer: "bytes", tokenizerHash: "bytes",
            sources: [["kind": "pairs"]], layout: layout, sequenceLength: 32)
        let ids = textIds ?? (0..<5000).map { Int32(97 + $0 % 26) }
        _ = try TokenShards.write(
            splits: ["train": ids, "val": Array(ids.prefix(500))], to: text, vocabSize: 256, tokenizer: "bytes",
            tokenizerHash: textHash, sources: [])
        return (pairs, text)
    }

    static func config(_ pairs: String, _ text: String, replay: Double, steps: Int = 6) -> String {
        """
        seed: 3
        threads: 1
        model: {d_model: 32, n_layers: 1, n_heads: 2, vocab_size: \(layout.vocabSize)}
        data: {train: \(pairs), seq_len: 31\(replay > 0 ? ", text_replay: \(replay), replay_corpus: \(text)" : "")}
        optim: {steps: \(steps), micro_batch: 8, lr: 1.0e-3}
        eval: {every: 3, tokens: 200}
        checkpoint: {every: 3}
        """
    }

    static func trainConfig(_ pairs: String, _ text: String, replay: Double, steps: Int) throws -> TrainConfig {
        let tree: [String: Any] = [
            "seed": 3, "threads": 1,
            "model": ["d_model": 32, "n_layers": 1, "n_heads": 2, "vocab_size": layout.vocabSize],
            "data": ["train": pairs, "seq_len": 31, "text_replay": replay, "replay_corpus": text],
            "optim": ["steps": steps, "micro_batch": 8, "lr": 1e-3],
            "eval": ["every": 3, "tokens": 200], "checkpoint": ["every": 3],
        ]
        return try TrainConfig(reader: ConfigReader(tree: tree, file: "t.yaml"))
    }

    /// The replayed rows are the drawn ones (a fraction of them near `text_replay`), each a window
    /// of the text's "train" split; the trainer's per-step counts follow the same draws: 31 replayed
    /// targets per replayed row, 17 image targets (16 codes and </image>) per other row.
    @Test func replacesTheDrawnRowsAndCountsThemApart() throws {
        let root = tempDirectory("replay")
        let (pairs, text) = try Self.data(root)
        let (pm, _) = try TokenShards.load(dir: pairs, split: "train")
        let replay = try TextReplay.load(dir: text, fraction: 0.25, seqLen: 31, pairs: pm, pairsDir: pairs)
        var inputs = [Int32](repeating: 0, count: 31), targets = inputs
        var drawn = 0
        for row in 0..<160 {
            guard replay.replaces(row: row, seed: 3) else { continue }
            drawn += 1
            replay.fill(row: row, seqLen: 31, seed: 3, inputs: &inputs, targets: &targets)
            // Consecutive letters of the text, targets shifted by one.
            #expect(inputs.allSatisfy { $0 >= 97 && $0 < 123 })
            for t in 1..<31 { #expect((inputs[t] - 97) == (inputs[t - 1] - 97 + 1) % 26) }
            #expect(Array(targets[0..<30]) == Array(inputs[1...]))
        }
        // 160 rows at 0.25: a count outside 16…64 (p < 1e-4 each side) would mean the draw is not the fraction.
        #expect(drawn > 16 && drawn < 64, "\(drawn) of 160")

        let cfg = try Self.trainConfig(pairs, text, replay: 0.25, steps: 20)
        try RunDirectory.create(root + "/run", config: cfg, overwrite: true)
        _ = try Trainer(config: cfg, runDir: root + "/run", resume: false).run()
        let rows = try MetricsLog.rows(root + "/run/metrics.jsonl", as: TrainingStepRow.self)
        #expect(rows.count == 20)
        for r in rows {
            let replayed = (0..<8).filter { replay.replaces(row: (r.step - 1) * 8 + $0, seed: 3) }.count
            #expect(r.targetsReplay == 31 * replayed, "step \(r.step)")
            #expect(r.targetsImage == 17 * (8 - replayed), "step \(r.step)")
            #expect((r.targetsText ?? 0) > 0 || replayed == 8)
            #expect((r.lossReplay != nil) == (replayed > 0))
        }
    }

    /// A run with replay resumes bit for bit, and its metrics rows carry the counts.
    @Test func resumesBitForBitWithTheCounts() throws {
        let root = tempDirectory("replay-resume")
        let (pairs, text) = try Self.data(root)
        let cfg = try Self.trainConfig(pairs, text, replay: 0.3, steps: 6)
        for d in ["full", "cut"] { try RunDirectory.create(root + "/" + d, config: cfg, overwrite: true) }
        _ = try Trainer(config: cfg, runDir: root + "/full", resume: false).run()
        let first = try Trainer(config: cfg, runDir: root + "/cut", resume: false)
        first.stopRequested = { first.step == 3 ? SIGINT : nil }
        #expect(throws: TesseraError.interrupted(signal: SIGINT)) { try first.run() }
        _ = try Trainer(config: cfg, runDir: root + "/cut", resume: true).run()
        let a = try MetricsLog.rows(root + "/full/metrics.jsonl", as: TrainingStepRow.self)
        let b = try MetricsLog.rows(root + "/cut/metrics.jsonl", as: TrainingStepRow.self)
        #expect(a.map(\.loss) == b.map(\.loss) && a.count == 6)
        #expect(a.map(\.targetsReplay) == b.map(\.targetsReplay))
        let weights = "/checkpoints/\(Checkpoint.name(step: 6))/model.safetensors"
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: root + "/full" + weights))
                == Data(contentsOf: URL(fileURLWithPath: root + "/cut" + weights)))
        #expect(a.allSatisfy { $0.targetsReplay != nil && $0.targetsImage != nil && $0.targetsText != nil })
        #expect(a.contains { ($0.targetsReplay ?? 0) > 0 } && a.contains { $0.lossReplay != nil })
        // Without replay: no replay count, the image and caption counts still there.
        let plain = root + "/plain.yaml"
        try Self.config(pairs, text, replay: 0).write(toFile: plain, atomically: true, encoding: .utf8)
        #expect(try runTessera(["train", "--config", plain, "--run-dir", root + "/plain"]).status == 0)
        let p = try MetricsLog.rows(root + "/plain/metrics.jsonl", as: TrainingStepRow.self)
        #expect(p.allSatisfy { $0.targetsReplay == nil && ($0.targetsImage ?? 0) > 0 && $0.lossReplay == nil })
        let images = p.map { $0.targetsImage ?? 0 }.reduce(0, +)
        #expect(images == 6 * 8 * 17)  // 16 codes + </image> per sequence
    }

    /// Text in another tokenizer, ids beyond the text range, replay without its corpus (or a corpus
    /// without replay), a fraction of 1: each a one-line error naming the key or file.
    @Test func refusesTextThatIsNotTheCaptions() throws {
        let root = tempDirectory("replay-bad")
        let (pairs, text) = try Self.data(root)
        func run(_ yaml: String) throws -> RunResult {
            let p = root + "/bad.yaml"
            try yaml.write(toFile: p, atomically: true, encoding: .utf8)
            return try runTessera(["train", "--config", p, "--run-dir", root + "/r", "--overwrite"])
        }
        let other = root + "/other"
        _ = try TokenShards.write(
            splits: ["train": [Int32](repeating: 97, count: 200), "val": [97, 98]], to: other, vocabSize: 256,
            tokenizer: "bytes", tokenizerHash: "0123456789abcdef", sources: [])
        let hash = try run(Self.config(pairs, other, replay: 0.2))
        #expect(
            hash.status == 3 && hash.stderr.contains("tokenizer hash") && hash.stderr.contains(other), "\(hash.stderr)")
        let images = root + "/imageids"
        _ = try TokenShards.write(
            splits: ["train": [Int32](repeating: 300, count: 200), "val": [97, 98]], to: images, vocabSize: 320,
            tokenizer: "bytes", tokenizerHash: "bytes", sources: [])
        let ids = try run(Self.config(pairs, images, replay: 0.2))
        #expect(ids.status == 3 && ids.stderr.contains("not a text id"), "\(ids.stderr)")
        let pairsAsText = try run(Self.config(pairs, pairs, replay: 0.2))
        #expect(pairsAsText.status == 3 && pairsAsText.stderr.contains("must be plain text"), "\(pairsAsText.stderr)")
        let noCorpus = try run(
            Self.config(pairs, text, replay: 0).replacingOccurrences(
                of: "seq_len: 31", with: "seq_len: 31, text_replay: 0.2"))
        #expect(noCorpus.status == 2 && noCorpus.stderr.contains("data.text_replay"), "\(noCorpus.stderr)")
        let whole = try run(Self.config(pairs, text, replay: 1))
        #expect(whole.status == 2 && whole.stderr.contains("must be below 1"), "\(whole.stderr)")
        for r in [hash, ids, pairsAsText, noCorpus, whole] {
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }
}
