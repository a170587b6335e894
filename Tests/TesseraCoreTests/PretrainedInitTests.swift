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
}
