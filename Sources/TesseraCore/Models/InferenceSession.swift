import Foundation

/// Token-by-token decoding with a KV cache, over a model's parameters (no training buffers):
/// each step runs one position through every layer, appending its keys and values to the cache,
/// so a token costs O(context) attention instead of a full re-run.
public final class InferenceSession {
    public let config: ModelConfig
    public let maxLength: Int
    let params: ParameterStore
    let pool: Parallel
    let rope: RotaryTable
    let kCache: FloatBuffer, vCache: FloatBuffer  // [layers, maxLength, kvHeads·hd]
    let work: FloatBuffer
    let x, xn, qkv, att, scores, gu, z, tmp, stat: UnsafeMutablePointer<Float>
    public let logits: UnsafeMutablePointer<Float>
    /// Positions already in the cache.
    public private(set) var position = 0

    /// One block's tensors, resolved once: a decoding step builds no names and looks nothing up.
    struct Block {
        let norm1W, inProj, outProj, norm2W, w12, w3: UnsafeMutablePointer<Float>
        let norm1B, norm2B, inProjB, outProjB, w12B, w3B: UnsafeMutablePointer<Float>?  // when the model has them
    }
    let blocks: [Block]
    let embedding, output, finalNormW: UnsafeMutablePointer<Float>
    let positions, finalNormB: UnsafeMutablePointer<Float>?

