import Foundation

/// Draws image codes for captions from a text-to-image LM with the KV cache, as `tokenize pairs`
/// lays sequences out: the prompt is `<doc> <text> caption </text> <image>`, then exactly
/// `codesPerImage` tokens, each restricted to the image-code ids (only those output rows are
/// computed). With `guidance` g ≠ 1, a second cache runs the caption-dropped prompt
/// `<doc> <text> </text> <image>` and the logits are u + g·(c − u) (classifier-free guidance).
public final class TextToImageGenerator {
    public struct Sample {
        /// Codebook indices (0-based), raster order.
        public let codes: [Int32]
        /// Whether the model's most likely token after the last code is `</image>`: it learned
        /// where images end (the restriction to codes hides this otherwise).
        public let endsImage: Bool
        /// Seconds spent on the codes (prompt excluded).
        public let seconds: Double
    }

    public let layout: VocabularyLayout
    public let codesPerImage: Int
    /// Length of the training sequences; bounds the caption as training did.
    public let sequenceLength: Int
    public let guidance: Float
    let cond: InferenceSession
    let uncond: InferenceSession?
    let mixed: FloatBuffer

    public init(
        config: ModelConfig, params: ParameterStore, layout: VocabularyLayout, codesPerImage: Int,
        sequenceLength: Int, guidance: Float = 1, pool: Parallel, bf16: MixedPrecision? = nil
    ) {
        precondition(layout.usedSize <= config.vocabSize && sequenceLength - 1 <= config.maxSeqLen)
        self.layout = layout
        self.codesPerImage = codesPerImage
        self.sequenceLength = sequenceLength
        self.guidance = guidance
        let positions = sequenceLength - 1
        cond = InferenceSession(config: config, params: params, maxLength: positions, pool: pool, mixed: bf16)
        uncond =
            guidance == 1
            ? nil : InferenceSession(config: config, params: params, maxLength: positions, pool: pool, mixed: bf16)
        mixed = FloatBuffer(count: config.vocabSize)
    }

    /// Caption tokens that fit next to the codes, as `PairSequence` cuts them.
    public var captionBudget: Int { Self.captionBudget(sequenceLength: sequenceLength, codesPerImage: codesPerImage) }

    public static func captionBudget(sequenceLength: Int, codesPerImage: Int) -> Int {
        sequenceLength - PairSequence.overhead(unconditional: false) - codesPerImage
    }

    /// The prompt up to and including `<image>` for a caption (cut to the budget).
    public func prompt(caption: [Int32]) -> [Int32] {
        Self.prompt(caption: caption, layout: layout, sequenceLength: sequenceLength, codesPerImage: codesPerImage)
    }

    public static func prompt(
        caption: [Int32], layout: VocabularyLayout, sequenceLength: Int, codesPerImage: Int
    ) -> [Int32] {
        let budget = captionBudget(sequenceLength: sequenceLength, codesPerImage: codesPerImage)
        let seq = PairSequence.make(
            caption: Array(caption.prefix(max(0, budget))), codes: [], layout: layout,
            seqLen: sequenceLength, unconditional: false
        ).ids
        return Array(seq.prefix { $0 != layout.special("<image>") }) + [layout.special("<image>")]
    }

    public func sample(caption: [Int32], sampler: inout Sampler) -> Sample {
        let image = layout.imageRange
        var c = cond.logits
        cond.reset()
        for t in prompt(caption: caption) { c = cond.step(t, logitRange: image) }
        var u = c
        if let uncond {
            uncond.reset()
            for t in prompt(caption: []) { u = uncond.step(t, logitRange: image) }
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var codes = [Int32](repeating: 0, count: codesPerImage)
        for i in 0..<codesPerImage {
            var source = UnsafePointer(c)
            if uncond != nil {
                let g = guidance
                for v in image { mixed.pointer[v] = u[v] + g * (c[v] - u[v]) }
                source = UnsafePointer(mixed.pointer)
            }
            let token = sampler.next(source, vocab: layout.vocabSize, allowed: image)
            codes[i] = token - Int32(image.lowerBound)
            if i + 1 < codesPerImage {
                c = cond.step(token, logitRange: image)
                if let uncond { u = uncond.step(token, logitRange: image) }
            } else {
                c = cond.step(token)  // full vocabulary: does the model close the image here?
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var best = 0
        for v in 0..<layout.usedSize where c[v] > c[best] { best = v }
        return Sample(codes: codes, endsImage: Int32(best) == layout.special("</image>"), seconds: seconds)
    }
}
