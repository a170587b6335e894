import COpenBLAS
import Dispatch
import Synchronization

extension Gemm {
    /// How many concurrent callers' packing buffers have been through a wide product.
    private static let warmedBuffers = Mutex(0)

    /// Runs one wide product on each of `concurrent` OpenBLAS packing buffers, once per process.
    ///
    /// OpenBLAS 0.3.21 packs the operands of an sgemm into a buffer from a process-wide pool,
    /// one buffer per concurrent caller. A buffer that has only ever packed narrow products is
    /// slow: measured with a C harness on the Zen machine (AMD EPYC family 23, one thread),
    /// 256×256×64 runs at 12–14 GFLOP/s on a fresh buffer and at 30–37 once the same buffer has
    /// packed one product whose packed B is larger — 352×352×64 or 64×2000×64 does it, 320×320×64
    /// and 2000×64×64 do not; two threads each need it on their own buffer (12 → 32 GFLOP/s
    /// each after a concurrent pair, 30 and 19 after one call on the main thread). Prefaulting
    /// every page (mlockall) recovers only 13 → 24, so it is not first-touch alone; the cause is
    /// inside the library, the cure is this one call. MoVQ's attention products (positions ×
    /// positions × channels, 256 × 256 × 64 at VQ-T64's 16² grid) are all narrow: the cure took
    /// its attention from 82.6 to 69.0 ms a training pass (bench vq --profile, vq-emoji, batch 8,
    /// 2 threads). The arithmetic is the same either way; only the speed changes.
    ///
    /// The callers start together (a bounded rendezvous) so that each takes its own buffer; the
    /// whole costs about a millisecond per thread, once.
    static func warmBuffers(concurrent: Int) {
        warmedBuffers.withLock { warmed in
            guard concurrent > warmed else { return }
            let m = 64, n = 4096, k = 64
            let a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: k * n)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: concurrent * m * n)
            defer { c.deallocate() }
            let arrived = Atomic<Int>(0)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    DispatchQueue.concurrentPerform(iterations: concurrent) { i in
                        arrived.add(1, ordering: .relaxed)
                        // Wait (≤ 20 ms) for the others, so that the calls overlap and each
                        // takes a buffer of its own; a caller that never comes costs nothing more.
                        let deadline = DispatchTime.now().uptimeNanoseconds + 20_000_000
                        while arrived.load(ordering: .relaxed) < concurrent
                            && DispatchTime.now().uptimeNanoseconds < deadline
                        {}
                        sgemm(
                            transA: false, transB: false, m: m, n: n, k: k, a: a.baseAddress!, lda: k,
                            b: b.baseAddress!, ldb: n, beta: 0, c: c + i * m * n, ldc: n)
                    }
                }
            }
            warmed = concurrent
        }
    }
}