    public init(config c: ModelConfig, params: ParameterStore, maxLength: Int, pool: Parallel) {
        precondition(maxLength <= c.maxSeqLen, "maxLength \(maxLength) exceeds max_seq_len \(c.maxSeqLen)")
        config = c
        self.params = params
        self.maxLength = maxLength
        self.pool = pool
        rope = RotaryTable(
            kind: c.rope, headDim: c.headDim, positions: c.maxSeqLen, theta: c.ropeTheta, dims: c.ropeDims)
        let kv = c.nKVHeads * c.headDim
        kCache = FloatBuffer(count: c.nLayers * maxLength * kv)
        vCache = FloatBuffer(count: c.nLayers * maxLength * kv)
        let d = c.dModel, att = c.nHeads * c.headDim
        let sizes = [d, d, c.qkvDim, att, maxLength, c.mlpInWidth, c.ffnHidden, d, 2, c.vocabSize]
        work = FloatBuffer(count: sizes.reduce(0) { $0 + ($1 + 15) / 16 * 16 })
        var o = 0
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for s in sizes { ptrs.append(work.pointer + o); o += (s + 15) / 16 * 16 }
        (x, xn, qkv, self.att, scores, gu, z, tmp, stat, logits) = (
            ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7], ptrs[8], ptrs[9]
        )
        func optional(_ name: String) -> UnsafeMutablePointer<Float>? {
            params.slot(name).map { params.values.pointer + $0.offset }
        }
        blocks = (0..<c.nLayers).map { l in
            let p = "layers.\(l)."
            return Block(
                norm1W: params.value(p + "attention_norm.weight"), inProj: params.value(p + "attention.in_proj.weight"),
                outProj: params.value(p + "attention.out_proj.weight"), norm2W: params.value(p + "ffn_norm.weight"),
                w12: params.value(p + "feed_forward.w12.weight"), w3: params.value(p + "feed_forward.w3.weight"),
                norm1B: optional(p + "attention_norm.bias"), norm2B: optional(p + "ffn_norm.bias"),
                inProjB: optional(p + "attention.in_proj.bias"), outProjB: optional(p + "attention.out_proj.bias"),
                w12B: optional(p + "feed_forward.w12.bias"), w3B: optional(p + "feed_forward.w3.bias"))
        }
        embedding = params.value("tok_embeddings.weight")
        output = c.tieEmbeddings ? embedding : params.value("output.weight")
        finalNormW = params.value("norm.weight")
        finalNormB = optional("norm.bias")
        positions = optional("pos_embeddings.weight")
    }

    public func reset() { position = 0 }

    func norm(
        _ input: UnsafePointer<Float>, _ weight: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>?,
        into out: UnsafeMutablePointer<Float>
    ) {
        Norm.forward(
            config.norm, pool, x: input, weight: weight, bias: bias.map { UnsafePointer($0) }, y: out,
            mean: stat, rstd: stat + 1, rows: 1, d: config.dModel, eps: config.normEps)
    }

    /// y (one row of n) += bias, when the model has it.
    func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>?, _ n: Int) {
        if let bias { Kernels.add(bias, into: y, count: n) }
    }

    /// Feeds one token at the next position; returns the logits for the token after it. With
    /// `logitRange`, only those logits are computed (the rest of the buffer is stale): sampling
    /// image codes needs the code rows of the output layer, not the whole vocabulary.
    @discardableResult
    public func step(_ token: Int32, logitRange: Range<Int>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(position < maxLength, "KV cache full (\(maxLength) positions)")
        let c = config, d = c.dModel, hd = c.headDim, h = c.ffnHidden
        let kvDim = c.nKVHeads * hd, group = c.nHeads / c.nKVHeads
        let scale = 1 / Float(hd).squareRoot()
        let p = position
        x.update(from: embedding + Int(token) * d, count: d)
        if let positions { Kernels.add(positions + p * d, into: x, count: d) }
        for l in 0..<c.nLayers {
            let b = blocks[l]
            norm(x, b.norm1W, b.norm1B, into: xn)
            Gemm.linearForward(pool, x: xn, w: b.inProj, y: qkv, m: 1, k: d, n: c.qkvDim)
            addBias(qkv, b.inProjB, c.qkvDim)
            rope.rotate(qkv, position: p, heads: c.nHeads + c.nKVHeads)
            let kc = kCache.pointer + l * maxLength * kvDim, vc = vCache.pointer + l * maxLength * kvDim
            (kc + p * kvDim).update(from: qkv + c.nHeads * hd, count: kvDim)
            (vc + p * kvDim).update(from: qkv + (c.nHeads + c.nKVHeads) * hd, count: kvDim)
            for head in 0..<c.nHeads {
                let q = qkv + head * hd, g = head / group
                for j in 0...p { scores[j] = Kernels.dot(q, kc + j * kvDim + g * hd, count: hd) * scale }
                let mx = Kernels.max(scores, count: p + 1)
                let sum = Kernels.expShiftSum(scores, scores, count: p + 1, shift: mx)
                let o = att + head * hd
                o.update(repeating: 0, count: hd)
                for j in 0...p {
                    let w = scores[j] / sum, v = vc + j * kvDim + g * hd
                    for i in 0..<hd { o[i] += w * v[i] }
                }
            }
            Gemm.linearForward(pool, x: att, w: b.outProj, y: tmp, m: 1, k: c.nHeads * hd, n: d)
            addBias(tmp, b.outProjB, d)
            // A parallel residual normalises the block input for the MLP, before the attention joins it.
            if c.parallelResidual { norm(x, b.norm2W, b.norm2B, into: xn) }
            Kernels.add(tmp, into: x, count: d)
            if !c.parallelResidual { norm(x, b.norm2W, b.norm2B, into: xn) }
            Gemm.linearForward(pool, x: xn, w: b.w12, y: gu, m: 1, k: d, n: c.mlpInWidth)
            addBias(gu, b.w12B, c.mlpInWidth)
            switch c.mlp {
            case .swiglu: SwiGLU.forward(pool, gu: gu, z: z, rows: 1, hidden: h)
            case .gelu, .geluTanh: GELU.forward(pool, x: gu, y: z, count: h, tanh: c.mlp == .geluTanh)
            }
            Gemm.linearForward(pool, x: z, w: b.w3, y: tmp, m: 1, k: h, n: d)
            addBias(tmp, b.w3B, d)
            Kernels.add(tmp, into: x, count: d)
        }
        norm(x, finalNormW, finalNormB, into: xn)
        let out = output
        let r = logitRange ?? 0..<c.vocabSize
        precondition(r.lowerBound >= 0 && r.upperBound <= c.vocabSize && !r.isEmpty)
        Gemm.linearForward(pool, x: xn, w: out + r.lowerBound * d, y: logits + r.lowerBound, m: 1, k: d, n: r.count)
        position += 1
        return logits
    }
}

