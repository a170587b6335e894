import CDNNL
import Foundation

/// bf16 products through oneDNN (Debian's libdnnl 2.6, GNU OpenMP runtime): operands in bf16,
/// accumulation and the result in fp32, the `brg:avx512_core_bf16` kernels on a CPU with
/// `avx512_bf16` (`vdpbf16ps`: two bf16 products summed into an fp32 lane per instruction, twice
/// the fp32 FMA rate). fp32 stays on OpenBLAS (`Gemm`), the oracle path.
///
/// Layouts are `Gemm`'s, row-major with leading dimensions; a transposed operand is the same
/// memory read with swapped strides, so no copy is made:
///   A logical [m, k]: strides (lda, 1), transposed (A stored [k, m]) (1, lda)
///   B logical [k, n]: strides (ldb, 1), transposed (B stored [n, k]) (1, ldb)
///   C [m, n] fp32:    strides (ldc, 1); beta 1 is oneDNN's `sum` post-op (C += A·B)
/// Primitives are created once per shape and reused (a descriptor costs tens of microseconds,
/// more than a small product); memory objects are kept with them and pointed at the caller's
/// buffers on each call. Calls come from one thread at a time (the training loop's); oneDNN
/// spreads a product over `threads` OpenMP threads, each output element reduced by one thread
/// in a fixed order, so a run repeats bit for bit at the same thread count.
public final class DNNL: @unchecked Sendable {
    public static let shared = DNNL()

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    /// Held by every call, DNNLConvolution's too: one oneDNN call at a time.
    let lock = NSLock()
    private var matmuls: [MatmulKey: Cached] = [:]
    private var reorders: [ReorderKey: Cached] = [:]
    /// The products where oneDNN has no bf16 kernels (`hasBF16Kernels` false).
    private let emulation = BF16Emulation()

    /// `threads` is part of a primitive: oneDNN splits the work for the OpenMP team size it sees
    /// when the primitive is created (one made for 1 thread runs on 1 however many are given).
    private struct MatmulKey: Hashable {
        let transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        let accumulate: Bool, alpha: Float, threads: Int
    }

    private struct ReorderKey: Hashable {
        let count: Int, toBF16: Bool, threads: Int
    }

    /// A primitive with one memory object per argument (`args[i].arg` is the oneDNN argument id).
    private final class Cached {
        let primitive: dnnl_primitive_t
        var args: [dnnl_exec_arg_t]
        init(primitive: dnnl_primitive_t, args: [dnnl_exec_arg_t]) {
            self.primitive = primitive
            self.args = args
        }
    }

    private init() {
        var e: dnnl_engine_t?
        DNNL.check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine")
        var s: dnnl_stream_t?
        DNNL.check(dnnl_stream_create(&s, e!, UInt32(dnnl_stream_default_flags.rawValue)), "stream")
        engine = e!
        stream = s!
    }

    /// Whether this CPU multiplies bf16 natively (`avx512_bf16` or AMX); without it oneDNN
    /// converts to fp32 inside its kernels and bf16 is slower than fp32, never faster.
    public static let nativeBF16: Bool = bf16Instructions(flags: BLASKernel.cpuFlags()) != nil

    /// Whether oneDNN has bf16 matmul and convolution kernels on this CPU at all: native with
    /// `avx512_bf16` or AMX, emulated (operands widened to fp32 inside the kernel, slower than
    /// fp32) on other `avx512_core` CPUs, none below — on an AVX2-only CPU oneDNN 2.6 answers
    /// `unimplemented` to a bf16 primitive. Asked of oneDNN itself: a 16³ bf16 matmul descriptor
    /// (its bf16 convolutions have the same condition in 2.6, `avx512_core`).
    /// `precision: bf16` needs more (`nativeBF16`); a benchmark of the kernels needs this. Without
    /// them `matmul` and `DNNLConvolution` emulate bf16 (`BF16Emulation`), so the bf16 code and its
    /// tests run on every CPU.
    public static let hasBF16Kernels: Bool = shared.canMakeBF16Matmul()

