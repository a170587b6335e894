import Foundation

/// `init.from`: start a run from a text LM checkpoint whose vocabulary the run extends (the paper's
/// "pre-trained" arm). Every tensor is copied by name and must have the run's shape, except the
/// embedding and output matrices: their rows for the text ids are copied, and the rows the run adds
/// (image codes, structure tokens, padding) start in one of three ways (`init.new_rows`):
/// - `normal`: a truncated normal of `new_rows_std` (0: open_lm's 1/√d, the scale of a fresh
///   embedding), stream "init/<name>/new-rows" — the paper's "randomly initialised" rows. With a
///   tied output layer this can drown the LM: a new row's logit h·e is N(0, σ‖h‖), and when the
///   final hidden states are long, 320 such rows outweigh 49,152 text rows — SmolLM2's first text
///   loss with them was 11.4 nats, above the random model's 10.9.
/// - `mean`: every new row is the mean μ of the copied text rows (Hewitt 2021, "Initializing new
///   word embeddings for pretrained language models"; transformers' `mean_resizing`), plus
///   truncated N(0, new_rows_std) noise when that is > 0. Why it is safe: a new row's logit is
///   h·μ = the mean of the text logits, and by Jensen exp(mean zᵢ) ≤ mean exp(zᵢ), so the k new
///   rows add at most k/n of the text rows' partition function Z: the LM's loss on any text token
///   rises by at most log(1 + k/n) (n text rows; 0.0065 nats for SmolLM2's 320 new rows). Equal
///   rows do not stay equal: each is a different target and a different input.
/// - `text`: draws from the Gaussian fitted to the text rows, N(μ, Σ) (`RowGaussian`). A new
///   row's logit h·e is then N(h·μ, hᵀΣh), the spread of the text logits themselves, not σ‖h‖;
///   and unlike `mean`, the image codes are distinct inputs from the first step. In expectation
///   each new row adds exp(h·μ + hᵀΣh/2) to the partition function — what a text row would add
///   on average if the text logits were Gaussian. `mean`'s bound does not carry over: measured on
///   SmolLM2, the first text loss was 10.07 nats, against 9.23 with `mean` and 10.86 random.
/// With tied embeddings there is one matrix and it is extended once.
public enum PretrainedInit {
    public struct Report {
        public let source: String
        public let copiedTensors: Int
        /// Rows kept and rows added, per vocabulary matrix (one when tied, two when not).
        public let copiedRows: Int
        public let newRows: Int
        public let matrices: Int
        public let std: Float
    }

