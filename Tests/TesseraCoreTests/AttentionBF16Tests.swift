import Foundation
import TesseraCore
import Testing

/// Attention with its products in bf16 (`AttentionBF16`) against the fp32 attention, the oracle
/// that finite differences check (GradientCheckTests.attention).
@Suite struct AttentionBF16Tests {
    /// Two row blocks (150 > 128 rows), grouped KV heads.
    let shape = AttentionShape(batch: 2, seqLen: 150, heads: 4, kvHeads: 2, headDim: 16)
    let u = BFloat16.unitRoundoff

    /// Output and input gradient of attention on `threads` workers, fp32 or bf16 products.
    func run(
        threads: Int, bf16: Bool, qkv: [Float], dOut: [Float]
    ) -> (out: [Float], dqkv: [Float]) {
        let pool = Parallel(threads: threads)
        let n = shape.batch * shape.seqLen
        let products = bf16 ? AttentionBF16(shape: shape, threads: threads) : nil
        var scratch = [Float](repeating: 0, count: threads * shape.scratchPerWorker)
        var lse = [Float](repeating: 0, count: shape.batch * shape.heads * shape.seqLen)
        var out = [Float](repeating: 0, count: n * shape.outStride)
        var dqkv = [Float](repeating: 7, count: n * shape.qkvStride)
        Attention.forward(pool, shape, qkv: qkv, out: &out, lse: &lse, scratch: &scratch, bf16: products)
        Attention.backward(
            pool, shape, qkv: qkv, out: out, lse: lse, dOut: dOut, dqkv: &dqkv, scratch: &scratch, bf16: products)
        return (out, dqkv)
    }

    static func relativeError(_ x: [Float], _ reference: [Float]) -> Double {
        var diff = 0.0, norm = 0.0
        for (a, b) in zip(x, reference) {
            diff += Double(a - b) * Double(a - b)
            norm += Double(b) * Double(b)
        }
        return (diff / norm).squareRoot()
    }

    /// Each bf16 product rounds its operands (relative error ≤ u = 2⁻⁸ each) and sums exact
    /// products in fp32: the scores err by about 2u of Σ|q||k|, the output (through softmax,
    /// whose rows are convex weights, and P·V with P and V rounded) by a few u of its size, and
    /// the input gradient, three products in series (dP = dO·Vᵀ, dS = P∘(dP − D), dS·K), by a
    /// few more — the 8u = 3.1 % normwise bound the whole-model bf16 gradients are held to
    /// (MixedPrecisionTests). The error must be visibly there (above u/64): the products ran in
    /// bf16. The bound can fail: the same comparison with the keys of one position moved (the
    /// kind of slip a wrong offset into the bf16 copies would make) is far outside it.
    @Test func agreesWithFP32WithinBF16Rounding() {
        let n = shape.batch * shape.seqLen
        let qkv = FiniteDifferences.random(n * shape.qkvStride, "bf16-qkv")
        let dOut = FiniteDifferences.random(n * shape.outStride, "bf16-dout")
        let fp32 = run(threads: 2, bf16: false, qkv: qkv, dOut: dOut)
        let bf16 = run(threads: 2, bf16: true, qkv: qkv, dOut: dOut)
        let outError = Self.relativeError(bf16.out, fp32.out)
        let gradError = Self.relativeError(bf16.dqkv, fp32.dqkv)
        #expect(outError <= 8 * u, "output: relative error \(outError)")
        #expect(gradError <= 8 * u, "input gradient: relative error \(gradError)")
        #expect(min(outError, gradError) >= u / 64, "no bf16 rounding visible")

        // Keys shifted by one position (row t reads row t+1's keys): the check must reject it.
        var shifted = qkv
        let ld = shape.qkvStride, kOffset = shape.heads * shape.headDim
        for t in 0..<(n - 1) {
            for j in 0..<(shape.kvHeads * shape.headDim) {
                shifted[t * ld + kOffset + j] = qkv[(t + 1) * ld + kOffset + j]
            }
        }
        let slipped = run(threads: 2, bf16: true, qkv: shifted, dOut: dOut)
        #expect(Self.relativeError(slipped.out, fp32.out) > 8 * u)
    }

    /// The work is split by (sequence, KV group) and each product runs on one thread: on one
    /// worker or two, the same bits.
    @Test func bf16AttentionIsTheSameOnAnyThreadCount() {
        let n = shape.batch * shape.seqLen
        let qkv = FiniteDifferences.random(n * shape.qkvStride, "bf16-qkv")
        let dOut = FiniteDifferences.random(n * shape.outStride, "bf16-dout")
        let one = run(threads: 1, bf16: true, qkv: qkv, dOut: dOut)
        let two = run(threads: 2, bf16: true, qkv: qkv, dOut: dOut)
        #expect(one.out.map(\.bitPattern) == two.out.map(\.bitPattern))
        #expect(one.dqkv.map(\.bitPattern) == two.dqkv.map(\.bitPattern))
    }
}
