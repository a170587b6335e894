import Foundation
import TesseraCore
import Testing

/// Sizes from inputs are bounded before anything computes with or allocates from them: every
/// hostile value below is a config error, never an overflow trap or an allocation.
@Suite struct SizeLimitTests {
    static func config(
        _ model: [String: Any], data: [String: Any] = ["seq_len": 32], optim: [String: Any] = [:]
    ) throws -> TrainConfig {
        try TrainConfig(reader: ConfigReader(tree: ["model": model, "data": data, "optim": optim], file: "t.yaml"))
    }

    static let ok: [String: Any] = ["d_model": 32, "n_layers": 2, "n_heads": 4]

    @Test func hostileModelValuesAreConfigErrors() throws {
        _ = try Self.config(Self.ok)
        for (key, value) in [
            ("d_model", Int.max), ("d_model", 1 << 20), ("n_layers", 1 << 40), ("n_heads", 1 << 31),
            ("vocab_size", 1 << 30),
            ("ffn_hidden", Int.max), ("ffn_multiple_of", Int.max), ("max_seq_len", 1 << 40), ("rotary_dims", Int.max),
            ("n_kv_heads", Int.max),
        ] {
            var m = Self.ok
            m[key] = value
            #expect(throws: TesseraError.self, "model.\(key) = \(value)") { try Self.config(m) }
        }
        // The crash the config_values fuzzer found: micro_batch × seq_len overflowing Int.
        #expect(throws: TesseraError.self) {
            try Self.config(Self.ok, data: ["seq_len": 1 << 20], optim: ["micro_batch": 1 << 24])
        }
        #expect(throws: TesseraError.self) { try Self.config(Self.ok, optim: ["micro_batch": Int.max]) }
        #expect(throws: TesseraError.self) { try Self.config(Self.ok, optim: ["steps": Int.max]) }
    }

    @Test func allocationsAreCheckedAgainstMemory() throws {
        let c = try Self.config(Self.ok).model
        #expect(Transformer.sizeProblem(c, batch: 4, seqLen: 32, training: true) == nil)
        #expect(Transformer.sizeProblem(c, batch: 100_000_000, seqLen: 32, training: false)?.contains("rows") == true)
        #expect(Transformer.sizeProblem(c, batch: Int.max, seqLen: Int.max, training: false) != nil)
        var big = c
        big.dModel = 65_536; big.nLayers = 1_024; big.nHeads = 64; big.nKVHeads = 64; big.ffnHidden = 1 << 20;
        big.vocabSize = 1 << 24
        #expect(big.problems().contains { $0.contains("available") })
        #expect(big.problems(memory: false).isEmpty)
        #expect(big.parameterCountEstimate > 1 << 40)
        // overflow is a refusal, not a trap
        #expect(SizeLimits.memoryProblem(SizeLimits.bytes(Int.max, 4), "x") != nil)
        #expect(SizeLimits.memoryProblem(1 << 20, "x", available: 1 << 30) == nil)
        #expect(SizeLimits.memoryProblem(1 << 31, "x", available: 1 << 30)?.contains("2.00 GiB") == true)
    }

    /// A checkpoint whose config.json describes another model than its weights (a larger width,
    /// more layers, a larger vocabulary) is refused before the model is allocated, naming the file.
    /// The memory budget: MemAvailable, capped by TESSERA_MAX_MEMORY_MB (what the fuzzers run under;
    /// their crash of a checkpoint planning 4 GB of activations under a 4 GB RSS limit).
    @Test func theMemoryBudgetHonoursItsCap() throws {
        let dir = tempDirectory("meminfo")
        try FileIO.writeAtomically(
            dir + "/meminfo", data: Data("MemTotal: 9000000 kB\nMemAvailable: 4194304 kB\n".utf8))
        #expect(SizeLimits.availableMemory(meminfo: dir + "/meminfo", environment: [:]) == 4 << 30)
        let capped = SizeLimits.availableMemory(
            meminfo: dir + "/meminfo", environment: ["TESSERA_MAX_MEMORY_MB": "1024"])
        #expect(capped == 1 << 30)
        #expect(
            SizeLimits.availableMemory(meminfo: dir + "/meminfo", environment: ["TESSERA_MAX_MEMORY_MB": "x"]) == 4
                << 30)
        #expect(SizeLimits.memoryProblem(2 << 30, "this", available: capped)?.contains("1.00 GiB available") == true)
        #expect(SizeLimits.memoryProblem(1 << 29, "this", available: capped) == nil)
    }

    @Test func checkpointConfigMustMatchItsWeights() throws {
        let dir = tempDirectory("ckpt-config")
        let c = ModelConfig(dModel: 32, nLayers: 2, nHeads: 4, vocabSize: 300, ffnHidden: 64, maxSeqLen: 33)
        let m = Transformer(config: c, batch: 1, seqLen: 32, pool: Parallel(threads: 1))
        m.initialize(seed: 1)
        try SafetensorsWriter.write(
            path: dir + "/model.safetensors",
            tensors: m.params.slots.map {
                SafetensorsTensor(name: $0.name, shape: $0.shape, f32: m.params.values.pointer + $0.offset)
            })
        func write(_ model: [String: Any]) throws {
            let tree: [String: Any] = ["model": model, "data": ["seq_len": 32, "train": "x"]]
            try JSONSerialization.data(withJSONObject: tree).write(to: URL(fileURLWithPath: dir + "/config.json"))
        }
        let base: [String: Any] = [
            "d_model": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 300, "ffn_hidden": 64, "max_seq_len": 33,
        ]
        try write(base)
        _ = try LoadedCheckpoint(path: dir, batch: 1, threads: 1)
        for (key, value) in [("d_model", 64), ("n_layers", 40), ("vocab_size", 100_000)] {
            var model = base
            model[key] = value
            try write(model)
            do {
                _ = try LoadedCheckpoint(path: dir, batch: 1, threads: 1)
                Issue.record("\(key) = \(value) was loaded")
            } catch let e as TesseraError {
                #expect(
                    e.exitCode == 3 && e.description.contains("model.safetensors")
                        && e.description.contains("config.json implies"), "\(e)")
            }
        }
    }

    /// A manifest's layout whose id ranges would overflow the vocabulary arithmetic is refused.
    @Test func layoutBeyondTheMaximumVocabularyIsRefused() throws {
        let good = VocabularyLayout(textSize: 256, imageCodes: 16, multipleOf: 8).json
        #expect(try VocabularyLayout(json: good, file: "m.json").vocabSize == 280)
        var bad = good
        bad["text"] = [0, 1 << 62]; bad["image"] = [1 << 62, Int.max]
        #expect(throws: TesseraError.self) { try VocabularyLayout(json: bad, file: "m.json") }
        bad = good
        bad["multiple_of"] = Int.max
        #expect(throws: TesseraError.self) { try VocabularyLayout(json: bad, file: "m.json") }
    }
}