    /// `textRows`: how many leading rows are text ids shared with the source (the layout's text
    /// size for pair shards; else the source's whole vocabulary, capped at the run's).
    public static func apply(
        from path: String, to model: Transformer, textRows: Int?,
        newRows mode: TrainConfig.InitSection.NewRows = .normal, std configured: Double, seed: UInt64,
        tokenizer: String?
    ) throws -> Report {
        let dir = try Checkpoint.resolve(path, role: "init.from")
        let source = try TrainConfig.load(json: dir.appendingPathComponent("config.json")).model
        let c = model.config
        var mismatch: [String] = []
        if source.dModel != c.dModel { mismatch.append("d_model \(source.dModel) vs \(c.dModel)") }
        if source.nLayers != c.nLayers { mismatch.append("n_layers \(source.nLayers) vs \(c.nLayers)") }
        if source.nHeads != c.nHeads || source.nKVHeads != c.nKVHeads {
            mismatch.append("heads \(source.nHeads)/\(source.nKVHeads) vs \(c.nHeads)/\(c.nKVHeads)")
        }
        if source.ffnHidden != c.ffnHidden { mismatch.append("ffn_hidden \(source.ffnHidden) vs \(c.ffnHidden)") }
        if source.norm != c.norm { mismatch.append("norm \(source.norm.rawValue) vs \(c.norm.rawValue)") }
        if source.rope != c.rope || source.ropeTheta != c.ropeTheta {
            mismatch.append("rope \(source.rope.rawValue) θ \(source.ropeTheta) vs \(c.rope.rawValue) θ \(c.ropeTheta)")
        }
        if source.tieEmbeddings != c.tieEmbeddings {
            mismatch.append("tie_embeddings \(source.tieEmbeddings) vs \(c.tieEmbeddings)")
        }
        if let m = mismatch.first {
            throw TesseraError.config(
                "init.from \(dir) is a different architecture: \(m) (every model key but vocab_size must match)")
        }
        let shared = textRows ?? min(source.vocabSize, c.vocabSize)
        guard shared <= source.vocabSize, shared <= c.vocabSize else {
            throw TesseraError.config(
                "init.from \(dir) has \(source.vocabSize) vocabulary rows; the data's text ids need \(shared)")
        }
        // Text ids must mean the same tokens in both: compare the tokenizers when both are files.
        let srcTok = dir.appendingPathComponent("tokenizer.json")
        if let tokenizer, FileIO.exists(srcTok), FileIO.exists(tokenizer),
            TokenShards.fnv1a(try FileIO.read(srcTok)) != TokenShards.fnv1a(try FileIO.read(tokenizer))
        {
            throw TesseraError.data(
                file: tokenizer, "is not the tokenizer of init.from (\(srcTok)); text ids would change meaning")
        }
        if mode != .normal && shared < 1 {
            throw TesseraError.config(
                "init.new_rows: \(mode.rawValue) needs text rows to take the \(mode.rawValue) of; there are none")
        }
        let file = dir.appendingPathComponent("model.safetensors")
        let st = try SafetensorsFile(path: file)
        let d = c.dModel
        let std = configured > 0 || mode == .mean ? Float(configured) : 1 / Float(d).squareRoot()
        var tensors = 0, matrices = 0
        for slot in model.params.slots {
            guard let e = st.entries[slot.name] else {
                throw TesseraError.data(file: file, "missing tensor \"\(slot.name)\"")
            }
            let dst = model.params.values.pointer + slot.offset
            if slot.name == TransformerWeights.Global.embedding.name
                || slot.name == TransformerWeights.Global.output.name
            {
                guard e.shape == [source.vocabSize, d] else {
                    throw TesseraError.data(file: file, "tensor \"\(slot.name)\" has shape \(e.shape)")
                }
                let src = try st.floats(slot.name)
                dst.update(from: src, count: shared * d)
                var rng = RandomStream(seed: seed, name: "init/\(slot.name)/new-rows")
                switch mode {
                case .normal:
                    for i in (shared * d)..<(c.vocabSize * d) { dst[i] = rng.truncatedNormal(std: std) }
                case .mean:
                    let mu = RowGaussian.mean(rows: dst, count: shared, width: d).map { Float($0) }
                    for r in shared..<c.vocabSize {
                        for j in 0..<d { dst[r * d + j] = mu[j] + (std > 0 ? rng.truncatedNormal(std: std) : 0) }
                    }
                case .text:
                    let g = RowGaussian(rows: dst, count: shared, width: d)
                    for r in shared..<c.vocabSize { g.sample(into: dst + r * d, &rng) }
                }
                matrices += 1
            } else {
                guard e.shape == slot.shape else {
                    throw TesseraError.data(
                        file: file, "tensor \"\(slot.name)\" has shape \(e.shape), the run expects \(slot.shape)")
                }
                try st.read(slot.name, into: dst, count: slot.count)
            }
            tensors += 1
        }
        return Report(
            source: dir, copiedTensors: tensors, copiedRows: shared, newRows: c.vocabSize - shared, matrices: matrices,
            std: std)
    }
}

