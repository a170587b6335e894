import CDNNL
import Foundation

/// Convolutions through oneDNN's convolution primitives on Tessera's layouts — activations NCHW,
/// weights [Cout, Cin, k, k] as PyTorch stores them, bias [Cout] — with fp32 or bf16 operands and
/// fp32 results, the contract of `Conv2d`:
///   forward           y  = conv(x, w) + b      (overwritten)
///   backward data     dx += convᵀ(dy, w)
///   backward weights  dw += Σ dy ⋆ x,  db += Σ dy
/// oneDNN's fast kernels want their own blocked layouts (`format_tag_any`: nChw16c and friends on
/// AVX-512), so each call reorders the operands into them — converting to bf16 on the way when
/// asked — and the results back; a gradient comes back through a reorder with a `sum` post-op, so
/// it accumulates in place (dx may instead be written, where the caller would zero it first). A
/// layout that is already Tessera's is used as it is. Primitives, reorders and their buffers are
/// made once per (shape, pass, precision, threads) and reused.
/// Where oneDNN has no bf16 kernels (`DNNL.hasBF16Kernels`), bf16 runs the fp32 primitives on
/// operands rounded to bf16 values after their reorder — `BF16Emulation`'s arithmetic.
/// `backward` reorders dy once for both of its passes when they want it in the same layout (they
/// do on avx2 and avx512), and x not at all when its layer kept it (`KeptInput`): an activation's
/// reorder costs about a tenth of its convolution (ONEDNN_VERBOSE, VQ-T64, batch 8, Zen: 12 % of
/// oneDNN's time went to activation reorders; the two save 173 of them a training pass).
public final class DNNLConvolution: @unchecked Sendable {
    public static let shared = DNNLConvolution()

    public enum Pass: Hashable, Sendable { case forward, backwardData, backwardWeights }

    private struct Key: Hashable {
        let batch, inChannels, outChannels, height, width, kernel, stride, padBefore, padAfter: Int
        let pass: Pass, bf16: Bool, bias: Bool, threads: Int
        /// backwardWeights right after backwardData of the same call: dy is already reordered,
        /// in the backward-data plan's buffer, when the two layouts agree.
        var dyReordered = false
        /// backwardData writing dx instead of adding to it — and the backwardWeights that shares
        /// its reordered dy.
        var overwrite = false
    }

    /// A layer's input as the forward pass reordered it into oneDNN's layout, kept by the layer
    /// (`ConvBlock`) for its backward pass, whose weight gradient then reads it instead of
    /// reordering x again: one activation reorder fewer per layer and step (VQ-T64, batch 8: 86
    /// a training pass, 0.17 ms each on average, ONEDNN_VERBOSE) for a copy of each layer's input
    /// in memory (peak RSS +1 MB there: the plans' own buffers for x are no longer touched). Used
    /// only when both passes chose the same layout; grows to the largest batch it has seen.
    public final class KeptInput {
        fileprivate var buffer: UnsafeMutableRawPointer?
        fileprivate var capacity = 0
        /// The layout of what the last forward pass left in `buffer` (nil: nothing).
        fileprivate var md: dnnl_memory_desc_t?
        public init() {}
        deinit { free(buffer) }

