import Foundation

/// bf16 products where oneDNN 2.6 has no bf16 kernels (`DNNL.hasBF16Kernels` false: CPUs below
/// `avx512_core`), with the arithmetic of the native ones: the operands are bf16 values and the
/// products are summed in fp32. A product of two bf16 numbers is exact in fp32 (8 + 8 significand
/// bits ≤ 24), so widening the bf16 operands to fp32 and multiplying them with OpenBLAS's sgemm
/// computes the same sum of the same exact products; only the order of the fp32 additions is the
/// kernel's own, which moves a result by at most k·2⁻²⁴·Σ|a||b| — the bound the native kernels
/// are held to as well (BFloat16Tests).
///
/// It widens every operand per call, on one thread, so it is slower than fp32 (a one-off timing
/// on Zen 1, not a benchmark command, when the product too ran on one thread: 512³ took 13.0 ms
/// against 4.0 for fp32 on 2 threads). So `precision: bf16` in a config refuses such a CPU
/// (`Precision.unsupported`) unless asked to emulate (`TESSERA_BF16_EMULATION=1`). The emulation
/// exists so that the bf16 model code — the weight mirror, the conversions, which operand is
/// rounded where — runs, and is tested against its oracles, on every machine, not only on one
/// with avx512_bf16, and so that bf16's numerics can be checked on any machine.
public final class BF16Emulation {
    private var a: UnsafeMutablePointer<Float>?, b: UnsafeMutablePointer<Float>?
    private var aCapacity = 0, bCapacity = 0
    private var pools: [Int: Parallel] = [:]

    public init() {}

    deinit {
        a?.deallocate()
        b?.deallocate()
    }

    /// C[m,n] = alpha·op(A)·op(B) (+ C when `accumulate`), A and B bf16 in `DNNL.matmul`'s
    /// layouts, C fp32, the product sharded over `threads` as `Gemm.parallel` shards (blocks fixed
    /// by the shape, so the same bits on any thread count). One caller at a time (the scratch is
    /// shared; DNNL calls it under its lock).
    public func matmul(
        threads: Int = 1, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a a16: UnsafePointer<UInt16>, lda: Int, b b16: UnsafePointer<UInt16>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // Stored shapes: A is [m, k] or, transposed, [k, m]; B is [k, n] or [n, k].
        let aRows = transA ? k : m, aCols = transA ? m : k
        let bRows = transB ? n : k, bCols = transB ? k : n
        let a32 = Self.reserve(&a, &aCapacity, aRows * aCols)
        let b32 = Self.reserve(&b, &bCapacity, bRows * bCols)
        Self.widen(a16, ld: lda, rows: aRows, cols: aCols, into: a32)
        Self.widen(b16, ld: ldb, rows: bRows, cols: bCols, into: b32)
        // BLAS wants leading dimensions ≥ 1 even for an empty operand (k = 0: C = 0 or C unchanged).
        Gemm.parallel(
            pool(threads), transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a32,
            lda: max(aCols, 1), b: b32,
            ldb: max(bCols, 1), beta: accumulate ? 1 : 0, c: c, ldc: ldc)
    }

    private func pool(_ threads: Int) -> Parallel {
        if let p = pools[threads] { return p }
        let p = Parallel(threads: max(threads, 1))
        pools[threads] = p
        return p
    }

    /// y[i] = bf16(x[i]), rounded to nearest even (NaN kept a quiet NaN), split over `threads`:
    /// `DNNL.toBF16` where oneDNN has no bf16 kernels. oneDNN's own conversion there is its
    /// reference reorder, one element at a time: converting bench-tiny's 5.8 M weights took 631 ms
    /// a step (`bench train --profile`, "bf16 weights", Zen 1, the machine shared), 9 M elements/s.
    /// The same bits (BFloat16Tests checks this rounding against oneDNN's conversion).
    func toBF16(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, count: Int, threads: Int) {
        pool(threads).forEachChunk(count, grain: Parallel.grain(for: count, minimum: 1 << 16)) { r in
            for i in r { y[i] = BFloat16.round(x[i]) }
        }
    }

    /// y[i] = Float(x[i]) (exact), split over `threads`: `DNNL.toFloat` without bf16 kernels.
    func toFloat(_ x: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        pool(threads).forEachChunk(count, grain: Parallel.grain(for: count, minimum: 1 << 16)) { r in
            for i in r { y[i] = BFloat16.float(x[i]) }
        }
    }

    /// x[i] = the bf16 value nearest x[i] (ties to even), kept as fp32: an operand as a bf16
    /// kernel would read it.
    static func roundInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = BFloat16.float(BFloat16.round(x[i])) }
    }

    private static func widen(
        _ x: UnsafePointer<UInt16>, ld: Int, rows: Int, cols: Int, into y: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let from = x + r * ld, to = y + r * cols
            for c in 0..<cols { to[c] = Float(bitPattern: UInt32(from[c]) << 16) }
        }
    }

    private static func reserve(
        _ p: inout UnsafeMutablePointer<Float>?, _ capacity: inout Int, _ count: Int
    ) -> UnsafeMutablePointer<Float> {
        if p == nil || capacity < count {
            p?.deallocate()
            p = .allocate(capacity: max(count, 1))
            capacity = max(count, 1)
        }
        return p!
    }
}
