import COpenBLAS
import Dispatch
import Synchronization

/// Runs index ranges on a fixed number of threads. Work is split into tasks that workers take
/// from a shared counter, so a descheduled second vCPU delays only the tasks it holds, never
/// half the job. Task boundaries depend only on the problem size, never on the thread count,
/// so results are bit-identical whatever `threads` is.
public final class Parallel: @unchecked Sendable {
    public let threads: Int
    /// Large GEMMs on OpenBLAS's own thread pool (one call) instead of Tessera's dynamic
    /// row/column blocks. Everything else stays on Tessera's workers.
    public let blasThreading: Bool

    public init(threads: Int, blasThreading: Bool = false) {
        precondition(threads >= 1, "threads must be at least 1")
        self.threads = threads
        self.blasThreading = blasThreading
        // Tessera shards matmuls itself: OpenBLAS's own pool would oversubscribe the cores.
        openblas_set_num_threads(1)
    }

    /// Set once OpenBLAS's packing buffers have been warmed for this pool's threads.
    private let gemmReady = Atomic<Bool>(false)

    /// Call before running sgemm on this pool's threads: the first call warms one OpenBLAS packing
    /// buffer per thread (`Gemm.warmBuffers`, a one-off 537 MFLOP product each), later calls cost
    /// one atomic load. Lazy, so that commands which never multiply do not pay for it.
    @inline(__always)
    public func prepareGemm() {
        if gemmReady.load(ordering: .acquiring) { return }
        Gemm.warmBuffers(concurrent: threads)
        gemmReady.store(true, ordering: .releasing)
    }

    /// A one-thread pool, for work already running inside another pool's task.
    public static let serial = Parallel(threads: 1)

    /// Calls `body(task)` once for each task in 0..<tasks, on up to `threads` threads.
    @inline(__always)
    public func run(tasks: Int, _ body: (Int) -> Void) {
        runWithWorker(tasks: tasks) { task, _ in body(task) }
    }

    /// Calls `body(task, worker)` once for each task; `worker` in 0..<threads indexes per-worker scratch space.
    @inline(__always)
    public func runWithWorker(tasks: Int, _ body: (_ task: Int, _ worker: Int) -> Void) {
        if tasks <= 0 { return }
        if threads == 1 || tasks == 1 {
            for t in 0..<tasks { body(t, 0) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: min(threads, tasks)) { worker in
                while true {
                    let t = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if t >= tasks { break }
                    body(t, worker)
                }
            }
        }
    }

    /// Splits 0..<count into chunks of `grain` and calls `body(range)` for each.
    @inline(__always)
    public func forEachChunk(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let g = max(1, grain)
        let tasks = (count + g - 1) / g
        run(tasks: tasks) { t in body((t * g)..<min(count, (t + 1) * g)) }
    }

    /// A grain that gives about 8 chunks per thread-independent unit: enough for dynamic balance,
    /// few enough that per-task overhead stays invisible.
    public static func grain(for count: Int, minimum: Int = 1) -> Int {
        max(minimum, (count + 15) / 16)
    }
}