        fileprivate func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
            if capacity < bytes {
                free(buffer)
                buffer = nil
                precondition(posix_memalign(&buffer, 64, bytes) == 0, "oneDNN buffer of \(bytes) bytes")
                capacity = bytes
            }
            return buffer!
        }
    }

    /// One operand of the convolution: the user's buffer is either the primitive's argument
    /// itself (same layout and type) or reordered to or from an owned buffer in oneDNN's layout.
    private struct Operand {
        /// Index into `Plan.args`.
        let arg: Int
        /// oneDNN's argument id (DNNL_ARG_SRC_0, DNNL_ARG_DST_0, …).
        let id: Int32
        /// A reordered input's buffer and layout (nil otherwise).
        var owned: (buffer: UnsafeMutableRawPointer, md: dnnl_memory_desc_t)?
        /// user → owned (inputs) or owned → user (outputs, with the sum post-op when accumulating).
        let reorder: (primitive: dnnl_primitive_t, args: [dnnl_exec_arg_t])?
        /// Bound for good to another plan's buffer, which that plan has filled: nothing to do.
        var bound = false
        /// bf16 emulated (`BF16Emulation`): the reordered fp32 operand is rounded to bf16 values.
        var rounds = false
    }

    private final class Plan {
        let primitive: dnnl_primitive_t
        var args: [dnnl_exec_arg_t]
        var inputs: [Operand] = []
        var outputs: [Operand] = []
        /// Owned buffers (oneDNN layouts), freed never: plans live as long as the process.
        var buffers: [UnsafeMutableRawPointer] = []
        init(primitive: dnnl_primitive_t, args: [dnnl_exec_arg_t]) {
            self.primitive = primitive
            self.args = args
        }
    }

    private let dnnl = DNNL.shared
    private var plans: [Key: Plan] = [:]

    private init() {}

    /// y[N, Cout, Ho, Wo] = conv(x, w) + b. With `keep`, x as reordered stays there for `backward`.
    /// Each call returns how many operand reorders it ran (what sharing and keeping save).
    @discardableResult
    public func forward(
        threads: Int, _ s: Conv2dShape, bf16: Bool, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, keep: KeptInput? = nil
    ) -> Int {
        let key = self.key(s, .forward, bf16: bf16, bias: bias != nil, threads: threads)
        var inputs = [raw(x), raw(weight)]
        if let bias { inputs.append(raw(bias)) }
        return locked { execute(key, inputs: inputs, outputs: [UnsafeMutableRawPointer(y)], kept: keep, fill: true) }
    }

    /// dx += ∂L/∂x for dy = ∂L/∂y, or dx = ∂L/∂x when not `accumulate` (no zeroing first, and
    /// the result's reorder back to NCHW reads only the result).
    @discardableResult
    public func backwardData(
        threads: Int, _ s: Conv2dShape, bf16: Bool, weight: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool = true
    ) -> Int {
        locked {
            backwardDataLocked(
                threads: threads, s, bf16: bf16, weight: weight, dy: dy, dx: dx, accumulate: accumulate)
        }
    }

    private func backwardDataLocked(
        threads: Int, _ s: Conv2dShape, bf16: Bool, weight: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dx: UnsafeMutablePointer<Float>, accumulate: Bool
    ) -> Int {
        var key = self.key(s, .backwardData, bf16: bf16, bias: false, threads: threads)
        key.overwrite = !accumulate
        return execute(key, inputs: [raw(dy), raw(weight)], outputs: [UnsafeMutableRawPointer(dx)])
    }

    /// dWeight += ∂L/∂w, dBias += ∂L/∂b.
    @discardableResult
    public func backwardWeights(
        threads: Int, _ s: Conv2dShape, bf16: Bool, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?
    ) -> Int {
        locked {
            backwardWeightsLocked(
                threads: threads, s, bf16: bf16, x: x, dy: dy, dWeight: dWeight, dBias: dBias, after: nil)
        }
    }

    /// Both backward passes: dx += ∂L/∂x (when given; dx = ∂L/∂x unless `accumulateDx`),
    /// dWeight += ∂L/∂w, dBias += ∂L/∂b, with dy reordered once, and x not at all when `kept`
    /// holds it as the forward pass of this same x reordered it (the caller's promise: `kept` is
    /// this layer's, filled by its last forward). The same results as `backwardData` then
    /// `backwardWeights`, bit for bit (the same primitives on the same inputs; only copies are
    /// skipped). Both passes run under one hold of the lock: dy waits in the backward-data plan's
    /// buffer for the weight gradient, and another thread's backward of the same shape would
    /// overwrite it in between.
    @discardableResult
    public func backward(
        threads: Int, _ s: Conv2dShape, bf16: Bool, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, kept: KeptInput? = nil, accumulateDx: Bool = true
    ) -> Int {
        locked {
            let data =
                dx.map {
                    backwardDataLocked(
                        threads: threads, s, bf16: bf16, weight: weight, dy: dy, dx: $0, accumulate: accumulateDx)
                } ?? 0
            return data
                + backwardWeightsLocked(
                    threads: threads, s, bf16: bf16, x: x, dy: dy, dWeight: dWeight, dBias: dBias,
                    after: dx.map { _ in accumulateDx ? .accumulating : .overwriting }, kept: kept)
        }
    }

    private func backwardWeightsLocked(
        threads: Int, _ s: Conv2dShape, bf16: Bool, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?, after data: DataPass?,
        kept: KeptInput? = nil
    ) -> Int {
        var key = self.key(s, .backwardWeights, bf16: bf16, bias: dBias != nil, threads: threads)
        key.dyReordered = data != nil
        key.overwrite = data == .overwriting
        var outputs = [UnsafeMutableRawPointer(dWeight)]
        if let dBias { outputs.append(UnsafeMutableRawPointer(dBias)) }
        return execute(key, inputs: [raw(x), raw(dy)], outputs: outputs, kept: kept, fill: false)
    }

    /// The backward-data pass that ran just before a weight gradient (and reordered its dy).
    private enum DataPass { case accumulating, overwriting }

    private func raw(_ p: UnsafePointer<Float>) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(mutating: p) }

    private func key(_ s: Conv2dShape, _ pass: Pass, bf16: Bool, bias: Bool, threads: Int) -> Key {
        Key(
            batch: s.batch, inChannels: s.inChannels, outChannels: s.outChannels, height: s.height, width: s.width,
            kernel: s.kernel, stride: s.stride, padBefore: s.padBefore, padAfter: s.padAfter, pass: pass, bf16: bf16,
            bias: bias, threads: threads)
    }

    /// `body` with oneDNN to itself (DNNL's lock: one call at a time, plans' buffers included).
    private func locked<T>(_ body: () -> T) -> T {
        dnnl.lock.lock()
        defer { dnnl.lock.unlock() }
        return body()
    }

    /// Runs a plan, the caller holding the lock; returns how many reorders it ran. `kept`: the
    /// forward pass (`fill`) reorders x into it; the weight gradient reads x from it when its
    /// layout is the one this plan wants.
    private func execute(
        _ key: Key, inputs: [UnsafeMutableRawPointer], outputs: [UnsafeMutableRawPointer], kept: KeptInput? = nil,
        fill: Bool = false
    ) -> Int {
        var reorders = 0
        dnnl.useThreads(key.threads)
        let plan = plans[key] ?? make(key)
        precondition(inputs.count == plan.inputs.count && outputs.count == plan.outputs.count)
        func point(_ memory: dnnl_memory_t?, _ at: UnsafeMutableRawPointer) {
            DNNL.check(dnnl_memory_set_data_handle_v2(memory, at, dnnl.stream), "memory handle")
        }
        for (o, user) in zip(plan.inputs, inputs) where !o.bound {
            guard let r = o.reorder, var owned = o.owned else {
                if fill, o.id == DNNL_ARG_SRC_0 { kept?.md = nil }  // x used as it is: nothing kept
                point(plan.args[o.arg].memory, user)
                continue
            }
            // Where x lands: the plan's own buffer, or the layer's (forward, to keep it).
            var target = owned.buffer
            if o.id == DNNL_ARG_SRC_0, let kept {
                if fill {
                    target = kept.reserve(dnnl_memory_desc_get_size(&owned.md))
                    kept.md = owned.md
                } else if var k = kept.md, dnnl_memory_desc_equal(&k, &owned.md) != 0, let buffer = kept.buffer {
                    point(plan.args[o.arg].memory, buffer)
                    continue
                }
            }
            point(plan.args[o.arg].memory, target)
            point(r.args[1].memory, target)
            point(r.args[0].memory, user)
            DNNL.check(dnnl_primitive_execute(r.primitive, dnnl.stream, 2, r.args), "reorder")
            reorders += 1
            if o.rounds {
                BF16Emulation.roundInPlace(
                    target.assumingMemoryBound(to: Float.self), count: dnnl_memory_desc_get_size(&owned.md) / 4)
            }
        }
        for (o, user) in zip(plan.outputs, outputs) where o.reorder == nil {
            DNNL.check(dnnl_memory_set_data_handle_v2(plan.args[o.arg].memory, user, dnnl.stream), "memory handle")
        }
        DNNL.check(
            dnnl_primitive_execute(plan.primitive, dnnl.stream, Int32(plan.args.count), plan.args), "convolution")
        for (o, user) in zip(plan.outputs, outputs) {
            guard let r = o.reorder else { continue }
            DNNL.check(dnnl_memory_set_data_handle_v2(r.args[1].memory, user, dnnl.stream), "memory handle")
            DNNL.check(dnnl_primitive_execute(r.primitive, dnnl.stream, 2, r.args), "reorder")
            reorders += 1
        }
        DNNL.check(dnnl_stream_wait(dnnl.stream), "stream wait")
        return reorders
    }

    // MARK: plans

    private static func md(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        DNNL.check(
            dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims.map(Int64.init), type, tag),
            "memory descriptor \(dims)")
        return md
    }

    private func make(_ k: Key) -> Plan {
        let s = Conv2dShape(
            batch: k.batch, inChannels: k.inChannels, outChannels: k.outChannels, height: k.height, width: k.width,
            kernel: k.kernel, stride: k.stride, padBefore: k.padBefore, padAfter: k.padAfter)
        // Without oneDNN's bf16 kernels, bf16 is emulated: fp32 primitives on operands that their
        // reorders leave rounded to bf16 values (every one but the bias, fp32 in both cases).
        let emulated = k.bf16 && !DNNL.hasBF16Kernels
        let operand = k.bf16 && !emulated ? dnnl_bf16 : dnnl_f32
        let srcDims = [s.batch, s.inChannels, s.height, s.width]
        let dstDims = [s.batch, s.outChannels, s.outHeight, s.outWidth]
        let wDims = [s.outChannels, s.inChannels, s.kernel, s.kernel]
        // Tessera's layouts (fp32) and oneDNN's choice.
        let userSrc = Self.md(srcDims, dnnl_f32, dnnl_nchw), userDst = Self.md(dstDims, dnnl_f32, dnnl_nchw)
        let userW = Self.md(wDims, dnnl_f32, dnnl_oihw), userB = Self.md([s.outChannels], dnnl_f32, dnnl_x)
        var anySrc = Self.md(srcDims, operand, dnnl_format_tag_any)
        var anyW = Self.md(wDims, operand, dnnl_format_tag_any)
        var anyDstIn = Self.md(dstDims, operand, dnnl_format_tag_any)  // dy, an input of the backward passes
        var anyDstOut = Self.md(dstDims, dnnl_f32, dnnl_format_tag_any)  // y, the forward's result
        var anySrcOut = Self.md(srcDims, dnnl_f32, dnnl_format_tag_any)  // dx
        var anyWOut = Self.md(wDims, dnnl_f32, dnnl_format_tag_any)  // dw
        var bias = userB
        let strides: [Int64] = [Int64(s.stride), Int64(s.stride)]
        let padL: [Int64] = [Int64(s.padBefore), Int64(s.padBefore)]
        let padR: [Int64] = [Int64(s.padAfter), Int64(s.padAfter)]

        // The forward descriptor: the primitive of the forward pass, the hint of the backward ones.
        var fwd = dnnl_convolution_desc_t()
        if k.bias {
            DNNL.check(
                dnnl_convolution_forward_desc_init(
                    &fwd, dnnl_forward_training, dnnl_convolution_direct, &anySrc, &anyW, &bias, &anyDstOut, strides,
                    padL, padR), "convolution forward descriptor")
        } else {
            DNNL.check(
                dnnl_convolution_forward_desc_init(
                    &fwd, dnnl_forward_training, dnnl_convolution_direct, &anySrc, &anyW, nil, &anyDstOut, strides,
                    padL, padR), "convolution forward descriptor")
        }
        var fwdPD: dnnl_primitive_desc_t?
        DNNL.check(dnnl_primitive_desc_create(&fwdPD, &fwd, nil, dnnl.engine, nil), "convolution forward")
        defer { dnnl_primitive_desc_destroy(fwdPD) }

        var pd: dnnl_primitive_desc_t?
        // (argument id, oneDNN's query, the user's layout, input or output)
        var roles: [(arg: Int32, query: dnnl_query_t, user: dnnl_memory_desc_t, input: Bool)] = []
        switch k.pass {
        case .forward:
            pd = fwdPD
            roles = [
                (DNNL_ARG_SRC_0, dnnl_query_src_md, userSrc, true),
                (DNNL_ARG_WEIGHTS_0, dnnl_query_weights_md, userW, true),
            ]
            if k.bias { roles.append((DNNL_ARG_BIAS, dnnl_query_weights_md, userB, true)) }
            roles.append((DNNL_ARG_DST_0, dnnl_query_dst_md, userDst, false))
        case .backwardData:
            var d = dnnl_convolution_desc_t()
            DNNL.check(
                dnnl_convolution_backward_data_desc_init(
                    &d, dnnl_convolution_direct, &anySrcOut, &anyW, &anyDstIn, strides, padL, padR),
                "convolution backward-data descriptor")
            DNNL.check(dnnl_primitive_desc_create(&pd, &d, nil, dnnl.engine, fwdPD), "convolution backward data")
            roles = [
                (DNNL_ARG_DIFF_DST_0, dnnl_query_diff_dst_md, userDst, true),
                (DNNL_ARG_WEIGHTS_0, dnnl_query_weights_md, userW, true),
                (DNNL_ARG_DIFF_SRC_0, dnnl_query_diff_src_md, userSrc, false),
            ]
        case .backwardWeights:
            var d = dnnl_convolution_desc_t()
            if k.bias {
                DNNL.check(
                    dnnl_convolution_backward_weights_desc_init(
                        &d, dnnl_convolution_direct, &anySrc, &anyWOut, &bias, &anyDstIn, strides, padL, padR),
                    "convolution backward-weights descriptor")
            } else {
                DNNL.check(
                    dnnl_convolution_backward_weights_desc_init(
                        &d, dnnl_convolution_direct, &anySrc, &anyWOut, nil, &anyDstIn, strides, padL, padR),
                    "convolution backward-weights descriptor")
            }
            DNNL.check(dnnl_primitive_desc_create(&pd, &d, nil, dnnl.engine, fwdPD), "convolution backward weights")
            roles = [
                (DNNL_ARG_SRC_0, dnnl_query_src_md, userSrc, true),
                (DNNL_ARG_DIFF_DST_0, dnnl_query_diff_dst_md, userDst, true),
                (DNNL_ARG_DIFF_WEIGHTS_0, dnnl_query_diff_weights_md, userW, false),
            ]
            if k.bias { roles.append((DNNL_ARG_DIFF_BIAS, dnnl_query_diff_weights_md, userB, false)) }
        }
        defer { if k.pass != .forward { dnnl_primitive_desc_destroy(pd) } }
        // dy as backward data left it, when this plan runs right after that one.
        let dataKey = Key(
            batch: k.batch, inChannels: k.inChannels, outChannels: k.outChannels, height: k.height, width: k.width,
            kernel: k.kernel, stride: k.stride, padBefore: k.padBefore, padAfter: k.padAfter, pass: .backwardData,
            bf16: k.bf16, bias: false, threads: k.threads, overwrite: k.overwrite)
        let reorderedDy =
            k.dyReordered ? (plans[dataKey] ?? make(dataKey)).inputs.first { $0.id == DNNL_ARG_DIFF_DST_0 }?.owned : nil

        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd!), "convolution primitive")
        let plan = Plan(primitive: prim!, args: [])
        let accumulate = k.pass == .backwardWeights || (k.pass == .backwardData && !k.overwrite)
        for (i, role) in roles.enumerated() {
            // The bias (and its gradient) is the second weights-like descriptor: index 1.
            let index: Int32 = role.arg == DNNL_ARG_BIAS || role.arg == DNNL_ARG_DIFF_BIAS ? 1 : 0
            var chosen = dnnl_primitive_desc_query_md(pd, role.query, index)!.pointee
            var user = role.user
            var mem: dnnl_memory_t?
            // Used as it is: an input in the user's layout and type, or an output that overwrites.
            let rounds = emulated && role.input && role.arg != DNNL_ARG_BIAS
            let direct = dnnl_memory_desc_equal(&chosen, &user) != 0 && (role.input ? !rounds : !accumulate)
            if !direct, role.arg == DNNL_ARG_DIFF_DST_0, var shared = reorderedDy,
                dnnl_memory_desc_equal(&chosen, &shared.md) != 0
            {
                DNNL.check(dnnl_memory_create(&mem, &chosen, dnnl.engine, shared.buffer), "memory")
                plan.args.append(dnnl_exec_arg_t(arg: role.arg, memory: mem))
                plan.inputs.append(Operand(arg: i, id: role.arg, reorder: nil, bound: true))
                continue
            }
            if direct {
                DNNL.check(dnnl_memory_create(&mem, &chosen, dnnl.engine, nil), "memory")
                plan.args.append(dnnl_exec_arg_t(arg: role.arg, memory: mem))
                if role.input {
                    plan.inputs.append(Operand(arg: i, id: role.arg, reorder: nil))
                } else {
                    plan.outputs.append(Operand(arg: i, id: role.arg, reorder: nil))
                }
                continue
            }
            var buffer: UnsafeMutableRawPointer?
            let size = max(64, dnnl_memory_desc_get_size(&chosen))
            precondition(posix_memalign(&buffer, 64, size) == 0, "oneDNN buffer of \(size) bytes")
            plan.buffers.append(buffer!)
            DNNL.check(dnnl_memory_create(&mem, &chosen, dnnl.engine, buffer), "memory")
            plan.args.append(dnnl_exec_arg_t(arg: role.arg, memory: mem))
            let (from, to) = role.input ? (user, chosen) : (chosen, user)
            let reorder = makeReorder(
                from: from, to: to, accumulate: !role.input && accumulate, owned: buffer!, ownedIsSource: !role.input)
            if role.input {
                plan.inputs.append(
                    Operand(arg: i, id: role.arg, owned: (buffer!, chosen), reorder: reorder, rounds: rounds))
            } else {
                plan.outputs.append(Operand(arg: i, id: role.arg, reorder: reorder))
            }
        }
        plans[k] = plan
        return plan
    }

    /// A reorder `from` → `to` (with `sum` when accumulating), its owned side bound to `owned`.
    private func makeReorder(
        from: dnnl_memory_desc_t, to: dnnl_memory_desc_t, accumulate: Bool, owned: UnsafeMutableRawPointer,
        ownedIsSource: Bool
    ) -> (primitive: dnnl_primitive_t, args: [dnnl_exec_arg_t]) {
        var from = from, to = to
        var attr: dnnl_primitive_attr_t?
        DNNL.check(dnnl_primitive_attr_create(&attr), "attributes")
        defer { dnnl_primitive_attr_destroy(attr) }
        if accumulate { DNNL.appendSum(to: attr) }
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &from, dnnl.engine, &to, dnnl.engine, attr), "reorder")
        defer { dnnl_primitive_desc_destroy(pd) }
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd!), "reorder primitive")
        var src: dnnl_memory_t?, dst: dnnl_memory_t?
        DNNL.check(dnnl_memory_create(&src, &from, dnnl.engine, ownedIsSource ? owned : nil), "memory")
        DNNL.check(dnnl_memory_create(&dst, &to, dnnl.engine, ownedIsSource ? nil : owned), "memory")
        return (
            prim!,
            [dnnl_exec_arg_t(arg: DNNL_ARG_SRC_0, memory: src), dnnl_exec_arg_t(arg: DNNL_ARG_DST_0, memory: dst)]
        )
    }
}
