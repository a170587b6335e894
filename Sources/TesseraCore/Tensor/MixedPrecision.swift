/// What `precision: bf16` adds to a model: a bf16 mirror of its parameters and bf16 scratch for
/// the activations and gradients that enter a product. Every linear product then runs on oneDNN
/// with bf16 operands and fp32 accumulation and result (`DNNL.matmul`); master weights, gradient
/// accumulation, AdamW, norms, softmax and the cross-entropy stay fp32, as in PyTorch's autocast.
///
/// The mirror is made once per optimizer step (`refreshWeights`, one conversion of the flat
/// parameter buffer), not per use: a weight's bf16 copy sits at the same offset in `weights16`
/// as the weight in the fp32 buffer, so any pointer into the parameters finds its mirror by
/// offset. The operand that is not a weight (X forward, dY backward, X again for dW) is converted
/// into `a16`/`b16` right before its product: a conversion reads 4 and writes 2 bytes per element,
/// against the product's 2·k flops per element of the result.
public final class MixedPrecision {
    public let threads: Int
    private let base: UnsafePointer<Float>
    private let count: Int
    private let weights16: UnsafeMutablePointer<UInt16>
    private let a16, b16: UnsafeMutablePointer<UInt16>
    private let scratch: Int

    /// `values`: the parameters (fp32, flat); `scratch`: the largest operand, in elements, that
    /// any product of the model converts.
    public init(values: FloatBuffer, scratch: Int, threads: Int) {
        self.threads = threads
        base = UnsafePointer(values.pointer)
        count = values.count
        self.scratch = max(scratch, 1)
        weights16 = .allocate(capacity: max(count, 1))
        a16 = .allocate(capacity: self.scratch)
        b16 = .allocate(capacity: self.scratch)
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

    private func convert(_ x: UnsafePointer<Float>, _ n: Int, into p: UnsafeMutablePointer<UInt16>) {
        precondition(n <= scratch, "bf16 operand of \(n) elements exceeds the scratch of \(scratch)")
        DNNL.shared.toBF16(x, p, count: n, threads: threads)
    }

    /// Y[M,N] = X[M,K]·W[N,K]ᵀ.
    func linearForward(
        x: UnsafePointer<Float>, w: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int
    ) {
        convert(x, m * k, into: a16)
        DNNL.shared.matmul(
            threads: threads, transA: false, transB: true, m: m, n: n, k: k, a: a16, lda: k, b: weight(w), ldb: k,
            accumulate: false, c: y, ldc: n)
    }

    /// dX[M,K] = dY·W, then dW[N,K] += dYᵀ·X, dY converted once (it stays in `a16` for both).
    func linearBackward(
        dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
        dw: UnsafeMutablePointer<Float>?, m: Int, k: Int, n: Int
    ) {
        convert(dy, m * n, into: a16)
        DNNL.shared.matmul(
            threads: threads, transA: false, transB: false, m: m, n: k, k: n, a: a16, lda: n, b: weight(w), ldb: k,
            accumulate: false, c: dx, ldc: k)
        guard let dw else { return }
        convert(x, m * k, into: b16)
        DNNL.shared.matmul(
            threads: threads, transA: true, transB: false, m: n, n: k, k: m, a: a16, lda: n, b: b16, ldb: k,
            accumulate: true, c: dw, ldc: k)
    }
}
