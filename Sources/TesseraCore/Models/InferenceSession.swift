import Foundation

/// Token-by-token decoding with a KV cache, over a model's parameters (no training buffers):
/// each step runs one position of each of `rows` sequences through every layer — the same
/// `TransformerBlock` as training, its attention reading keys and values from the row's own cache
/// — so a token costs O(context) attention instead of a full re-run, and a batch of rows reads the
/// weights once per step (a GEMM of `rows` rows instead of `rows` matrix–vector products: one row
/// is memory-bound, ~0.5 GB of SmolLM2-135M weights per token).
///
/// Rows are independent sequences, each at its own position. `step` feeds one token to every row
/// whose `active` flag is set; an inactive row is computed and discarded (it neither advances nor
/// keeps what it wrote: its next real token overwrites the cache slot at its position). Callers
/// right-align prompts of different lengths by starting the shorter ones later, so that every row
/// reaches its first generated token on the same step.
public final class InferenceSession {
    public let config: ModelConfig
    public let maxLength: Int
    /// Sequences decoded side by side.
    public let rows: Int
    let params: ParameterStore
    let pool: Parallel
    let rope: RotaryTable
    /// Keys and values of every row's positions so far: [layers, rows, maxLength, Hkv·hd].
    let kCache: FloatBuffer, vCache: FloatBuffer
    /// The residual stream of the current step [rows, d], updated in place by every block.
    let x: FloatBuffer
    /// One block's activations for `rows` rows, reused by every layer (nothing kept for a backward).
    let acts: BlockActivations
    /// [rows, maxLength] attention scores of one head of each row against its cache.
    let scores: FloatBuffer
    /// [rows, d] final norm output and its per-row mean and 1/σ [rows, 2].
    let xn: FloatBuffer, stat: FloatBuffer
    /// [rows, V] logits of the last step (row r at r·V), and [rows, V] scratch for a restricted range.
    let logitBuffer: FloatBuffer, rangeScratch: FloatBuffer
    /// Row r's logits of the last step.
    public func logits(row r: Int) -> UnsafeMutablePointer<Float> { logitBuffer.pointer + r * config.vocabSize }
    /// Row 0's logits (single-sequence use).
    public var logits: UnsafeMutablePointer<Float> { logitBuffer.pointer }
    /// Per row, positions already in its cache.
    public private(set) var positions: [Int]
    /// Row 0's position (single-sequence use).
    public var position: Int { positions[0] }
    /// Per-step scratch: token ids and every row's position for the blocks (no allocation per step).
    private var tokenRow: [Int32]
    private var positionRow: [Int]

    let blocks: [BlockWeights]
    /// bf16 products (the model's `MixedPrecision`, its weight mirror made at init); nil in fp32.
    let mixed: MixedPrecision?
    let embedding, output, finalNorm: UnsafeMutablePointer<Float>
    let positionTable, finalNormBias: UnsafeMutablePointer<Float>?

    /// `mixed`: the loaded model's, for bf16 decoding; the weights must not change while the
    /// session is used (their bf16 mirror is made here).
    public init(
        config c: ModelConfig, params: ParameterStore, maxLength: Int, pool: Parallel, mixed: MixedPrecision? = nil,
        rows: Int = 1
    ) {
        precondition(maxLength <= c.maxSeqLen, "maxLength \(maxLength) exceeds max_seq_len \(c.maxSeqLen)")
        precondition(rows >= 1)
        config = c
        self.params = params
        self.maxLength = maxLength
        self.rows = rows
        self.pool = pool
        rope = RotaryTable(
            kind: c.rope, headDim: c.headDim, positions: c.maxSeqLen, theta: c.ropeTheta, dims: c.ropeDims)
        let kv = c.nKVHeads * c.headDim
        kCache = FloatBuffer(count: c.nLayers * rows * maxLength * kv)
        vCache = FloatBuffer(count: c.nLayers * rows * maxLength * kv)
        x = FloatBuffer(count: rows * c.dModel)
        acts = BlockActivations(rows: rows, config: c, lseCount: 0)
        scores = FloatBuffer(count: rows * maxLength)
        xn = FloatBuffer(count: rows * c.dModel)
        stat = FloatBuffer(count: 2 * rows)
        logitBuffer = FloatBuffer(count: rows * c.vocabSize)
        rangeScratch = FloatBuffer(count: rows > 1 ? rows * c.vocabSize : 0)
        positions = [Int](repeating: 0, count: rows)
        tokenRow = [Int32](repeating: 0, count: rows)
        positionRow = positions
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
        positionTable = params.value(.positions)
    }

