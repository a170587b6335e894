import Foundation
import TesseraCore
import Testing

/// Verified links: a checkpoint's marker records a CRC-32 per file, checked on load and by
/// `checkpoints --verify`; non-finite weights are refused however they got there.
@Suite struct CheckpointIntegrityTests {
    func trainedRun(_ tag: String) throws -> String {
        let cfg = tempDirectory(tag) + "/c.yaml"
        try testConfigYAML(steps: 3).write(toFile: cfg, atomically: true, encoding: .utf8)
        let dir = tempDirectory(tag) + "/run"
        let r = try runTessera(["train", "--config", cfg, "--run-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// One flipped bit inside a tensor's data (the header still parses) is caught by every reader.
    @Test func flippedBitIsCaught() throws {
        let dir = try trainedRun("flip")
        let ck = try #require(Checkpoint.list(runDir: dir).first).path
        let sums = try #require(try Checkpoint.recordedChecksums(ck))
        #expect(
            Set(sums.keys).isSuperset(of: ["model.safetensors", "optimizer.safetensors", "state.json", "config.json"]))
        try Checkpoint.verifyChecksums(ck)
        let f = ck + "/model.safetensors"
        var d = try Data(contentsOf: URL(fileURLWithPath: f))
        d[d.count - 7] ^= 0x04
        try d.write(to: URL(fileURLWithPath: f))
        #expect(throws: TesseraError.self) { try Checkpoint.verifyChecksums(ck) }
        let v = try runTessera(["checkpoints", dir, "--verify"])
        #expect(v.status == 3 && v.stdout.contains("BROKEN") && v.stdout.contains("checksum mismatch"), "\(v.stdout)")
        let e = try runTessera([
            "eval", "--checkpoint", ck, "--corpus", packageRoot + "/configs/corpus/pride-and-prejudice.txt", "--tokens",
            "256",
        ])
        #expect(
            e.status == 3 && e.stderr.contains("checksum mismatch") && e.stderr.split(separator: "\n").count == 1,
            "\(e.stderr)")
    }

    /// NaN weights written with a valid checksum (as a run that diverged silently would) are refused on load.
    @Test func nonFiniteWeightsAreRefused() throws {
        let dir = try trainedRun("nan")
        let ck = try #require(Checkpoint.list(runDir: dir).first).path
        let st = try SafetensorsFile(path: ck + "/model.safetensors")
        let name = try #require(st.entries.keys.sorted().first)
        let names = st.entries.keys.sorted()
        var flat: [Float] = [], offsets: [Int] = []
        for n in names {
            offsets.append(flat.count)
            var v = try st.floats(n)
            if n == name { v[v.count / 2] = .nan }
            flat += v
        }
        try flat.withUnsafeBufferPointer { p in
            let tensors = names.enumerated().map { i, n in
                SafetensorsTensor(name: n, shape: st.entries[n]!.shape, f32: p.baseAddress! + offsets[i])
            }
            try SafetensorsWriter.write(path: ck + "/model.safetensors", tensors: tensors, metadata: st.metadata)
        }
        // Re-record the checksums as the writer would have.
        let sums = try Dictionary(
            uniqueKeysWithValues: ["model.safetensors", "optimizer.safetensors", "state.json", "config.json"].map {
                ($0, try Checkpoint.crc32(file: ck + "/" + $0))
            }
        ).merging((try Checkpoint.recordedChecksums(ck)) ?? [:]) { a, _ in a }
        try FileIO.writeAtomically(
            ck + "/" + Checkpoint.marker, data: try JSONSerialization.data(withJSONObject: ["crc32": sums]))
        try Checkpoint.verifyChecksums(ck)
        let e = try runTessera([
            "eval", "--checkpoint", ck, "--corpus", packageRoot + "/configs/corpus/pride-and-prejudice.txt", "--tokens",
            "256",
        ])
        #expect(e.status == 3 && e.stderr.contains("non-finite") && e.stderr.contains(name), "\(e.stderr)")
    }

    /// A tokenizer with more ids than the model has rows is refused before generation reads past
    /// the embedding.
    @Test func tokenizerLargerThanTheVocabularyIsRefused() throws {
        let dir = try trainedRun("vocab")
        let ck = try #require(Checkpoint.list(runDir: dir).first).path
        try FileManager.default.copyItem(
            atPath: Fixtures.path("bpe_austen4k.tokenizer.json"), toPath: ck + "/tokenizer.json")
        let r = try runTessera([
            "eval", "generate", "--checkpoint", ck, "--prompt", "Elizabeth", "--max-new-tokens", "2",
        ])
        #expect(
            r.status == 3 && r.stderr.contains("index past the embedding")
                && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    /// A marker from before checksums ("ok") still loads; a marker that is neither is a data error.
    @Test func legacyMarkerLoadsAndGarbageIsRefused() throws {
        let dir = try trainedRun("legacy")
        let ck = try #require(Checkpoint.list(runDir: dir).first).path
        try FileIO.writeAtomically(ck + "/" + Checkpoint.marker, data: Data("ok\n".utf8))
        #expect(try Checkpoint.recordedChecksums(ck) == nil)
        #expect(try runTessera(["checkpoints", dir, "--verify"]).status == 0)
        try FileIO.writeAtomically(ck + "/" + Checkpoint.marker, data: Data("garbage".utf8))
        #expect(throws: TesseraError.self) { try Checkpoint.verifyChecksums(ck) }
    }
}

/// A shard folder's tokenizer must be the one its manifest records.
@Suite struct ShardTokenizerLinkTests {
    @Test func swappedOrMissingTokenizerIsRefused() throws {
        let dir = tempDirectory("shard-link") + "/shards"
        let tok = Fixtures.path("bpe_austen4k.tokenizer.json"),
            other = Fixtures.path("bpe_austen2k_digits.tokenizer.json")
        let corpus = packageRoot + "/configs/corpus/pride-and-prejudice.txt"
        let made = try runTessera(["tokenize", "text", "--tokenizer", tok, "--in", corpus, "--out", dir])
        #expect(made.status == 0, "\(made.stderr)")
        let m = try TokenShards.readManifest(dir)
        #expect(try TokenShards.verifyTokenizer(dir: dir, manifest: m) == dir + "/tokenizer.json")
        try FileManager.default.removeItem(atPath: dir + "/tokenizer.json")
        try FileManager.default.copyItem(atPath: other, toPath: dir + "/tokenizer.json")
        #expect(throws: TesseraError.self) { try TokenShards.verifyTokenizer(dir: dir, manifest: m) }
        let cfg = tempDirectory("shard-link") + "/c.yaml"
        try testConfigYAML(steps: 2).replacingOccurrences(of: "vocab_size: 256", with: "vocab_size: 4096")
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try runTessera([
            "train", "--config", cfg, "--set", "data.train=\(dir)", "--run-dir", tempDirectory("shard-link") + "/run",
        ])
        #expect(r.status == 3 && r.stderr.contains("not the tokenizer these shards were made with"), "\(r.stderr)")
        try FileManager.default.removeItem(atPath: dir + "/tokenizer.json")
        #expect(throws: TesseraError.self) { try TokenShards.verifyTokenizer(dir: dir, manifest: m) }
    }
}
