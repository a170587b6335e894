import Foundation
import TesseraCore
import Testing

@Suite struct TokenShardTests {
    static let tokenizer = Fixtures.path("bpe_austen2k_digits.tokenizer.json")

    /// tokenize text → train from the shards → the checkpoint carries the tokenizer → eval and
    /// probe read text through it.
    @Test func textToShardsToTrainingToEval() throws {
        let dir = tempDirectory("shards")
        let shards = dir + "/data"
        let t = try runTessera(
            [
                "tokenize", "text", "--tokenizer", Self.tokenizer, "--in", "configs/corpus/pride-and-prejudice.txt",
                "--separator", "<|endoftext|>", "--shard-tokens", "50000", "--out", shards,
            ], cwd: packageRoot)
        #expect(t.status == 0, "\(t.stderr)")
        let m = try TokenShards.readManifest(shards)
        #expect(m.vocabSize == 2048)
        #expect(m.splits["train"]!.shards.count > 1)
        let (_, train) = try TokenShards.load(dir: shards, split: "train")
        let (_, val) = try TokenShards.load(dir: shards, split: "val")
        let tok = try TokenizerFiles.load(Self.tokenizer)
        let text = [UInt8](
            try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/configs/corpus/pride-and-prejudice.txt")))
        #expect(train + val == tok.encode(bytes: text) + [tok.id(of: "<|endoftext|>")!])

        let cfg = dir + "/c.yaml"
        try testConfigYAML(steps: 3).replacingOccurrences(of: "vocab_size: 256", with: "vocab_size: 2048")
            .replacingOccurrences(
                of: "train: \(packageRoot)/configs/corpus/pride-and-prejudice.txt", with: "train: \(shards)"
            )
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let run = dir + "/run"
        let r = try runTessera(["train", "--config", cfg, "--run-dir", run])
        #expect(r.status == 0, "\(r.stderr)")
        let ck = Checkpoint.list(runDir: run)[0].path
        #expect(FileManager.default.fileExists(atPath: ck + "/tokenizer.json"))
        let e = try runTessera(
            [
                "eval", "--checkpoint", run, "--corpus", "configs/corpus/sense-and-sensibility.txt", "--tokens", "2000",
                "--json",
            ], cwd: packageRoot)
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("bits_per_byte"))
        let p = try runTessera(["probe", "complete", "--checkpoint", run, "--prompt", "It is", "--max-new-tokens", "5"])
        #expect(p.status == 0, "\(p.stderr)")

        // A model whose vocabulary is smaller than the shards' is a config error naming both.
        let small = try runTessera([
            "train", "--config", cfg, "--set", "model.vocab_size=1000", "--run-dir", dir + "/run2",
        ])
        #expect(small.status == 2)
        #expect(small.stderr.contains("model.vocab_size (1000) is smaller than the shards' vocabulary (2048"))
    }

    func expectDataError(_ dir: String, _ fragment: String) {
        do {
            _ = try TokenShards.load(dir: dir, split: "train")
            Issue.record("accepted: \(fragment)")
        } catch let e as TesseraError {
            #expect(e.exitCode == 3)
            #expect(e.description.contains(fragment), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    func makeShards(_ ids: [Int32], vocab: Int = 100) throws -> String {
        let dir = tempDirectory("sh")
        _ = try TokenShards.write(
            splits: ["train": ids, "val": [1, 2]], to: dir, vocabSize: vocab, tokenizer: "t",
            tokenizerHash: "0", sources: [])
        return dir
    }

    @Test func malformedShardsAreRejected() throws {
        let ids: [Int32] = (0..<1000).map { Int32($0 % 100) }
        var d = try makeShards(ids)
        #expect(try TokenShards.load(dir: d, split: "train").ids == ids)

        // Wrong checksum (a flipped byte).
        var f = d + "/train-00000.tok.zst"
        var data = try Data(contentsOf: URL(fileURLWithPath: f))
        data[data.count - 2] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: f))
        expectDataError(d, "does not match the manifest")

        // Truncated zstd frame with a fixed-up checksum.
        d = try makeShards(ids)
        f = d + "/train-00000.tok.zst"
        data = try Data(contentsOf: URL(fileURLWithPath: f)).prefix(20)
        try data.write(to: URL(fileURLWithPath: f))
        var m = try TokenShards.readManifest(d)
        m.splits["train"]!.shards[0].checksum = TokenShards.fnv1a(data)
        try TokenShards.write(m, to: d)
        expectDataError(d, "zstd")

        // Bad magic inside a valid frame.
        d = try makeShards(ids)
        f = d + "/train-00000.tok.zst"
        data = Zstd.compress(Data("NOPE and more bytes here.".utf8))
        try data.write(to: URL(fileURLWithPath: f))
        m = try TokenShards.readManifest(d)
        m.splits["train"]!.shards[0].checksum = TokenShards.fnv1a(data)
        try TokenShards.write(m, to: d)
        expectDataError(d, "bad magic")

        // Ids outside the vocabulary the manifest declares.
        d = try makeShards(ids, vocab: 100)
        m = try TokenShards.readManifest(d)
        m.vocabSize = 50
        try TokenShards.write(m, to: d)
        expectDataError(d, "outside the vocabulary of 50")

        // Manifest disagreeing with the shard's count.
        d = try makeShards(ids)
        m = try TokenShards.readManifest(d)
        m.splits["train"]!.shards[0].tokens = 999
        m.splits["train"]!.tokens = 999
        try TokenShards.write(m, to: d)
        expectDataError(d, "holds 1000 ids, the manifest says 999")

        // Manifest totals that do not add up.
        d = try makeShards(ids)
        m = try TokenShards.readManifest(d)
        m.splits["train"]!.tokens = 5
        try TokenShards.write(m, to: d)
        expectDataError(d, "disagrees with its shards")
    }
}
