import Foundation
import TesseraCore
import Testing

/// The FLOP counts the benchmarks divide by, against each other and against a count by hand.
@Suite struct BenchmarkCountTests {
    /// Drawing a whole sequence with the KV cache does the training forward's matmuls, token by
    /// token (flopsPerToken / 3 at zero context: 2·N_matmul with the output layer on every row),
    /// plus causal attention Σ_t 4·L·d·t — half of PaLM's full T² that the training count uses.
    @Test func samplingCountsTheTrainingForwardCausally() {
        let c = ModelConfig(
            dModel: 32, nLayers: 3, nHeads: 4, nKVHeads: 2, vocabSize: 50, ffnHidden: 48, norm: .rmsNorm,
            rope: .interleaved, tieEmbeddings: true, maxSeqLen: 40)
        let T = 24
        let matmulPerToken = Benchmark.flopsPerToken(c, seqLen: 0) / 3
        let attention = 4.0 * 3 * 32 * Double(T * (T + 1) / 2)
        let whole = Benchmark.sampleFLOPs(c, prompt: 0, codes: T, codeRows: 50)
        #expect(abs(whole - (Double(T) * matmulPerToken + attention)) <= 1e-9 * whole)
        // Restricting the head to 10 code rows saves 2·d·40 per code but the last (full vocabulary).
        let narrow = Benchmark.sampleFLOPs(c, prompt: 0, codes: T, codeRows: 10)
        #expect(whole - narrow == 2 * 32 * 40 * Double(T - 1))
        // A prompt of P tokens lengthens every code's context by P.
        let prompted = Benchmark.sampleFLOPs(c, prompt: 5, codes: T, codeRows: 50)
        #expect(prompted - whole == 4 * 3 * 32 * 5 * Double(T))
    }
}