extension PretrainedInit {
    /// `init.aligned` (the paper's "pretrained + aligned" arm): after `apply`, the embedding rows of
    /// the image codes are replaced by the rows `tessera probe align` trained against the same text
    /// LM, rescaled so their mean norm equals the text rows' (the LM was trained on inputs of that
    /// scale; the probe only fixes directions). The output rows stay as `apply` drew them. The probe
    /// must have used this run's text tokenizer and image tokenizer: both hashes are checked.
    public static func applyAligned(
        from dir: String, to model: Transformer, layout: VocabularyLayout?,
        tokenizer: String?, imageTokenizerHash: String?
    ) throws -> (rows: Int, scale: Float) {
        let file = dir.appendingPathComponent("image_rows.safetensors")
        guard let layout else {
            throw TesseraError.config("init.aligned needs text-to-image shards (tokenize pairs) as data.train")
        }
        let st = try SafetensorsFile(path: file)
        let d = model.config.dModel, K = layout.imageCodes, T = layout.textSize
        guard let e = st.entries["image_embeddings"], e.shape == [K, d] else {
            throw TesseraError.data(
                file: file,
                "needs image_embeddings [\(K), \(d)] (this run's codebook and d_model); has \(st.entries["image_embeddings"]?.shape.description ?? "none")"
            )
        }
        if let want = st.metadata["tokenizer_hash"], let tokenizer, FileIO.exists(tokenizer),
            TokenShards.fnv1a(try FileIO.read(tokenizer)) != want
        {
            throw TesseraError.data(
                file: file, "was aligned against another text tokenizer (\(want)) than \(tokenizer)")
        }
        if let want = st.metadata["image_tokenizer_hash"], let have = imageTokenizerHash, want != have {
            throw TesseraError.data(
                file: file, "was aligned on codes of image tokenizer \(want); the run's shards use \(have)")
        }
        let rows = try st.floats("image_embeddings")
        let table = model.params.value(.embedding)!
        let scale =
            meanNorm(table, rows: T, d: d)
            / max(rows.withUnsafeBufferPointer { meanNorm($0.baseAddress!, rows: K, d: d) }, 1e-12)
        for i in 0..<(K * d) { table[T * d + i] = rows[i] * scale }
        return (K, scale)
    }

    /// `init.match_norm`: the control for `applyAligned`. The image-code rows keep the directions
    /// `apply` drew and are rescaled by the same rule (mean norm = the text rows' mean norm), so
    /// aligned vs norm-matched separates direction from scale. After `new_rows: mean` (every row μ,
    /// no direction to keep) the image rows first take the directions `normal` would have drawn:
    /// the same stream, truncated N(0, 1/√d).
    public static func matchImageRowNorm(
        of model: Transformer, layout: VocabularyLayout?, redraw: Bool = false, seed: UInt64 = 0
    ) throws -> (rows: Int, scale: Float) {
        guard let layout else {
            throw TesseraError.config("init.match_norm needs text-to-image shards (tokenize pairs) as data.train")
        }
        let d = model.config.dModel, K = layout.imageCodes, T = layout.textSize
        let table = model.params.value(.embedding)!
        if redraw {
            var rng = RandomStream(seed: seed, name: "init/\(TransformerWeights.Global.embedding.name)/new-rows")
            let std = 1 / Float(d).squareRoot()
            for i in 0..<(K * d) { table[T * d + i] = rng.truncatedNormal(std: std) }
        }
        let scale = meanNorm(table, rows: T, d: d) / max(meanNorm(table + T * d, rows: K, d: d), 1e-12)
        for i in 0..<(K * d) { table[T * d + i] *= scale }
        return (K, scale)
    }

    static func meanNorm(_ p: UnsafePointer<Float>, rows n: Int, d: Int) -> Float {
        var total: Float = 0
        for r in 0..<n {
            var s: Float = 0; for j in 0..<d { s += p[r * d + j] * p[r * d + j] }; total += s.squareRoot()
        }
        return total / Float(max(1, n))
    }
}
