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

    /// Captions drawn side by side (`sample(captions:samplers:)`).
    public let rows: Int

    public init(
        config: ModelConfig, params: ParameterStore, layout: VocabularyLayout, codesPerImage: Int,
        sequenceLength: Int, guidance: Float = 1, pool: Parallel, bf16: MixedPrecision? = nil, rows: Int = 1
    ) {
        precondition(layout.usedSize <= config.vocabSize && sequenceLength - 1 <= config.maxSeqLen)
        self.layout = layout
        self.codesPerImage = codesPerImage
        self.sequenceLength = sequenceLength
        self.guidance = guidance
        self.rows = rows
        let positions = sequenceLength - 1
        cond = InferenceSession(
            config: config, params: params, maxLength: positions, pool: pool, mixed: bf16, rows: rows)
        uncond =
            guidance == 1
            ? nil
            : InferenceSession(
                config: config, params: params, maxLength: positions, pool: pool, mixed: bf16, rows: rows)
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
        var samplers = [sampler]
        defer { sampler = samplers[0] }
        return sample(captions: [caption], samplers: &samplers)[0]
    }

    /// One image for each of `captions` (at most `rows`), caption r drawn with `samplers[r]`. The
    /// prompts are right-aligned (a shorter one starts later; its row idles until then), so every
    /// row draws its codes on the same steps; the codes' seconds are the batch's, shared evenly.
    public func sample(captions: [[Int32]], samplers: inout [Sampler]) -> [Sample] {
        let n = captions.count
        precondition(n >= 1 && n <= rows && samplers.count == n)
        let image = layout.imageRange, V = layout.vocabSize
        let prompts = captions.map { prompt(caption: $0) }, empty = prompt(caption: [])
        let L = prompts.map(\.count).max()!
        var tokens = [Int32](repeating: 0, count: rows), active = [Bool](repeating: false, count: rows)
        cond.reset()
        uncond?.reset()
        for t in 0..<L {
            for r in 0..<rows {
                let start = r < n ? L - prompts[r].count : L
                active[r] = t >= start
                tokens[r] = active[r] ? prompts[r][t - start] : 0
            }
            cond.step(tokens: tokens, active: active, logitRange: image)
            if let uncond, t >= L - empty.count {
                for r in 0..<rows { active[r] = r < n; tokens[r] = empty[t - (L - empty.count)] }
                uncond.step(tokens: tokens, active: active, logitRange: image)
            }
        }
        for r in 0..<rows { active[r] = r < n; tokens[r] = 0 }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var codes = [[Int32]](repeating: [Int32](repeating: 0, count: codesPerImage), count: n)
        for i in 0..<codesPerImage {
            for r in 0..<n {
                let c = cond.logits(row: r)
                var source = UnsafePointer(c)
                if let uncond {
                    let u = uncond.logits(row: r), g = guidance
                    for v in image { mixed.pointer[v] = u[v] + g * (c[v] - u[v]) }
                    source = UnsafePointer(mixed.pointer)
                }
                tokens[r] = samplers[r].next(source, vocab: V, allowed: image)
                codes[r][i] = tokens[r] - Int32(image.lowerBound)
            }
            if i + 1 < codesPerImage {
                cond.step(tokens: tokens, active: active, logitRange: image)
                uncond?.step(tokens: tokens, active: active, logitRange: image)
            } else {
                cond.step(tokens: tokens, active: active)  // full vocabulary: does the model close the image here?
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return (0..<n).map { r in
            let c = cond.logits(row: r)
            var best = 0
            for v in 0..<layout.usedSize where c[v] > c[best] { best = v }
            return Sample(
                codes: codes[r], endsImage: Int32(best) == layout.special("</image>"), seconds: seconds / Double(n))
        }
    }
}
