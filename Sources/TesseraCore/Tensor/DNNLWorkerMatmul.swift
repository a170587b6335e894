import CDNNL
import Foundation

/// Matrix products that the workers of a `Parallel` pool run at the same time, each on one
/// thread: attention's products per (sequence, KV group) in bf16. `DNNL.matmul` cannot serve
/// them — it takes one lock and spreads one product over an OpenMP team, while here the workers
/// already hold the cores. What makes concurrent calls safe in Debian's oneDNN 2.6, built without
/// `DNNL_ENABLE_CONCURRENT_EXEC` (its library scratchpad is shared by the primitives of a thread,
/// so a primitive must not run on two threads at once in that mode):
///   - every primitive is made with `scratchpad_mode_user`, and each worker hands it a scratchpad
///     of its own ("thread-safe as long as the scratchpad buffers are not used concurrently");
///   - each worker has its own stream and its own memory objects, pointed at its operands;
///   - each call runs on a team of one (the primitive is made, and runs, with the calling
///     thread's OpenMP team set to 1), which reduces every output element in a fixed order: the
///     same bits whichever worker runs a product, and for any number of workers;
///   - the table of primitives is the only shared state, behind a lock held to find or make one.
/// Operands are `f32` or `bf16` (the result fp32 either way); the f32 kind is there so that this
/// machinery runs on oneDNN's own kernels on every CPU, the bf16 kind needs `DNNL.hasBF16Kernels`
/// and is otherwise emulated per worker (`BF16Emulation`, the same arithmetic).
///
/// Layouts are `DNNL.matmul`'s (row-major, leading dimensions, a transposed operand read through
/// swapped strides, `accumulate` as oneDNN's `sum` post-op, `alpha` as its output scale).
public final class DNNLWorkerMatmul: @unchecked Sendable {
    public enum Operands: Sendable { case f32, bf16 }

    public let operands: Operands
    /// bf16 operands on a CPU without oneDNN's bf16 kernels: each worker emulates them.
    public var emulated: Bool { operands == .bf16 && !DNNL.hasBF16Kernels }

    private struct Key: Hashable {
        let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        let accumulate: Bool, alpha: Float
    }

    /// A primitive and what a worker needs to run it: its descriptors and scratchpad size.
    private final class Primitive {
        let primitive: dnnl_primitive_t
        let a, b, c, scratchpad: dnnl_memory_desc_t
        let scratchpadBytes: Int
        init(
            _ primitive: dnnl_primitive_t, a: dnnl_memory_desc_t, b: dnnl_memory_desc_t, c: dnnl_memory_desc_t,
            scratchpad: dnnl_memory_desc_t, scratchpadBytes: Int
        ) {
            self.primitive = primitive
            self.a = a; self.b = b; self.c = c
            self.scratchpad = scratchpad
            self.scratchpadBytes = scratchpadBytes
        }
    }

    /// One worker's stream, scratchpad and memory objects (one set per primitive it has run).
    private final class Worker {
        let stream: dnnl_stream_t
        var scratchpad: UnsafeMutableRawPointer?
        var scratchpadCapacity = 0
        var args: [Key: [dnnl_exec_arg_t]] = [:]
        let emulation: BF16Emulation?