    /// Every row starts over at position 0.
    public func reset() { for r in 0..<rows { positions[r] = 0 } }

    /// Feeds one token at the next position of row 0 (a single-sequence session); returns the
    /// logits for the token after it. With `logitRange`, only those logits are computed (the rest of
    /// the buffer is stale): sampling image codes needs the code rows of the output layer only.
    @discardableResult
    public func step(_ token: Int32, logitRange: Range<Int>? = nil) -> UnsafeMutablePointer<Float> {
        precondition(rows == 1, "step(_:) feeds a single-row session; use step(tokens:active:)")
        tokenRow[0] = token
        return step(tokens: tokenRow, active: nil, logitRange: logitRange)
    }

    /// Feeds `tokens[r]` to every row r (with `active`, only where it is true) at the row's next
    /// position; returns the logits buffer (row r's at r·V; with `logitRange` only that range is
    /// fresh). Inactive rows' logits are meaningless.
    @discardableResult
    public func step(
        tokens: [Int32], active: [Bool]?, logitRange: Range<Int>? = nil
    ) -> UnsafeMutablePointer<Float> {
        precondition(tokens.count == rows && (active?.count ?? rows) == rows)
        let c = config, d = c.dModel, kvDim = c.nKVHeads * c.headDim, N = rows
        for r in 0..<N {
            let live = active?[r] ?? true
            precondition(!live || positions[r] < maxLength, "KV cache full (\(maxLength) positions)")
            precondition(tokens[r] >= 0 && Int(tokens[r]) < c.vocabSize)
            // An inactive row computes at a position inside its cache (a finished row may be at the end).
            positionRow[r] = live ? positions[r] : min(positions[r], maxLength - 1)
            let xr = x.pointer + r * d
            xr.update(from: embedding + Int(tokens[r]) * d, count: d)
            if let positionTable { Kernels.add(positionTable + positionRow[r] * d, into: xr, count: d) }
        }
        positionRow.withUnsafeBufferPointer { pos in
            for l in 0..<c.nLayers {
                let source = TransformerBlock.Source.cache(
                    keys: kCache.pointer + l * N * maxLength * kvDim,
                    values: vCache.pointer + l * N * maxLength * kvDim,
                    positions: pos.baseAddress!, maxLength: maxLength, scores: scores.pointer)
                TransformerBlock.forward(
                    c, pool, blocks[l], rope: rope, source: source, x: x.pointer, out: x.pointer, acts: acts, rows: N,
                    mixed: mixed)
            }
        }
        Norm.forward(
            c.norm, pool, x: x.pointer, weight: finalNorm, bias: finalNormBias.map { UnsafePointer($0) },
            y: xn.pointer, mean: stat.pointer, rstd: stat.pointer + N, rows: N, d: d, eps: c.normEps)
        let v = c.vocabSize, r = logitRange ?? 0..<v
        precondition(r.lowerBound >= 0 && r.upperBound <= v && !r.isEmpty)
        if r.count == v || N == 1 {
            Gemm.linearForward(
                pool, x: xn.pointer, w: output + r.lowerBound * d, y: logitBuffer.pointer + r.lowerBound, m: N, k: d,
                n: r.count, mixed: mixed)
        } else {
            // [N, |range|] contiguous, then each row's part to its place in the [N, V] buffer.
            Gemm.linearForward(
                pool, x: xn.pointer, w: output + r.lowerBound * d, y: rangeScratch.pointer, m: N, k: d, n: r.count,
                mixed: mixed)
            for row in 0..<N {
                (logitBuffer.pointer + row * v + r.lowerBound).update(
                    from: rangeScratch.pointer + row * r.count, count: r.count)
            }
        }
        for row in 0..<N where active?[row] ?? true { positions[row] += 1 }
        return logitBuffer.pointer
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
