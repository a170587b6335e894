/// Greedy decoding by re-running the causal model on the growing window (the window slides when it
/// exceeds the planned length). Causality makes the padding after the last token irrelevant.
public enum Generation {
    public static func greedy(model: Transformer, prompt: [Int32], maxNewTokens: Int) -> [Int32] {
        let T = model.seqLen, V = model.config.vocabSize
        var context = prompt.isEmpty ? [Int32(0)] : prompt
        var window = [Int32](repeating: 0, count: model.rows)
        var logits = [Float](repeating: 0, count: V)
        var out: [Int32] = []
        for _ in 0..<maxNewTokens {
            let tail = context.suffix(T)
            for (i, t) in tail.enumerated() { window[i] = t }
            window.withUnsafeBufferPointer { model.forward(tokens: $0.baseAddress!) }
            logits.withUnsafeMutableBufferPointer { model.logits(row: tail.count - 1, into: $0.baseAddress!) }
            var best = 0
            for v in 1..<V where logits[v] > logits[best] { best = v }
            context.append(Int32(best))
            out.append(Int32(best))
        }
        return out
    }
}
