import Foundation
import TesseraCore
import Testing

/// Starting a text-to-image run from a text LM: shared tensors copied, vocabulary matrices extended.
@Suite struct PretrainedInitTests {
    func config(vocab: Int, tied: Bool, layers: Int = 1) -> TrainConfig {
        var c = TrainConfig(
            model: ModelConfig(
                dModel: 16, nLayers: layers, nHeads: 2, vocabSize: vocab, ffnHidden: 32,
                norm: .layerNorm, rope: .half, tieEmbeddings: tied, maxSeqLen: 8))
        c.data.seqLen = 8
        return c
    }

    func savedSource(tied: Bool, layers: Int = 1) throws -> (String, Transformer) {
        let dir = tempDirectory("pre")
        let c = config(vocab: 256, tied: tied, layers: layers)
        let m = Transformer(config: c.model, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
        m.initialize(seed: 3)
        let adam = AdamW(store: m.params, config: c.optim.adam)
        try RunDirectory.create(dir, config: c, overwrite: true)
        let state = TrainState(step: 1, adamStep: 0, tokensSeen: 0, elapsedSeconds: 0, configHash: c.hash, seed: 3)
        _ = try Checkpoint.save(runDir: dir, model: m, adam: adam, state: state, config: c)
        return (dir, m)
    }

    @Test(arguments: [false, true])
    func extendsTheVocabulary(tied: Bool) throws {
        let (dir, source) = try savedSource(tied: tied)
        let target = Transformer(
            config: config(vocab: 384, tied: tied).model, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
        target.initialize(seed: 9)
        let r = try PretrainedInit.apply(from: dir, to: target, textRows: 256, std: 0.5, seed: 9, tokenizer: nil)
        #expect(r.copiedRows == 256 && r.newRows == 128 && r.matrices == (tied ? 1 : 2))
        for slot in target.params.slots {
            let t = target.params.values.pointer + slot.offset,
                s = source.params.values.pointer + source.params.slot(slot.name)!.offset
            let isVocab = slot.name == "tok_embeddings.weight" || slot.name == "output.weight"
            let copied = isVocab ? 256 * 16 : slot.count
            #expect((0..<copied).allSatisfy { t[$0] == s[$0] }, "\(slot.name) not copied")
            if isVocab {
                let fresh = (copied..<slot.count).map { Double(t[$0]) }
                let std = (fresh.map { $0 * $0 }.reduce(0, +) / Double(fresh.count)).squareRoot()
                #expect(abs(std - 0.4934) < 0.03, "new rows std \(std)")  // N(0, 0.5) truncated at ±3σ has std 0.4934
            }
        }
    }

    @Test func differentArchitectureIsRefused() throws {
        let (dir, _) = try savedSource(tied: false, layers: 2)
        let target = Transformer(
            config: config(vocab: 384, tied: false).model, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
        #expect(throws: TesseraError.self) {
            try PretrainedInit.apply(from: dir, to: target, textRows: 256, std: 0, seed: 1, tokenizer: nil)
        }
    }

    /// `new_rows: mean`: by Jensen, k new rows at the text rows' mean add at most k/n of the partition
    /// function, so the LM's loss on text tokens rises by at most log(1 + k/n) — for tied and untied
    /// output layers. Random rows wide enough (std 3 here) break that bound: the check can fail.
    @Test(arguments: [false, true])
    func meanRowsBoundTheTextLoss(tied: Bool) throws {
        let (dir, source) = try savedSource(tied: tied)
        var rng = RandomStream(seed: 5, name: "test/tokens")
        let tokens = (0..<8).map { _ in Int32(rng.int(below: 256)) }, targets = Array(tokens.dropFirst()) + [Int32(7)]
        func textLoss(_ m: Transformer) -> Double {
            tokens.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
            // Σ → mean
            return targets.withUnsafeBufferPointer { m.loss(targets: $0.baseAddress!, ignoreIndex: -1) } / 8
        }
        let before = textLoss(source), bound = log(1 + 128.0 / 256)
        func extended(_ mode: TrainConfig.InitSection.NewRows, std: Double) throws -> (Transformer, Double) {
            let m = Transformer(
                config: config(vocab: 384, tied: tied).model, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
            m.initialize(seed: 9)
            _ = try PretrainedInit.apply(
                from: dir, to: m, textRows: 256, newRows: mode, std: std, seed: 9, tokenizer: nil)
            return (m, textLoss(m) - before)
        }
        let (m, rise) = try extended(.mean, std: 0)
        #expect(rise > 0 && rise <= bound + 1e-5, "mean rows: text loss \(before) rose \(rise), bound \(bound)")
        let e = m.params.value(.embedding)!
        for j in 0..<16 {
            let mu = (0..<256).reduce(0.0) { $0 + Double(e[$1 * 16 + j]) } / 256
            #expect(abs(Double(e[300 * 16 + j]) - mu) < 1e-6)
        }
        let (_, wide) = try extended(.normal, std: 3)
        #expect(wide > bound, "random rows of std 3 should break the bound: \(wide)")
    }

    /// `new_rows: text`: distinct rows drawn from the text rows' Gaussian — their mean near μ, and
    /// the text loss rising about as k more text-like rows would (here below log(1 + 2k/n)).
    @Test func textRowsAreDrawnFromTheTextRowsGaussian() throws {
        let (dir, source) = try savedSource(tied: true)
        let m = Transformer(
            config: config(vocab: 384, tied: true).model, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
        _ = try PretrainedInit.apply(from: dir, to: m, textRows: 256, newRows: .text, std: 0, seed: 9, tokenizer: nil)
        let e = m.params.value(.embedding)!, d = 16
        let rows = (256..<384).map { r in (0..<d).map { e[r * d + $0] } }
        #expect(Set(rows.map { $0.map(\.bitPattern) }).count == 128, "new rows must be distinct")
        let text = source.params.value(.embedding)!
        for j in 0..<d {
            let mu = (0..<256).reduce(0.0) { $0 + Double(text[$1 * d + j]) } / 256
            let sd = ((0..<256).reduce(0.0) { $0 + pow(Double(text[$1 * d + j]) - mu, 2) } / 256).squareRoot()
            let got = rows.reduce(0.0) { $0 + Double($1[j]) } / 128
            #expect(abs(got - mu) < 4 * sd / Double(128).squareRoot(), "coordinate \(j): mean \(got) vs \(mu)")
        }
        var rng = RandomStream(seed: 5, name: "test/tokens")
        let tokens = (0..<8).map { _ in Int32(rng.int(below: 256)) }, targets = Array(tokens.dropFirst()) + [Int32(7)]
        func textLoss(_ m: Transformer) -> Double {
            tokens.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
            return targets.withUnsafeBufferPointer { m.loss(targets: $0.baseAddress!, ignoreIndex: -1) } / 8
        }
        let rise = textLoss(m) - textLoss(source)
        #expect(rise > 0 && rise < log(1 + 2 * 128.0 / 256), "text loss rose \(rise)")
    }
}
