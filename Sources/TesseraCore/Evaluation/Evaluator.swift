import Foundation

/// Held-out loss: consecutive windows of the stream, `batch` rows at a time; the tail window is
/// padded with ignored targets so every token is counted exactly once. Token-weighted mean.
public enum Evaluator {
    /// `inputs`/`targets` are scratch of at least `batch·seq` ids (the trainer passes its own, so
    /// an evaluation allocates nothing); only the first `batch·seq` are used.
    public static func meanLoss(
        model: Transformer, stream: TokenStream, maxTokens: Int, ignoreIndex: Int32,
        inputs: inout [Int32], targets: inout [Int32]
    ) -> Double? {
        var split: ModalityLoss?
        return meanLoss(
            model: model, stream: stream, maxTokens: maxTokens, ignoreIndex: ignoreIndex, layout: nil,
            inputs: &inputs, targets: &targets, split: &split)
    }

    /// As above; with a `layout`, also the sums by modality in `split`. `afterForward`, when given,
    /// sees each batch's targets after the forward pass (a second loss from the same activations).
    public static func meanLoss(
        model: Transformer, stream: TokenStream, maxTokens: Int, ignoreIndex: Int32,
        layout: VocabularyLayout?, inputs: inout [Int32], targets: inout [Int32],
        split: inout ModalityLoss?, afterForward: ((UnsafePointer<Int32>) -> Void)? = nil
    ) -> Double? {
        if layout != nil { split = ModalityLoss() }
        let T = model.seqLen, B = model.batch
        precondition(inputs.count >= B * T && targets.count >= B * T)
        let windows = stream.evalWindows(seqLen: T, maxTokens: maxTokens)
        guard windows > 0 else { return nil }
        var sum = 0.0
        var counted = 0
        var w = 0
        while w < windows {
            inputs.withUnsafeMutableBufferPointer { i in
                targets.withUnsafeMutableBufferPointer { t in
                    for b in 0..<B {
                        if w + b < windows {
                            stream.fillEval(
                                window: w + b, seqLen: T, maxTokens: maxTokens, ignore: ignoreIndex,
                                inputs: i.baseAddress! + b * T, targets: t.baseAddress! + b * T)
                        } else {
                            (i.baseAddress! + b * T).update(repeating: 0, count: T)
                            (t.baseAddress! + b * T).update(repeating: ignoreIndex, count: T)
                        }
                    }
                }
            }
            counted += targets[0..<(B * T)].reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
            inputs.withUnsafeBufferPointer { model.forward(tokens: $0.baseAddress!, weightsUnchanged: w > 0) }
            sum += targets.withUnsafeBufferPointer { model.loss(targets: $0.baseAddress!, ignoreIndex: ignoreIndex) }
            if let afterForward { targets.withUnsafeBufferPointer { afterForward($0.baseAddress!) } }
            if let layout {
                targets.withUnsafeBufferPointer {
                    split!.add(
                        losses: model.tokenLosses, targets: $0.baseAddress!, count: B * T, layout: layout,
                        ignore: ignoreIndex)
                }
            }
            w += B
        }
        return counted > 0 ? sum / Double(counted) : nil
    }

    public static func meanLoss(model: Transformer, stream: TokenStream, maxTokens: Int, ignoreIndex: Int32) -> Double?
    {
        var inputs = [Int32](repeating: 0, count: model.rows), targets = inputs
        return meanLoss(
            model: model, stream: stream, maxTokens: maxTokens, ignoreIndex: ignoreIndex,
            inputs: &inputs, targets: &targets)
    }

    /// The mean loss and, from the same forward passes, the mean loss with the softmax renormalised
    /// over the first `vocabulary` ids (`Transformer.loss(vocabulary:)`; every target must be below it).
    public static func meanLossAndRenormalised(
        model: Transformer, stream: TokenStream, maxTokens: Int, ignoreIndex: Int32,
        vocabulary: Int
    ) -> (full: Double, renormalised: Double)? {
        var inputs = [Int32](repeating: 0, count: model.rows), targets = inputs
        var split: ModalityLoss?
        var renormalisedSum = 0.0, counted = 0
        let full = meanLoss(
            model: model, stream: stream, maxTokens: maxTokens, ignoreIndex: ignoreIndex, layout: nil,
            inputs: &inputs, targets: &targets, split: &split
        ) { t in
            renormalisedSum += model.loss(targets: t, ignoreIndex: ignoreIndex, vocabulary: vocabulary)
            counted += (0..<model.rows).reduce(0) { $0 + (t[$1] == ignoreIndex ? 0 : 1) }
        }
        guard let full, counted > 0 else { return nil }
        return (full, renormalisedSum / Double(counted))
    }
}
