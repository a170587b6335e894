/// bf16 operands for attention's products under `precision: bf16`, as PyTorch's autocast runs
/// them: Q·Kᵀ and P·V forward, and dO·Vᵀ, Pᵀ·dO, dS·K, dSᵀ·Q backward, take bf16 operands and
/// accumulate in fp32 (`DNNLWorkerMatmul`: each worker runs its own products, concurrently);
/// the softmax, its log-sum-exp and rowsum(dO ∘ O) stay fp32.
///
/// The operands are bf16 copies at the offsets of their fp32 originals, as `MixedPrecision`
/// mirrors the weights, so `Attention` keeps one definition and only asks for the copy of what
/// it multiplies (`mirror`): qkv (and dO in the backward pass) converted once per call by one
/// oneDNN reorder, and each block of probabilities P and of score gradients dS converted by the
/// worker that made it, right after its softmax (`round`): nr·r1 conversions against the
/// 2·nr·r1·hd flops of the product that reads them.
/// Memory: N·(q + a) + threads · 2·blockCap·T bf16 values (q = (H + 2·Hkv)·hd, a = H·hd).
public final class AttentionBF16 {
    let products: DNNLWorkerMatmul
    private let qkv16, dOut16, scratch16: UnsafeMutablePointer<UInt16>
    private let qkvCapacity, dOutCapacity, scratchCapacity: Int
    private let threads: Int
    /// The fp32 buffers of the current call and their element counts (nil: not bound).
    private var qkv, dOut, scratch: UnsafePointer<Float>?
    private var qkvCount = 0, dOutCount = 0

    /// Sized for `shape` and a pool of `threads` workers.
    public init(shape s: AttentionShape, threads: Int) {
        self.threads = threads
        let rows = s.batch * s.seqLen
        qkvCapacity = max(rows * s.qkvStride, 1)
        dOutCapacity = max(rows * s.outStride, 1)
        scratchCapacity = max(threads * s.scratchPerWorker, 1)
        qkv16 = .allocate(capacity: qkvCapacity)
        dOut16 = .allocate(capacity: dOutCapacity)
        scratch16 = .allocate(capacity: scratchCapacity)
        products = DNNLWorkerMatmul(workers: threads, operands: .bf16)
    }

    deinit {
        qkv16.deallocate()
        dOut16.deallocate()
        scratch16.deallocate()
    }

    /// Before a pass over `s`: converts qkv (and dO, backward) to bf16 and notes where the fp32
    /// operands live, `scratch` being attention's per-worker score blocks.
    func bind(
        _ s: AttentionShape, qkv: UnsafePointer<Float>, dOut: UnsafePointer<Float>? = nil,
        scratch: UnsafePointer<Float>
    ) {
        let rows = s.batch * s.seqLen
        qkvCount = rows * s.qkvStride
        dOutCount = dOut == nil ? 0 : rows * s.outStride
        precondition(
            qkvCount <= qkvCapacity && dOutCount <= dOutCapacity && threads * s.scratchPerWorker <= scratchCapacity,
            "attention of \(s.batch) × \(s.seqLen) exceeds the bf16 buffers it was sized for")
        DNNL.shared.toBF16(qkv, qkv16, count: qkvCount, threads: threads)
        if let dOut { DNNL.shared.toBF16(dOut, dOut16, count: dOutCount, threads: threads) }
        self.qkv = qkv
        self.dOut = dOut
        self.scratch = scratch
    }

    /// The bf16 copy of the operand at `p`, an address inside qkv, dO or the score blocks.
    @inline(__always)
    func mirror(_ p: UnsafePointer<Float>) -> UnsafePointer<UInt16> {
        if let base = scratch, p >= base, p - base < scratchCapacity { return UnsafePointer(scratch16 + (p - base)) }
        if let base = qkv, p >= base, p - base < qkvCount { return UnsafePointer(qkv16 + (p - base)) }
        if let base = dOut, p >= base, p - base < dOutCount { return UnsafePointer(dOut16 + (p - base)) }
        preconditionFailure("bf16 attention product of an operand outside qkv, dO and the score blocks")
    }

    /// The bf16 copy of a block of `rows` × `cols` in the score blocks (leading dimension `ld`),
    /// rounded to nearest even as oneDNN's conversion does.
    func round(_ x: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int) {
        let y = UnsafeMutablePointer(mutating: mirror(x))
        for r in 0..<rows {
            let from = x + r * ld, to = y + r * ld
            for c in 0..<cols { to[c] = BFloat16.round(from[c]) }
        }
    }
}
