/// Which tensors train. The paper's presets (architecture.md §2.7, open_lm names), or globs:
///   embed-output        (1) tok_embeddings.weight, output.weight
///   embed-output-norms  (2) (1) + every norm's weight and bias, and pos_embeddings.weight when the
///                           model has learned positions (GPT-2; open_lm has no positional parameters)
///   first-half          (3) (2) + every tensor of layers 0 ..< L/2
///   ffn                 (4) (2) + every layer's feed_forward weights
/// Frozen tensors get no optimizer state, no weight decay and no part in the gradient norm.
public enum Freezing {
    public static let presets = ["all", "embed-output", "embed-output-norms", "first-half", "ffn"]

    /// Globs of the trainable tensors for `spec` (a preset name or globs) in a model of `layers` layers.
    public static func patterns(_ spec: [String], layers: Int) -> [String] {
        guard spec.count == 1, presets.contains(spec[0]) else { return spec }
        typealias G = TransformerWeights.Global
        let embed = [G.embedding.name, G.output.name]
        // Every norm of the model: the blocks' two and the final one, weights and biases.
        let norms = embed + ["*" + G.finalNorm.name, "*" + G.finalNormBias.name, G.positions.name]
        switch spec[0] {
        case "embed-output": return embed
        case "embed-output-norms": return norms
        case "first-half": return norms + (0..<(layers / 2)).map { "layers.\($0).*" }
        case "ffn": return norms + ["layers.*.feed_forward.*"]  // TransformerWeights.Block.w12, .w3 and their biases
        default: return ["*"]
        }
    }

    /// The trainable names. Every glob given by the user must match at least one tensor (a typo
    /// would otherwise freeze a tensor silently); presets adapt to the model (tied output, RMSNorm).
    public static func trainable(_ spec: [String], names: [String], layers: Int) throws -> Set<String> {
        let pats = patterns(spec, layers: layers)
        let isPreset = spec.count == 1 && presets.contains(spec[0])
        for p in pats where !isPreset && !names.contains(where: { Glob.matches(p, $0) }) {
            throw TesseraError.config(
                "optim.trainable: \"\(p)\" matches no parameter (names look like \(names.prefix(3).joined(separator: ", ")), …)"
            )
        }
        return Set(names.filter { Glob.matchesAny(pats, $0) })
    }
}
