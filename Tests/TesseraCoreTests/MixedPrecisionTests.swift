import Foundation
import TesseraCore
import Testing

/// `precision: bf16` against the fp32 model (the oracle path): the same weights, tokens and targets.
@Suite struct MixedPrecisionTests {
    let pool = Parallel(threads: 2)
    /// bf16's unit roundoff, 2⁻⁸ (8 significand bits).
    let u = BFloat16.unitRoundoff

    func pair(_ c: ModelConfig, batch: Int, seq: Int) -> (Transformer, Transformer) {
        let fp32 = Transformer(config: c, batch: batch, seqLen: seq, pool: pool)
        let bf16 = Transformer(config: c, batch: batch, seqLen: seq, pool: pool, precision: .bf16)
        fp32.initialize(seed: 5)
        bf16.params.values.pointer.update(from: fp32.params.values.pointer, count: fp32.params.values.count)
        return (fp32, bf16)
    }

    func lossAndGrads(_ m: Transformer, _ tokens: [Int32], _ targets: [Int32]) -> Double {
        m.params.zeroGrads()
        m.forward(tokens: tokens)
        return m.lossAndBackward(targets: targets, ignoreIndex: -1, scale: 1 / Float(targets.count))
            / Double(targets.count)
    }

    /// Each bf16 product rounds both operands (relative error ≤ u each) and sums exactly-formed
    /// products in fp32, so its result errs by about 2u relative to Σ|a||b|. A gradient passes a few
    /// such products in series (its forward path, the head, its backward path); without error
    /// amplification (a small, well-conditioned random network) the relative error of every
    /// gradient tensor stays below 8u = 3.1 %, and the loss within 2u of its value. The errors
    /// must also be visibly there (above u/64): the products really ran in bf16.
    @Test(arguments: [NormKind.layerNorm, NormKind.rmsNorm])
    func gradientsAgreeWithFP32WithinBF16Rounding(norm: NormKind) {
        let c = ModelConfig(
            dModel: 64, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 97, ffnHidden: 96, norm: norm,
            rope: .half, tieEmbeddings: norm == .rmsNorm, maxSeqLen: 16)
        let (fp32, bf16) = pair(c, batch: 2, seq: 16)
        let tokens: [Int32] = (0..<32).map { Int32(($0 * 7 + 3) % 97) }
        let targets: [Int32] = (0..<32).map { Int32(($0 * 11 + 5) % 97) }
        let l32 = lossAndGrads(fp32, tokens, targets), l16 = lossAndGrads(bf16, tokens, targets)
        #expect(abs(l16 - l32) <= 2 * u * abs(l32), "loss \(l16) vs \(l32)")
        var largest = 0.0
        for slot in fp32.params.slots {
            let g32 = fp32.params.grads.pointer + slot.offset, g16 = bf16.params.grads.pointer + slot.offset
            var diff = 0.0, norm32 = 0.0
            for i in 0..<slot.count {
                diff += Double(g16[i] - g32[i]) * Double(g16[i] - g32[i])
                norm32 += Double(g32[i]) * Double(g32[i])
            }
            guard norm32 > 0 else { continue }
            let rel = (diff / norm32).squareRoot()
            largest = max(largest, rel)
            #expect(rel <= 8 * u, "\(slot.name): relative gradient error \(rel)")
        }
        #expect(largest >= u / 64, "no bf16 rounding visible: the products did not run in bf16")
    }

    /// Same config, seed and threads: the same bits, step after step (oneDNN reduces each output
    /// element on one thread in a fixed order).
    @Test func bf16IsDeterministic() {
        let c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 2, vocabSize: 61, ffnHidden: 64, norm: .rmsNorm, rope: .half,
            tieEmbeddings: false, maxSeqLen: 8)
        let (_, a) = pair(c, batch: 2, seq: 8)
        let (_, b) = pair(c, batch: 2, seq: 8)
        let tokens: [Int32] = (0..<16).map { Int32(($0 * 5 + 1) % 61) }
        let la = lossAndGrads(a, tokens, tokens), lb = lossAndGrads(b, tokens, tokens)
        #expect(la.bitPattern == lb.bitPattern)
        #expect(memcmp(a.params.grads.pointer, b.params.grads.pointer, a.params.grads.count * 4) == 0)
    }

    /// The mirror follows the weights: after they change, the next forward uses the new values,
    /// and `weightsUnchanged` (a step's later micro-batches) reuses the mirror as made.
    @Test func theWeightMirrorIsRefreshedPerForward() {
        let c = ModelConfig(
            dModel: 32, nLayers: 1, nHeads: 2, vocabSize: 61, ffnHidden: 64, norm: .rmsNorm, rope: .half,
            tieEmbeddings: false, maxSeqLen: 8)
        let (_, m) = pair(c, batch: 1, seq: 8)
        let tokens: [Int32] = (0..<8).map { Int32($0 * 3 % 61) }
        m.forward(tokens: tokens)
        let before = m.loss(targets: tokens, ignoreIndex: -1)
        let out = m.params.value(TransformerWeights.Global.output.name)
        for i in 0..<(61 * 32) { out[i] *= 2 }
        m.forward(tokens: tokens, weightsUnchanged: true)
        #expect(m.loss(targets: tokens, ignoreIndex: -1) == before)
        m.forward(tokens: tokens)
        #expect(m.loss(targets: tokens, ignoreIndex: -1) != before)
    }

    /// A CPU without bf16 instructions gets a config error naming them, never a silent slowdown.
    @Test func bf16WithoutTheInstructionsIsRefused() throws {
        #expect(
            Precision.bf16.unsupported(flags: ["avx512f", "avx2"], allowEmulation: false)?.contains("avx512_bf16")
                == true)
        #expect(Precision.bf16.unsupported(flags: ["avx512f", "avx2"], allowEmulation: true) == nil)
        #expect(Precision.bf16.unsupported(flags: ["avx512_bf16"]) == nil)
        #expect(Precision.fp32.unsupported(flags: []) == nil)
        func parse(_ value: String) throws -> TrainConfig {
            let tree: [String: Any] = [
                "precision": value, "model": ["d_model": 32, "n_layers": 1, "n_heads": 2, "vocab_size": 61],
                "data": ["seq_len": 8],
            ]
            return try TrainConfig(reader: ConfigReader(tree: tree, file: "c.yaml"))
        }
        if DNNL.nativeBF16 {
            #expect(try parse("bf16").precision == .bf16)
            #expect(try parse("bf16").hash != parse("fp32").hash)
        } else {
            #expect(throws: TesseraError.self) { try parse("bf16") }
        }
        #expect(try parse("fp32").precision == .fp32)
        #expect(throws: TesseraError.self) { try parse("fp16") }
    }
}
