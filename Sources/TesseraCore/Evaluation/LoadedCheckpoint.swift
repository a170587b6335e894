import Foundation

/// A trained model loaded from a checkpoint (or a run directory's newest checkpoint),
/// planned for `batch` rows of the training sequence length.
public struct LoadedCheckpoint {
    public let path: String
    public let config: TrainConfig
    public let model: Transformer
    /// The checkpoint's tokenizer.json, when it was trained on tokenized shards; bytes otherwise.
    public let tokenizer: BPETokenizer?

    /// `seqLen` nil plans the training sequence length; generation passes 1 (it keeps its own cache).
    /// `precision` bf16 runs the products in bf16 (`model.mixed`, which sessions pass on).
    public init(path given: String, batch: Int, threads: Int, seqLen: Int? = nil, precision: Precision = .fp32) throws {
        let path = try Checkpoint.resolve(given, role: "--checkpoint")
        self.path = path
        config = try TrainConfig.load(json: path.appendingPathComponent("config.json"))
        if let why = Transformer.sizeProblem(
            config.model, batch: batch, seqLen: seqLen ?? config.data.seqLen, training: false)
        {
            throw TesseraError.config("\(path): \(why)")
        }
        // The weights must be the model config.json describes, checked before anything is
        // allocated from its numbers.
        let weightsFile = path.appendingPathComponent("model.safetensors")
        if FileIO.exists(path.appendingPathComponent(Checkpoint.marker)) {
            try Checkpoint.verifyChecksums(path, files: [weightsFile.lastPathComponent])
        }
        let entries = try SafetensorsFile(path: weightsFile).entries
        for (name, shape) in TransformerWeights.shapes(config.model) where entries[name]?.shape != shape {
            throw TesseraError.data(
                file: weightsFile,
                entries[name].map { "tensor \"\(name)\" has shape \($0.shape), config.json implies \(shape)" }
                    ?? "missing tensor \"\(name)\" that config.json implies")
        }
        model = Transformer(
            config: config.model, batch: batch, seqLen: seqLen ?? config.data.seqLen, pool: Parallel(threads: threads),
            precision: precision)
        try Checkpoint.loadWeights(path, into: model)
        let tokPath = path.appendingPathComponent("tokenizer.json")
        tokenizer = FileIO.exists(tokPath) ? try TokenizerFiles.load(tokPath) : nil
        // Every id the tokenizer can produce must have an embedding row (generation reads them unchecked).
        if let t = tokenizer, t.vocabSize > config.model.vocabSize {
            throw TesseraError.data(
                file: tokPath,
                "has \(t.vocabSize) ids but the model's vocab_size is \(config.model.vocabSize): its ids would index past the embedding"
            )
        } else if tokenizer == nil, config.model.vocabSize < 256 {
            throw TesseraError.data(
                file: path,
                "has no tokenizer.json, so text is read as bytes (ids 0–255), but vocab_size is \(config.model.vocabSize)"
            )
        }
    }

    /// Ids of a text file (with this checkpoint's tokenizer) or of a shard directory's val split
    /// (which must have been made with this checkpoint's tokenizer).
    public func tokens(of corpus: String) throws -> [Int32] {
        if FileIO.isDirectory(corpus) {
            try checkSameTokenizer(shards: corpus)
            return try TokenShards.load(dir: corpus, split: "val").ids
        }
        let data = [UInt8](try FileIO.read(corpus))
        guard !data.isEmpty else { throw TesseraError.data(file: corpus, "file is empty") }
        return tokenizer?.encode(bytes: data) ?? data.map { Int32($0) }
    }

    /// Shards are ids: they must come from this checkpoint's tokenizer (bytes when it has none).
    public func checkSameTokenizer(shards dir: String) throws {
        let m = try TokenShards.readManifest(dir)
        try TokenShards.verifyTokenizer(dir: dir, manifest: m)
        let mine = path.appendingPathComponent("tokenizer.json")
        let hash = FileIO.exists(mine) ? TokenShards.fnv1a(try FileIO.read(mine)) : "bytes"
        guard m.tokenizerHash == hash || (hash == "bytes" && m.tokenizer == "bytes") else {
            throw TesseraError.data(
                file: dir + "/manifest.json",
                "was tokenized with \(m.tokenizer) (\(m.tokenizerHash)), not the tokenizer of \(path) (\(hash)); pass a text file to encode it with the checkpoint's"
            )
        }
    }

    public func encode(_ text: String) -> [Int32] { tokenizer?.encode(text) ?? Array(text.utf8).map { Int32($0) } }

    public func decode(_ ids: [Int32]) -> String {
        if let tokenizer, let s = try? tokenizer.decode(ids) { return s }
        return String(decoding: ids.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
    }
}
