import COpenBLAS
import Dispatch
import Synchronization

extension Gemm {
    /// How many concurrent callers' packing buffers have been through a wide product.
    private static let warmedBuffers = Mutex(0)

    /// Runs one product through each of `concurrent` OpenBLAS packing buffers, once per process.
    ///
    /// OpenBLAS 0.3.21 packs the operands of an sgemm into a buffer from a process-wide pool,
    /// one buffer per concurrent caller, and a buffer is slow until a large enough product has
    /// been through it. Measured with a C harness on the Zen machine (AMD EPYC family 23, one
    /// thread, GFLOP/s), on a fresh buffer → after one 64×4096×1024 product through it:
    /// 256×256×64 11.6 → 32.6, 64×256×256 9.6 → 34.7, 64×512×512 23.6 → 36.4; products already
    /// fast stay so (100×300×700: 36.8 → 37.9). Smaller warm-ups cure less: 64×4096×64 only the
    /// first shape, 256×256×256 and 8×8192×1024 none of the second. Two threads each need it on
    /// their own buffer (12 → 32 GFLOP/s each after a concurrent pair; 30 and 19 after one call
    /// on one thread). Prefaulting every page (mlockall) recovers only 13 → 24, so it is not
    /// first-touch alone; the cause is inside the library, the cure is this one call. MoVQ's
    /// attention products (256 positions × 64 channels at VQ-T64's 16² grid) are such shapes.
    /// The arithmetic is the same either way; only the speed changes.
    ///
    /// The callers start together (a bounded rendezvous) so that each takes its own buffer; the
    /// product is 537 MFLOP, about 15 ms per thread at the 35 GFLOP/s one Zen core reaches (not
    /// timed on its own), once per process.
    static func warmBuffers(concurrent: Int) {
        warmedBuffers.withLock { warmed in
            guard concurrent > warmed else { return }
            let m = 64, n = 4096, k = 1024
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
