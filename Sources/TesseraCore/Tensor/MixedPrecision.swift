/// What `precision: bf16` adds to a model: a bf16 mirror of its parameters and bf16 scratch for
/// the activations and gradients that enter a product. Every linear product then runs on oneDNN
/// with bf16 operands and fp32 accumulation and result (`DNNL.matmul`), and so do attention's
/// products over whole sequences (`AttentionBF16`, per worker); master weights, gradient
/// accumulation, AdamW, norms, softmax and the cross-entropy stay fp32, as in PyTorch's autocast.
///
/// The mirror is made once per optimizer step (`refreshWeights`, one conversion of the flat
/// parameter buffer), not per use: a weight's bf16 copy sits at the same offset in `weights16`
/// as the weight in the fp32 buffer, so any pointer into the parameters finds its mirror by
/// offset. The operand that is not a weight (X forward, dY backward) is converted into `a16`, and
/// X again for a weight gradient into `b16`, right before its product: a conversion reads 4 and
/// writes 2 bytes per element, against the product's 2·k flops per element of the result.
///
/// The two scratch buffers are sized apart: `a16` must hold the cross-entropy's logit-gradient
/// chunk [R, V] (512 rows × a 66k vocabulary = 34M elements, 67 MB on SmolLM2 text-to-image), `b16`
/// only the widest activation [N, width] (2 MB there; sized like `a16` it was never touched past
/// that, so not resident, only reserved). Activations are not stored in bf16 for the
/// backward pass: those that feed only a weight gradient (ln₁, ln₂, z) are recomputed into shared
/// buffers anyway, and the attention output is needed in fp32 by the attention backward
/// (rowsum(dO ∘ O)), so a bf16 copy would add memory, not halve it.
public final class MixedPrecision {
    public let threads: Int
    private let base: UnsafePointer<Float>
    private let count: Int
    private let weights16: UnsafeMutablePointer<UInt16>
    private let a16, b16: UnsafeMutablePointer<UInt16>
    private let aCapacity, bCapacity: Int
    /// Attention's products in bf16, for a model that attends over whole sequences (nil: decoding).
    public let attention: AttentionBF16?

    /// `values`: the parameters (fp32, flat); `scratch`: the largest X (forward) or dY (backward),
    /// in elements, that a product of the model converts; `gradientInputs`: the largest X of a
    /// weight gradient (0 for a model that only runs forward); `attention`: the shape of the
    /// model's attention over whole sequences, whose products then run in bf16 too.
    public init(
        values: FloatBuffer, scratch: Int, gradientInputs: Int = 0, attention: AttentionShape? = nil, threads: Int
    ) {
        self.threads = threads
        self.attention = attention.map { AttentionBF16(shape: $0, threads: threads) }
        base = UnsafePointer(values.pointer)
        count = values.count
        aCapacity = max(scratch, 1)
        bCapacity = max(gradientInputs, 1)
        weights16 = .allocate(capacity: max(count, 1))
        a16 = .allocate(capacity: aCapacity)
        b16 = .allocate(capacity: bCapacity)
    }

    deinit {
        weights16.deallocate()
        a16.deallocate()
        b16.deallocate()
    }

    /// Rounds the fp32 parameters into their bf16 mirror (after every change of the weights).
    public func refreshWeights() {
        DNNL.shared.toBF16(base, weights16, count: count, threads: threads)
    }

    /// The bf16 mirror of a tensor in the parameters.
    @inline(__always)
    func weight(_ w: UnsafePointer<Float>) -> UnsafePointer<UInt16> {
        let offset = w - base
        precondition(offset >= 0 && offset < count, "bf16 product of a weight outside the model's parameters")
        return UnsafePointer(weights16 + offset)
    }

    private func convert(
        _ x: UnsafePointer<Float>, _ n: Int, into p: UnsafeMutablePointer<UInt16>, capacity: Int
    ) {
        precondition(n <= capacity, "bf16 operand of \(n) elements exceeds its scratch of \(capacity)")
        DNNL.shared.toBF16(x, p, count: n, threads: threads)
    }

    /// Y[M,N] = X[M,K]·W[N,K]ᵀ.
    func linearForward(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int
    ) {
        convert(x, m * k, into: a16, capacity: aCapacity)
        DNNL.shared.matmul(
            threads: threads, transA: false, transB: true, m: m, n: n, k: k, a: a16, lda: k, b: weight(w), ldb: k,
            accumulate: false, c: y, ldc: n)
    }

    /// dX[M,K] = dY·W, then dW[N,K] += dYᵀ·X, dY converted once (it stays in `a16` for both).
    func linearBackward(
        dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        dw: UnsafeMutablePointer<Float>?, m: Int, k: Int, n: Int
    ) {
        convert(dy, m * n, into: a16, capacity: aCapacity)
        DNNL.shared.matmul(
            threads: threads, transA: false, transB: false, m: m, n: k, k: n, a: a16, lda: n, b: weight(w), ldb: k,
            accumulate: false, c: dx, ldc: k)
        guard let dw else { return }
        convert(x, m * k, into: b16, capacity: bCapacity)
        DNNL.shared.matmul(
            threads: threads, transA: true, transB: false, m: n, n: k, k: m, a: a16, lda: n, b: b16, ldb: k,
            accumulate: true, c: dw, ldc: k)
    }
}
