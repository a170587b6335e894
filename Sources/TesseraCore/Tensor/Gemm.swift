import COpenBLAS

/// Matrix products through OpenBLAS `cblas_sgemm`, row-major throughout.
///
/// The three layouts a linear layer needs, with W stored `[out, in]` as PyTorch does:
///   forward      Y[M,N]  = X[M,K] · W[N,K]ᵀ     `nt`
///   input grad  dX[M,K] += dY[M,N] · W[N,K]     `nn`
///   weight grad dW[N,K] += dY[M,N]ᵀ · X[M,K]    `tn`
/// Large products are cut into blocks of output rows (or columns) that the thread pool takes
/// dynamically; each block is one single-threaded sgemm over the full K. The blocks are a function
/// of the shape alone — one thread runs the same blocks in turn — because a kernel's arithmetic
/// may depend on the shape it is given: OpenBLAS 0.3.21's Zen kernels give other last bits for
/// the rows of a [512, 64]·[64, 64] product computed whole than in blocks of 64 rows. Same
/// calls, same bits: a run repeats on any thread count. The price on one thread, which now runs
/// the blocks instead of one call (`tessera bench gemm`, "1 call" against "1 thread", Zen, best
/// of 5): 0–8 % on bench-tiny's and bench-small's products, 14 % on bench-tiny's output layer
/// (34.8 → 29.9 GFLOP/s); a run on more threads shards anyway and pays nothing.
public enum Gemm {
    /// C = alpha · op(A) · op(B) + beta · C, single call, caller's thread.
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Below this many multiply-adds a product runs on one thread: the split would cost more.
    public static let parallelThreshold = 1 << 21

    /// Same as `sgemm`, sharded over output rows or columns across `pool`.
    public static func parallel(
        _ pool: Parallel, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        pool.prepareGemm()
        if m * n * k < parallelThreshold {
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if pool.blasThreading && pool.threads > 1 {
            // OpenBLAS splits by its own thread count: bit-identical at the same count only.
            Gemm.useBLASThreads(pool.threads)
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            Gemm.useBLASThreads(1)
            return
        }
        // Blocks of at least 64 rows/columns keep each sgemm efficient; about 16 blocks give the
        // dynamic split room to absorb a slow core (each block re-packs the shared operand, the
        // price of that freedom: `tessera bench gemm` shows it next to OpenBLAS's own pool).
        let parts = 16
        if m >= n {
            let grain = max(64, ((m + parts - 1) / parts + 7) / 8 * 8)
            pool.forEachChunk(m, grain: grain) { r in
                let aBlock = transA ? a + r.lowerBound : a + r.lowerBound * lda
                sgemm(
                    transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                    a: aBlock, lda: lda, b: b, ldb: ldb, beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        } else {
            let grain = max(64, ((n + parts - 1) / parts + 7) / 8 * 8)
            pool.forEachChunk(n, grain: grain) { r in
                let bBlock = transB ? b + r.lowerBound * ldb : b + r.lowerBound
                sgemm(
                    transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha,
                    a: a, lda: lda, b: bBlock, ldb: ldb, beta: beta, c: c + r.lowerBound, ldc: ldc)
            }
        }
    }

    /// Y[M,N] = X[M,K]·Wᵀ (W is [N,K]), overwriting Y. One row (decoding) is a matrix–vector
    /// product: sgemv over blocks of W's rows, since sgemm packs both operands for nothing there.
    /// With `mixed` (precision: bf16) the product runs in bf16 on oneDNN, W from the model's mirror.
    public static func linearForward(
        _ pool: Parallel, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int, mixed: MixedPrecision? = nil
    ) {
        if let mixed {
            mixed.linearForward(x: x, w: w, y: y, m: m, k: k, n: n)
            return
        }
        if m == 1 {
            // Blocks of W's rows fixed by the shape (not the thread count): the same sgemv calls
            // on any number of threads.
            let grain = n * k >= 1 << 18 ? max(64, ((n + 15) / 16 + 7) / 8 * 8) : n
            pool.forEachChunk(n, grain: grain) { r in
                cblas_sgemv(
                    CblasRowMajor, CblasNoTrans, Int32(r.count), Int32(k), 1, w + r.lowerBound * k, Int32(k),
                    x, 1, 0, y + r.lowerBound, 1)
            }
            return
        }
        parallel(
            pool, transA: false, transB: true, m: m, n: n, k: k, a: x, lda: k, b: w, ldb: k,
            beta: 0, c: y, ldc: n)
    }

    /// dX[M,K] (+)= dY[M,N]·W[N,K]; `accumulate` false overwrites.
    public static func linearBackwardInput(
        _ pool: Parallel, dy: UnsafePointer<Float>, w: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int,
        accumulate: Bool
    ) {
        parallel(
            pool, transA: false, transB: false, m: m, n: k, k: n, a: dy, lda: n, b: w, ldb: k,
            beta: accumulate ? 1 : 0, c: dx, ldc: k)
    }

    /// dW[N,K] += dY[M,N]ᵀ·X[M,K].
    public static func linearBackwardWeight(
        _ pool: Parallel, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
        dw: UnsafeMutablePointer<Float>, m: Int, k: Int, n: Int
    ) {
        parallel(
            pool, transA: true, transB: false, m: n, n: k, k: m, a: dy, lda: n, b: x, ldb: k,
            beta: 1, c: dw, ldc: k)
    }

    /// Both gradients of a linear layer: dX[M,K] = dY·W (overwritten), then dW[N,K] += dYᵀ·X
    /// (skipped when `dw` is nil: a frozen weight). In bf16, dY is converted once for the two products.
    public static func linearBackward(
        _ pool: Parallel, dy: UnsafePointer<Float>, w: UnsafePointer<Float>, x: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>?, m: Int, k: Int, n: Int,
        mixed: MixedPrecision? = nil
    ) {
        if let mixed {
            mixed.linearBackward(dy: dy, w: w, x: x, dx: dx, dw: dw, m: m, k: k, n: n)
            return
        }
        linearBackwardInput(pool, dy: dy, w: w, dx: dx, m: m, k: k, n: n, accumulate: false)
        if let dw { linearBackwardWeight(pool, dy: dy, x: x, dw: dw, m: m, k: k, n: n) }
    }

    nonisolated(unsafe) static var currentBLASThreads = 1
    @inline(__always)
    static func useBLASThreads(_ n: Int) {
        if currentBLASThreads != n { openblas_set_num_threads(Int32(n)); currentBLASThreads = n }
    }

    /// OpenBLAS's own thread count (Tessera keeps it at 1 and shards itself; benchmarks compare).
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// Name of the OpenBLAS kernel set in use (e.g. "Haswell", "Cooperlake").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}
