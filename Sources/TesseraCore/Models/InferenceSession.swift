import Foundation

/// Token-by-token decoding with a KV cache, over a model's parameters (no training buffers):
/// each step runs one position through every layer — the same `TransformerBlock` as training,
/// its attention reading keys and values from the cache it appends to — so a token costs
/// O(context) attention instead of a full re-run.
public final class InferenceSession {
    public let config: ModelConfig
    public let maxLength: Int
    let params: ParameterStore
    let pool: Parallel
    let rope: RotaryTable
    /// Per layer, keys and values of every position so far: [layers, maxLength, Hkv·hd].
    let kCache: FloatBuffer, vCache: FloatBuffer
    /// The residual stream of the current row [d], updated in place by every block.
    let x: FloatBuffer
    /// One block's activations for one row, reused by every layer (nothing is kept for a backward).
    let acts: BlockActivations
    /// [maxLength] attention scores of one head against the cache.
    let scores: FloatBuffer
    /// [d] final norm output and its mean and 1/σ.
    let xn: FloatBuffer, stat: FloatBuffer
    /// [V] logits of the last step.
    let logitBuffer: FloatBuffer
    public var logits: UnsafeMutablePointer<Float> { logitBuffer.pointer }
    /// Positions already in the cache.
    public private(set) var position = 0

    let blocks: [BlockWeights]
    /// bf16 products (the model's `MixedPrecision`, its weight mirror made at init); nil in fp32.
    let mixed: MixedPrecision?
    let embedding, output, finalNorm: UnsafeMutablePointer<Float>
    let positions, finalNormBias: UnsafeMutablePointer<Float>?

    /// `mixed`: the loaded model's, for bf16 decoding; the weights must not change while the
    /// session is used (their bf16 mirror is made here).
    public init(
        config c: ModelConfig, params: ParameterStore, maxLength: Int, pool: Parallel, mixed: MixedPrecision? = nil
    ) {
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
        x = FloatBuffer(count: c.dModel)
        acts = BlockActivations(rows: 1, config: c, lseCount: 0)
        scores = FloatBuffer(count: maxLength)
        xn = FloatBuffer(count: c.dModel)
        stat = FloatBuffer(count: 2)
        logitBuffer = FloatBuffer(count: c.vocabSize)
        blocks = (0..<c.nLayers).map { BlockWeights(params, layer: $0, base: params.values.pointer) }
        self.mixed = mixed
        mixed?.refreshWeights()
        guard let e = params.value(.embedding), let f = params.value(.finalNorm) else {
            fatalError(
                "parameters without \(TransformerWeights.Global.embedding.name) or \(TransformerWeights.Global.finalNorm.name)"
            )
        }
        embedding = e
        finalNorm = f
        guard let o = c.tieEmbeddings ? e : params.value(.output) else {
            fatalError("parameters without \(TransformerWeights.Global.output.name)")
        }
        output = o
        finalNormBias = params.value(.finalNormBias)
        positions = params.value(.positions)
    }

    public func reset() { position = 0 }

    /// Feeds one token at the next position; returns the logits for the token after it. With
    /// `logitRange`, only those logits are computed (the rest of the buffer is stale): sampling
    /// image codes needs the code rows of the output layer, not the whole vocabulary.
    @discardableResult
    public func step(_ token: Int32, logitRange: Range<Int>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(position < maxLength, "KV cache full (\(maxLength) positions)")
        let c = config, d = c.dModel, kvDim = c.nKVHeads * c.headDim
        let p = position, x = x.pointer
        x.update(from: embedding + Int(token) * d, count: d)
        if let positions { Kernels.add(positions + p * d, into: x, count: d) }
        for l in 0..<c.nLayers {
            let source = TransformerBlock.Source.cache(
                keys: kCache.pointer + l * maxLength * kvDim,
                values: vCache.pointer + l * maxLength * kvDim,
                position: p, scores: scores.pointer)
            TransformerBlock.forward(
                c, pool, blocks[l], rope: rope, source: source, x: x, out: x, acts: acts, rows: 1, mixed: mixed)
        }
        Norm.forward(
            c.norm, pool, x: x, weight: finalNorm, bias: finalNormBias.map { UnsafePointer($0) }, y: xn.pointer,
            mean: stat.pointer, rstd: stat.pointer + 1, rows: 1, d: d, eps: c.normEps)
        let r = logitRange ?? 0..<c.vocabSize
        precondition(r.lowerBound >= 0 && r.upperBound <= c.vocabSize && !r.isEmpty)
        Gemm.linearForward(
            pool, x: xn.pointer, w: output + r.lowerBound * d, y: logits + r.lowerBound, m: 1, k: d, n: r.count,
            mixed: mixed)
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
    /// Starts over and feeds `prompt`; returns the logits for the token after it.
    @discardableResult
    public func prefill(_ prompt: [Int32]) -> UnsafeMutablePointer<Float> {
        reset()
        var logits = logits
        for t in prompt { logits = step(t) }
        return logits
    }

    /// Samples up to `maxNewTokens` after a `prefill` whose logits are `logits`, stopping after any
    /// of `stop` or when the cache is full; with `allowed`, only those ids are drawn (the text ids
    /// of a text-to-image model, say).
    public func decode(
        from logits: UnsafeMutablePointer<Float>, maxNewTokens: Int, sampler: inout Sampler,
        allowed: Range<Int>? = nil, stop: Set<Int32> = []
    ) -> [Int32] {
        var logits = logits
        var out: [Int32] = []
        while out.count < maxNewTokens && position < maxLength {
            let next = sampler.next(logits, vocab: config.vocabSize, allowed: allowed)
            out.append(next)
            if stop.contains(next) || position >= maxLength { break }
            logits = step(next)
        }
        return out
    }

    /// `prefill` then `decode`.
    public func generate(
        prompt: [Int32], maxNewTokens: Int, sampler: inout Sampler, allowed: Range<Int>? = nil,
        stop: Set<Int32> = []
    ) -> [Int32] {
        decode(from: prefill(prompt), maxNewTokens: maxNewTokens, sampler: &sampler, allowed: allowed, stop: stop)
    }
}
