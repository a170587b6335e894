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
    let kCache: FloatBuffer, vCache: FloatBuffer   // [layers, maxLength, kvHeads·hd]
    let work: FloatBuffer
    let x, xn, qkv, att, scores, gu, z, tmp, stat: UnsafeMutablePointer<Float>
    public let logits: UnsafeMutablePointer<Float>
    /// Positions already in the cache.
    public private(set) var position = 0

    public init(config c: ModelConfig, params: ParameterStore, maxLength: Int, pool: Parallel) {
        precondition(maxLength <= c.maxSeqLen, "maxLength \(maxLength) exceeds max_seq_len \(c.maxSeqLen)")
        config = c
        self.params = params
        self.maxLength = maxLength
        self.pool = pool
        rope = RotaryTable(kind: c.rope, headDim: c.headDim, positions: c.maxSeqLen, theta: c.ropeTheta)
        let kv = c.nKVHeads * c.headDim
        kCache = FloatBuffer(count: c.nLayers * maxLength * kv)
        vCache = FloatBuffer(count: c.nLayers * maxLength * kv)
        let d = c.dModel, att = c.nHeads * c.headDim
        let sizes = [d, d, c.qkvDim, att, maxLength, 2 * c.ffnHidden, c.ffnHidden, d, 2, c.vocabSize]
        work = FloatBuffer(count: sizes.reduce(0) { $0 + ($1 + 15) / 16 * 16 })
        var o = 0
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for s in sizes { ptrs.append(work.pointer + o); o += (s + 15) / 16 * 16 }
        (x, xn, qkv, self.att, scores, gu, z, tmp, stat, logits) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7], ptrs[8], ptrs[9])
    }

    public func reset() { position = 0 }

    func norm(_ input: UnsafePointer<Float>, _ weight: String, _ bias: String, into out: UnsafeMutablePointer<Float>) {
        let b = params.slot(bias).map { UnsafePointer(params.values.pointer + $0.offset) }
        Norm.forward(config.norm, pool, x: input, weight: params.value(weight), bias: b, y: out,
                     mean: stat, rstd: stat + 1, rows: 1, d: config.dModel, eps: config.normEps)
    }

    /// Feeds one token at the next position; returns the logits for the token after it.
    @discardableResult
    public func step(_ token: Int32) -> UnsafeMutablePointer<Float> {
        precondition(position < maxLength, "KV cache full (\(maxLength) positions)")
        let c = config, d = c.dModel, hd = c.headDim, h = c.ffnHidden
        let kvDim = c.nKVHeads * hd, group = c.nHeads / c.nKVHeads
        let scale = 1 / Float(hd).squareRoot()
        let p = position
        x.update(from: params.value("tok_embeddings.weight") + Int(token) * d, count: d)
        for l in 0..<c.nLayers {
            let pre = "layers.\(l)."
            norm(x, pre + "attention_norm.weight", pre + "attention_norm.bias", into: xn)
            Gemm.linearForward(pool, x: xn, w: params.value(pre + "attention.in_proj.weight"), y: qkv, m: 1, k: d, n: c.qkvDim)
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
            Gemm.linearForward(pool, x: att, w: params.value(pre + "attention.out_proj.weight"), y: tmp, m: 1, k: c.nHeads * hd, n: d)
            Kernels.add(tmp, into: x, count: d)
            norm(x, pre + "ffn_norm.weight", pre + "ffn_norm.bias", into: xn)
            Gemm.linearForward(pool, x: xn, w: params.value(pre + "feed_forward.w12.weight"), y: gu, m: 1, k: d, n: 2 * h)
            SwiGLU.forward(pool, gu: gu, z: z, rows: 1, hidden: h)
            Gemm.linearForward(pool, x: z, w: params.value(pre + "feed_forward.w3.weight"), y: tmp, m: 1, k: h, n: d)
            Kernels.add(tmp, into: x, count: d)
        }
        norm(x, "norm.weight", "norm.bias", into: xn)
        let out = c.tieEmbeddings ? params.value("tok_embeddings.weight") : params.value("output.weight")
        Gemm.linearForward(pool, x: xn, w: out, y: logits, m: 1, k: d, n: c.vocabSize)
        position += 1
        return logits
    }
}

/// Next-token choice: greedy at temperature 0, else softmax(logits / T) restricted to the top k
/// and to the smallest set whose probability reaches top p, drawn from a seeded stream.
public struct Sampler {
    public var temperature: Float
    public var topK: Int
    public var topP: Float
    var rng: RandomStream

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = RandomStream(seed: seed, name: "sample")
    }

    public mutating func next(_ logits: UnsafePointer<Float>, vocab: Int, allowed: Range<Int>? = nil) -> Int32 {
        let range = allowed ?? 0..<vocab
        if temperature <= 0 {
            var best = range.lowerBound
            for v in range where logits[v] > logits[best] { best = v }
            return Int32(best)
        }
        var cand = range.map { ($0, logits[$0] / temperature) }
        cand.sort { $0.1 > $1.1 }
        if topK > 0 && topK < cand.count { cand.removeLast(cand.count - topK) }
        let mx = cand[0].1
        var probs = cand.map { Foundation.exp(Double($0.1 - mx)) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if topP < 1 {
            var acc = 0.0, keep = 0
            while keep < probs.count { acc += probs[keep]; keep += 1; if acc >= Double(topP) { break } }
            probs.removeLast(probs.count - keep)
            let s = probs.reduce(0, +)
            probs = probs.map { $0 / s }
        }
        let u = Double(rng.uniform())
        var acc = 0.0
        for (i, pr) in probs.enumerated() {
            acc += pr
            if u < acc { return Int32(cand[i].0) }
        }
        return Int32(cand[probs.count - 1].0)
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