        init(engine: dnnl_engine_t, emulated: Bool) {
            var s: dnnl_stream_t?
            DNNL.check(dnnl_stream_create(&s, engine, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
            stream = s!
            emulation = emulated ? BF16Emulation() : nil
        }

        deinit {
            for list in args.values { for arg in list { dnnl_memory_destroy(arg.memory) } }
            dnnl_stream_destroy(stream)
            free(scratchpad)
        }

        /// The scratchpad, grown to `bytes` (64-byte aligned).
        func reserve(_ bytes: Int) -> UnsafeMutableRawPointer? {
            if bytes == 0 { return nil }
            if scratchpadCapacity < bytes {
                free(scratchpad)
                scratchpad = nil
                precondition(posix_memalign(&scratchpad, 64, bytes) == 0, "oneDNN scratchpad of \(bytes) bytes")
                scratchpadCapacity = bytes
            }
            return scratchpad
        }
    }

    private let lock = NSLock()
    private var primitives: [Key: Primitive] = [:]
    private let workers: [Worker]

    /// `workers`: the pool's thread count (a worker index of `Parallel.runWithWorker` is < it).
    public init(workers: Int, operands: Operands) {
        self.operands = operands
        let engine = DNNL.shared.engine
        let emulate = operands == .bf16 && !DNNL.hasBF16Kernels
        self.workers = (0..<max(workers, 1)).map { _ in Worker(engine: engine, emulated: emulate) }
    }

    deinit {
        for p in primitives.values { dnnl_primitive_destroy(p.primitive) }
    }

    /// C[m,n] = alpha·op(A)·op(B) (+ C when `accumulate`) on worker `worker`'s thread, A and B bf16.
    public func matmul(
        worker: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(operands == .bf16, "bf16 operands given to an f32 DNNLWorkerMatmul")
        if m == 0 || n == 0 { return }
        if let emulation = workers[worker].emulation {
            emulation.matmul(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                accumulate: accumulate, c: c, ldc: ldc)
            return
        }
        run(
            worker,
            Key(
                transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                accumulate: accumulate, alpha: alpha), a: a, b: b, c: c)
    }

    /// The same product with f32 operands, on oneDNN's fp32 kernels.
    public func matmul(
        worker: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(operands == .f32, "f32 operands given to a bf16 DNNLWorkerMatmul")
        if m == 0 || n == 0 { return }
        run(
            worker,
            Key(
                transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                accumulate: accumulate, alpha: alpha), a: a, b: b, c: c)
    }

    private func run(_ w: Int, _ key: Key, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>) {
        // A team of one on this thread, before a primitive is made here (oneDNN sizes its split
        // for the team it sees then) and before it runs.
        DNNL.shared.useThreads(1)
        let p = primitive(key)
        let worker = workers[w]
        let args = worker.args[key] ?? makeArgs(p, key, worker)
        // Pointed one by one (no array of handles: this runs per product, allocation-free).
        func point(_ i: Int, _ handle: UnsafeMutableRawPointer?) {
            DNNL.check(dnnl_memory_set_data_handle_v2(args[i].memory, handle, worker.stream), "memory handle")
        }
        point(0, UnsafeMutableRawPointer(mutating: a))
        point(1, UnsafeMutableRawPointer(mutating: b))
        point(2, UnsafeMutableRawPointer(c))
        if args.count > 3 { point(3, worker.reserve(p.scratchpadBytes)) }
        DNNL.check(dnnl_primitive_execute(p.primitive, worker.stream, Int32(args.count), args), "execute")
        DNNL.check(dnnl_stream_wait(worker.stream), "stream wait")
    }

    /// The worker's memory objects for `p`: A, B, C and, when it needs one, the scratchpad.
    private func makeArgs(_ p: Primitive, _ key: Key, _ worker: Worker) -> [dnnl_exec_arg_t] {
        var list: [dnnl_exec_arg_t] = []
        var roles = [(DNNL_ARG_SRC_0, p.a), (DNNL_ARG_WEIGHTS_0, p.b), (DNNL_ARG_DST_0, p.c)]
        if p.scratchpadBytes > 0 { roles.append((DNNL_ARG_SCRATCHPAD, p.scratchpad)) }
        for (id, md) in roles {
            var md = md
            var mem: dnnl_memory_t?
            DNNL.check(dnnl_memory_create(&mem, &md, DNNL.shared.engine, nil), "memory")
            list.append(dnnl_exec_arg_t(arg: id, memory: mem))
        }
        worker.args[key] = list
        return list
    }

    private func primitive(_ key: Key) -> Primitive {
        lock.lock()
        defer { lock.unlock() }
        if let p = primitives[key] { return p }
        let d = DNNL.matmulDescriptor(
            transA: key.transA, transB: key.transB, m: key.m, n: key.n, k: key.k, lda: key.lda, ldb: key.ldb,
            ldc: key.ldc, alpha: key.alpha, accumulate: key.accumulate,
            operands: operands == .bf16 ? dnnl_bf16 : dnnl_f32, userScratchpad: true)
        defer { dnnl_primitive_desc_destroy(d.pd) }
        var scratchpad =
            dnnl_primitive_desc_query_md(d.pd, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t()
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, d.pd), "matmul primitive")
        let p = Primitive(
            prim!, a: d.a, b: d.b, c: d.c, scratchpad: scratchpad,
            scratchpadBytes: dnnl_memory_desc_get_size(&scratchpad))
        primitives[key] = p
        return p
    }
}
