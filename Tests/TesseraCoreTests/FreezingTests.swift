import Foundation
import TesseraCore
import Testing

/// The paper's freezing presets: which tensors train, frozen ones unchanged after steps and without
/// optimizer state.
@Suite struct FreezingTests {
    static let names = [
        "tok_embeddings.weight", "layers.0.attention_norm.weight", "layers.0.attention.in_proj.weight",
        "layers.0.feed_forward.w12.weight", "layers.1.ffn_norm.weight", "layers.1.feed_forward.w3.weight",
        "norm.weight", "output.weight",
    ]

    @Test func presetsSelectTheDocumentedTensors() throws {
        func t(_ p: String) throws -> [String] { try Freezing.trainable([p], names: Self.names, layers: 2).sorted() }
        #expect(try t("embed-output") == ["output.weight", "tok_embeddings.weight"])
        #expect(
            try t("embed-output-norms") == [
                "layers.0.attention_norm.weight", "layers.1.ffn_norm.weight", "norm.weight",
                "output.weight", "tok_embeddings.weight",
            ])
        #expect(
            try t("first-half") == [
                "layers.0.attention.in_proj.weight", "layers.0.attention_norm.weight",
                "layers.0.feed_forward.w12.weight", "layers.1.ffn_norm.weight", "norm.weight",
                "output.weight", "tok_embeddings.weight",
            ])
        #expect(
            try t("ffn") == [
                "layers.0.attention_norm.weight", "layers.0.feed_forward.w12.weight", "layers.1.feed_forward.w3.weight",
                "layers.1.ffn_norm.weight", "norm.weight", "output.weight", "tok_embeddings.weight",
            ])
        #expect(try t("all").count == Self.names.count)
        #expect(throws: TesseraError.self) { try Freezing.trainable(["layers.*.mlp.*"], names: Self.names, layers: 2) }
    }

    @Test(arguments: ["embed-output", "embed-output-norms", "first-half", "ffn"])
    func frozenTensorsDoNotMove(preset: String) throws {
        let dir = tempDirectory("freeze")
        let path = dir + "/c.yaml"
        try testConfigYAML(steps: 3).write(toFile: path, atomically: true, encoding: .utf8)
        let run = dir + "/run"
        let result = try runTessera(["train", "--config", path, "--run-dir", run, "--set", "optim.trainable=\(preset)"])
        #expect(result.status == 0, "\(result.stderr)")
        let ckpt = Checkpoint.list(runDir: run).first!.path
        let config = try TrainConfig.load(json: run + "/config.json")
        let trainable = try Freezing.trainable(
            [preset],
            names: Transformer(config: config.model, batch: 1, seqLen: 4, pool: Parallel(threads: 1)).params.names,
            layers: 2)
        let start = Transformer(config: config.model, batch: 1, seqLen: 4, pool: Parallel(threads: 1))
        start.initialize(seed: config.seed)
        let end = try SafetensorsFile(path: ckpt + "/model.safetensors")
        let opt = try SafetensorsFile(path: ckpt + "/optimizer.safetensors")
        for slot in start.params.slots {
            let before = Array(UnsafeBufferPointer(start: start.params.values.pointer + slot.offset, count: slot.count))
            let after = try end.floats(slot.name)
            if trainable.contains(slot.name) {
                #expect(before != after, "\(slot.name) should train")
                #expect(opt.entries["m." + slot.name] != nil)
            } else {
                #expect(before == after, "\(slot.name) should be frozen")
                #expect(opt.entries["m." + slot.name] == nil, "\(slot.name) has optimizer state")
            }
        }
        #expect(result.stderr.contains("trainable"))
    }

    /// Frozen matrices skip their weight-gradient products: every trainable tensor's gradient is
    /// the same, bit for bit, as with all products computed (fp32 and bf16), and the frozen ones
    /// stay zero — so a preset's run is unchanged, only faster.
    @Test(arguments: ["first-half", "ffn", "embed-output"])
    func frozenProductsAreSkippedWithoutChangingTheRest(preset: String) throws {
        try checkFrozenProducts(preset: preset, precision: .fp32)
    }

    @Test(arguments: ["first-half", "ffn", "embed-output"])
    func frozenBF16ProductsAreSkippedWithoutChangingTheRest(preset: String) throws {
        try checkFrozenProducts(preset: preset, precision: .bf16)
    }

    func checkFrozenProducts(preset: String, precision: Precision) throws {
        var c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 2, nKVHeads: nil, vocabSize: 80, ffnHidden: 48, ffnMultipleOf: 16,
            norm: .rmsNorm, normEps: 1e-5, rope: .interleaved, ropeTheta: 10000, tieEmbeddings: true, maxSeqLen: 8)
        c.linearBias = false
        let tokens = (0..<16).map { Int32(($0 * 7) % 80) }, targets = (0..<16).map { Int32(($0 * 5 + 3) % 80) }
        func grads(skip: Bool) throws -> (Transformer, Set<String>) {
            let m = Transformer(config: c, batch: 2, seqLen: 8, pool: Parallel(threads: 1), precision: precision)
            m.initialize(seed: 5)
            let trainable = try Freezing.trainable([preset], names: m.params.names, layers: 2)
            if skip { m.frozen(Set(m.params.names).subtracting(trainable)) }
            m.params.zeroGrads()
            tokens.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
            _ = targets.withUnsafeBufferPointer {
                m.lossAndBackward(targets: $0.baseAddress!, ignoreIndex: -1, scale: 1)
            }
            return (m, trainable)
        }
        let (all, trainable) = try grads(skip: false), (skipped, _) = try grads(skip: true)
        #expect(trainable.count < all.params.names.count)
        for slot in all.params.slots {
            let a = Array(UnsafeBufferPointer(start: all.params.grads.pointer + slot.offset, count: slot.count))
            let b = Array(UnsafeBufferPointer(start: skipped.params.grads.pointer + slot.offset, count: slot.count))
            if trainable.contains(slot.name) {
                #expect(a == b, "\(slot.name): gradient changed")
            } else if slot.name.hasSuffix("proj.weight") || slot.name.contains("feed_forward") {
                #expect(b.allSatisfy { $0 == 0 } && a.contains { $0 != 0 }, "\(slot.name): product not skipped")
            }
        }
    }
}