/// Next-token choice: greedy at temperature 0, else softmax(logits / T) restricted to the top k
/// and to the smallest set whose probability reaches top p, drawn from a seeded stream. Scratch
/// buffers are kept between calls, so drawing a token allocates nothing.
public struct Sampler {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    var rng: RandomStream
    private var ids: [Int32] = []
    private var weights: [Double] = []

    /// `counter` selects an independent draw sequence under the same seed (one per sample).
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0, counter: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = RandomStream(seed: seed, name: "sample", counter: counter)
    }

    public mutating func next(_ logits: UnsafePointer<Float>, vocab: Int, allowed: Range<Int>? = nil) -> Int32 {
        let range = allowed ?? 0..<vocab
        if temperature <= 0 {
            var best = range.lowerBound
            for v in range where logits[v] > logits[best] { best = v }
            return Int32(best)
        }
        ids.removeAll(keepingCapacity: true)
        for v in range { ids.append(Int32(v)) }
        var n = ids.count
        let truncate = (topK > 0 && topK < n) || topP < 1
        if truncate {
            ids.withUnsafeMutableBufferPointer { Self.sortDescending($0, count: n, by: logits) }
            if topK > 0 { n = min(n, topK) }
        }
        var mx = -Float.infinity
        for i in 0..<n { mx = max(mx, logits[Int(ids[i])]) }
        weights.removeAll(keepingCapacity: true)
        var total = 0.0
        for i in 0..<n {
            let w = Foundation.exp(Double((logits[Int(ids[i])] - mx) / temperature))
            weights.append(w); total += w
        }
        if topP < 1 {
            var acc = 0.0, keep = 0
            while keep < n { acc += weights[keep]; keep += 1; if acc >= Double(topP) * total { break } }
            n = keep; total = acc
        }
        let u = Double(rng.uniform()) * total
        var acc = 0.0
        for i in 0..<n {
            acc += weights[i]
            if u < acc { return ids[i] }
        }
        return ids[n - 1]
    }

    /// In-place heap sort of ids by logit, largest first (ties: lower id first), allocation-free.
    public static func sortDescending(
        _ a: UnsafeMutableBufferPointer<Int32>, count n: Int, by logits: UnsafePointer<Float>
    ) {
        // "Less" in the min-heap sense: a comes later in the output than b.
        func after(_ x: Int32, _ y: Int32) -> Bool {
            let lx = logits[Int(x)], ly = logits[Int(y)]
            return lx < ly || (lx == ly && x > y)
        }
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && after(a[child + 1], a[child]) { child += 1 }
                guard after(a[child], a[root]) else { return }
                a.swapAt(root, child)
                root = child
            }
        }
        // Min-heap on "after": the root is the element that belongs last; move it to the end.
        var i = n / 2 - 1
        while i >= 0 { siftDown(i, n); i -= 1 }
        var end = n - 1
        while end > 0 {
            a.swapAt(0, end)
            siftDown(0, end)
            end -= 1
        }
    }
}

extension InferenceSession {
    /// Feeds `prompt`, then samples up to `maxNewTokens` (stopping after any of `stop`).
    public func generate(prompt: [Int32], maxNewTokens: Int, sampler: inout Sampler, stop: Set<Int32> = []) -> [Int32] {
        reset()
        var logits = logits
        for t in prompt { logits = step(t) }
        var out: [Int32] = []
        while out.count < maxNewTokens && position < maxLength {
            let next = sampler.next(logits, vocab: config.vocabSize)
            out.append(next)
            if stop.contains(next) || position >= maxLength { break }
            logits = step(next)
        }
        return out
    }
}