    private func canMakeBF16Matmul() -> Bool {
        var aMD = DNNL.matrix(rows: 16, cols: 16, strides: (16, 1), type: dnnl_bf16)
        var bMD = aMD
        var cMD = DNNL.matrix(rows: 16, cols: 16, strides: (16, 1), type: dnnl_f32)
        var desc = dnnl_matmul_desc_t()
        DNNL.check(dnnl_matmul_desc_init(&desc, &aMD, &bMD, nil, &cMD), "matmul descriptor")
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &desc, nil, engine, nil) == dnnl_success else { return false }
        dnnl_primitive_desc_destroy(pd)
        return true
    }

    /// The flag (of /proc/cpuinfo) that makes bf16 products native, nil if the CPU has none.
    public static func bf16Instructions(flags: Set<String>) -> String? {
        ["amx_bf16", "avx512_bf16"].first { flags.contains($0) }
    }

    /// The instruction set oneDNN dispatches to on this CPU (e.g. "avx512_core_bf16").
    public static var isaName: String {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx2: return "avx2"
        default: return "other"
        }
    }

    /// C[m,n] = alpha·op(A)·op(B) (+ C when `accumulate`), A and B bf16, C fp32 — on a CPU where
    /// oneDNN has no bf16 kernels, by `BF16Emulation` (the same arithmetic, slower than fp32).
    public func matmul(
        threads: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
        accumulate: Bool, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        lock.lock()
        defer { lock.unlock() }
        guard DNNL.hasBF16Kernels else {
            emulation.matmul(
                threads: threads, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                b: b, ldb: ldb,
                accumulate: accumulate, c: c, ldc: ldc)
            return
        }
        let key = MatmulKey(
            transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
            accumulate: accumulate, alpha: alpha, threads: threads)
        useThreads(threads)
        let p = matmuls[key] ?? makeMatmul(key)
        run(
            p, [UnsafeMutableRawPointer(mutating: a), UnsafeMutableRawPointer(mutating: b), UnsafeMutableRawPointer(c)])
    }

    /// y[i] = bf16(x[i]), round to nearest even (NaN stays NaN): oneDNN's conversion, or
    /// `BF16Emulation`'s where oneDNN has no bf16 kernels (its reorder is then the reference one,
    /// far slower); `viaOneDNN` asks for oneDNN's whatever the CPU (tests compare the two).
    public func toBF16(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, count: Int, threads: Int,
        viaOneDNN: Bool = false
    ) {
        guard DNNL.hasBF16Kernels || viaOneDNN else {
            lock.lock()
            defer { lock.unlock() }
            emulation.toBF16(x, y, count: count, threads: threads)
            return
        }
        reorder(
            UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(y), count: count, toBF16: true,
            threads: threads)
    }

    /// y[i] = Float(x[i]) (exact), by oneDNN or, without its bf16 kernels, `BF16Emulation`.
    public func toFloat(
        _ x: UnsafePointer<UInt16>, _ y: UnsafeMutablePointer<Float>, count: Int, threads: Int,
        viaOneDNN: Bool = false
    ) {
        guard DNNL.hasBF16Kernels || viaOneDNN else {
            lock.lock()
            defer { lock.unlock() }
            emulation.toFloat(x, y, count: count, threads: threads)
            return
        }
        reorder(
            UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(y), count: count, toBF16: false,
            threads: threads)
    }

    private func reorder(
        _ x: UnsafeMutableRawPointer, _ y: UnsafeMutableRawPointer, count: Int, toBF16: Bool, threads: Int
    ) {
        if count == 0 { return }
        let key = ReorderKey(count: count, toBF16: toBF16, threads: threads)
        lock.lock()
        defer { lock.unlock() }
        useThreads(threads)
        let p = reorders[key] ?? makeReorder(key)
        run(p, [x, y])
    }

    private func run(_ p: Cached, _ handles: [UnsafeMutableRawPointer]) {
        for (i, h) in handles.enumerated() {
            DNNL.check(dnnl_memory_set_data_handle_v2(p.args[i].memory, h, stream), "memory handle")
        }
        DNNL.check(dnnl_primitive_execute(p.primitive, stream, Int32(p.args.count), p.args), "execute")
        DNNL.check(dnnl_stream_wait(stream), "stream wait")
    }

    /// Sets the OpenMP team size of the calling thread, on every call: `omp_set_num_threads`
    /// sets a per-thread value (an ICV of the caller), so a process-wide note of the last count
    /// set would skip the call on a thread that had set another one, and a primitive made for
    /// 2 threads would run on a team of 1 (the full test suite saw other gradient bits from a
    /// convolution test on 2 threads while other tests called oneDNN on 1).
    func useThreads(_ threads: Int) {
        if omp_get_max_threads() != Int32(threads) { omp_set_num_threads(Int32(threads)) }
    }

    /// The OpenMP team a oneDNN call from this thread runs on: the `threads` of its last call.
    public static var callingThreadTeamSize: Int { Int(omp_get_max_threads()) }

    private func makeMatmul(_ key: MatmulKey) -> Cached {
        let d = DNNL.matmulDescriptor(
            transA: key.transA, transB: key.transB, m: key.m, n: key.n, k: key.k, lda: key.lda, ldb: key.ldb,
            ldc: key.ldc, alpha: key.alpha, accumulate: key.accumulate, operands: dnnl_bf16, userScratchpad: false)
        defer { dnnl_primitive_desc_destroy(d.pd) }
        let p = make(d.pd, [(DNNL_ARG_SRC_0, d.a), (DNNL_ARG_WEIGHTS_0, d.b), (DNNL_ARG_DST_0, d.c)])
        matmuls[key] = p
        return p
    }

    /// The primitive descriptor (the caller destroys it) of C[m,n] = alpha·op(A)·op(B) (+ C when
    /// `accumulate`), A and B of type `operands` in `matmul`'s layouts, C fp32, with the memory
    /// descriptors of A, B and C; `userScratchpad`: the caller hands each run its scratchpad.
    static func matmulDescriptor(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int, alpha: Float,
        accumulate: Bool, operands: dnnl_data_type_t, userScratchpad: Bool
    ) -> (pd: dnnl_primitive_desc_t, a: dnnl_memory_desc_t, b: dnnl_memory_desc_t, c: dnnl_memory_desc_t) {
        var aMD = matrix(rows: m, cols: k, strides: transA ? (1, lda) : (lda, 1), type: operands)
        var bMD = matrix(rows: k, cols: n, strides: transB ? (1, ldb) : (ldb, 1), type: operands)
        var cMD = matrix(rows: m, cols: n, strides: (ldc, 1), type: dnnl_f32)
        var desc = dnnl_matmul_desc_t()
        check(dnnl_matmul_desc_init(&desc, &aMD, &bMD, nil, &cMD), "matmul descriptor")
        var attr: dnnl_primitive_attr_t?
        check(dnnl_primitive_attr_create(&attr), "attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        if userScratchpad {
            check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "scratchpad mode")
        }
        if alpha != 1 {
            var alpha = alpha
            check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "output scale")
        }
        if accumulate { appendSum(to: attr) }
        var pd: dnnl_primitive_desc_t?
        check(dnnl_primitive_desc_create(&pd, &desc, attr, shared.engine, nil), "matmul primitive descriptor")
        return (pd!, aMD, bMD, cMD)
    }

    private func makeReorder(_ key: ReorderKey) -> Cached {
        var f32 = DNNL.matrix(rows: 1, cols: key.count, strides: (key.count, 1), type: dnnl_f32)
        var bf16 = DNNL.matrix(rows: 1, cols: key.count, strides: (key.count, 1), type: dnnl_bf16)
        var pd: dnnl_primitive_desc_t?
        if key.toBF16 {
            DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &f32, engine, &bf16, engine, nil), "reorder")
        } else {
            DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &bf16, engine, &f32, engine, nil), "reorder")
        }
        defer { dnnl_primitive_desc_destroy(pd) }
        let p = make(
            pd!,
            key.toBF16
                ? [(DNNL_ARG_SRC_0, f32), (DNNL_ARG_DST_0, bf16)] : [(DNNL_ARG_SRC_0, bf16), (DNNL_ARG_DST_0, f32)])
        reorders[key] = p
        return p
    }

    /// Adds the `sum` post-op to `attr`: the result is added to what the destination holds.
    static func appendSum(to attr: dnnl_primitive_attr_t?) {
        var ops: dnnl_post_ops_t?
        check(dnnl_post_ops_create(&ops), "post-ops")
        defer { dnnl_post_ops_destroy(ops) }
        check(dnnl_post_ops_append_sum(ops, 1), "sum post-op")
        check(dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops")
    }

    /// The primitive of `pd`, with a buffer-less memory object for each (argument, descriptor).
    private func make(_ pd: dnnl_primitive_desc_t, _ args: [(Int32, dnnl_memory_desc_t)]) -> Cached {
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd), "primitive")
        var exec: [dnnl_exec_arg_t] = []
        for (arg, md) in args {
            var md = md
            var mem: dnnl_memory_t?
            DNNL.check(dnnl_memory_create(&mem, &md, engine, nil), "memory")
            exec.append(dnnl_exec_arg_t(arg: arg, memory: mem))
        }
        return Cached(primitive: prim!, args: exec)
    }

    private static func matrix(
        rows: Int, cols: Int, strides: (Int, Int), type: dnnl_data_type_t
    ) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let dims: [Int64] = [Int64(rows), Int64(cols)]
        let st: [Int64] = [Int64(strides.0), Int64(strides.1)]
        check(dnnl_memory_desc_init_by_strides(&md, 2, dims, type, st), "memory descriptor \(rows)×\(cols)")
        return md
    }

    /// oneDNN refuses only what Tessera never asks of it (shapes and types are fixed by the code,
    /// bounded before; bf16 primitives only where `hasBF16Kernels`), so a failure is a programming
    /// error, reported with its status.
    static func check(_ s: dnnl_status_t, _ what: String) {
        if s != dnnl_success { fatalError("oneDNN: \(what) failed with status \(s.rawValue)") }
    }
}
