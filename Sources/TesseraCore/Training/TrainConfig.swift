import Foundation

/// Everything a `tessera train` run is made of. Read strictly from YAML/JSON by `ConfigReader`
/// (key paths in snake_case, as written below); saved resolved as `config.json` in the run dir.
public struct TrainConfig: Equatable, Sendable {
    public var seed: UInt64 = 1337
    /// Worker threads for matmuls and kernels (OpenBLAS itself runs single-threaded).
    public var threads: Int = 2
    /// How large GEMMs use the threads: Tessera's dynamic blocks (`sharded`) or OpenBLAS's pool (`openblas`).
    public var gemmThreading: GemmThreading = .sharded
    /// The products' arithmetic: fp32 (OpenBLAS) or bf16 operands with fp32 accumulation (oneDNN).
    public var precision: Precision = .fp32
    public var model: ModelConfig
    public var data = DataSection()
    public var optim = OptimSection()
    public var eval = EvalSection()
    public var checkpoint = CheckpointSection()
    public var logEvery: Int = 1
    public var initialization = InitSection()

    /// Where the weights start: random (default) or a text LM checkpoint extended to this vocabulary.
    public struct InitSection: Equatable, Sendable {
        /// Checkpoint or run directory; empty: random initialisation.
        public var from = ""
        /// How the embedding/output rows the source lacks start (see `PretrainedInit`).
        public var newRows = NewRows.normal
        /// `normal`: std of the truncated normal, 0 = 1/√d_model. `mean`: std of the noise added to
        /// the text rows' mean, 0 = none. `text`: must be 0.
        public var newRowsStd = 0.0
        /// `tessera probe align` output whose rows become the image codes' embeddings (needs `from`).
        public var aligned = ""
        /// Rescale the image-code embedding rows, as drawn, to the text rows' mean norm: the control
        /// arm for `aligned` (same scale, random directions). Needs `from` and pair shards.
        public var matchNorm = false

        public enum NewRows: String, CaseIterable, Sendable {
            /// Truncated N(0, new_rows_std): the paper's "randomly initialised" rows.
            case normal
            /// The mean of the text rows (Hewitt 2021; transformers' `mean_resizing`): with a tied or
            /// copied output layer, the LM's text loss rises by at most log(1 + new/text rows).
            case mean
            /// Draws from the Gaussian of the text rows, N(μ, Σ): distinct rows that look like tokens to
            /// the input and output layers alike.
            case text
        }
    }

    public struct DataSection: Equatable, Sendable {
        /// UTF-8 text whose bytes are the tokens (ids 0–255). Empty for synthetic data (bench).
        public var train: String = ""
        /// Held-out text; when empty, the last `valFraction` of `train` is held out.
        public var val: String = ""
        public var valFraction: Double = 0.1
        public var seqLen: Int = 256
        /// Targets equal to this id are not counted in the loss (-1: none).
        public var ignoreIndex: Int = -1
        /// Text-to-image shards: the fraction of training sequences whose caption is dropped
        /// (`<doc> <text> </text> <image> …`), which teaches the unconditional model that
        /// classifier-free guidance needs. Drawn per sequence from the stream "data/caption-dropout".
        public var captionDropout: Double = 0
        /// Text-to-image shards: the fraction of training rows replaced by plain text from
        /// `replayCorpus` (token shards of the captions' tokenizer), drawn per row (`TextReplay`).
        public var textReplay: Double = 0
        public var replayCorpus: String = ""
    }

    public struct OptimSection: Equatable, Sendable {
        public var steps: Int = 100
        public var microBatch: Int = 8
        /// Tokens per optimizer step; a multiple of micro_batch·seq_len. Accumulation = this / (micro_batch·seq_len).
        public var batchTokens: Int = 0
        public var lr: Double = 3e-4
        public var minLR: Double = 0
        public var warmupSteps: Int = 0
        public var adam = AdamWConfig()
        /// Global gradient-norm clip; 0 turns clipping off.
        public var gradClip: Double = 1.0
        /// Globs of parameter names that get no weight decay.
        public var noDecay: [String] = []
        /// Trainable tensors: a `Freezing` preset or globs; everything else is frozen.
        public var trainable: [String] = ["all"]

        public init() {}

        /// What the gradients are multiplied by for a global norm `norm`: torch's
        /// `clip_grad_norm_` coefficient gradClip / (norm + 1e-6) when below 1, else 1.
        public func clipScale(norm: Double) -> Float {
            guard gradClip > 0 else { return 1 }
            let coef = gradClip / (norm + 1e-6)
            return coef < 1 ? Float(coef) : 1
        }
    }

    public struct EvalSection: Equatable, Sendable {
        /// Evaluate the held-out loss every N steps (0: only at the end).
        public var every: Int = 0
        /// At most this many held-out tokens per evaluation (0: all).
        public var tokens: Int = 65536
    }

    public struct CheckpointSection: Equatable, Sendable {
        /// Save every N steps (0: only at the end).
        public var every: Int = 0
        /// Keep the newest K checkpoints (milestones are kept regardless).
        public var keepLast: Int = 2
        /// Steps that are multiples of this are never deleted (0: none).
        public var milestoneEvery: Int = 0
        /// Whether the last step saves one. False for runs whose weights nothing reads (a study's
        /// image-only arms: only their held-out losses are judged): 1.6 GB each for SmolLM2 with
        /// its optimizer. Such a run, if killed, restarts from its last periodic checkpoint.
        public var final = true
    }

    public var accumulation: Int { max(1, optim.batchTokens / (optim.microBatch * data.seqLen)) }
    public var tokensPerStep: Int { accumulation * optim.microBatch * data.seqLen }

    public var schedule: LRSchedule {
        LRSchedule(baseLR: optim.lr, minLR: optim.minLR, warmupSteps: optim.warmupSteps, totalSteps: optim.steps)
    }

    public init(model: ModelConfig) {
        self.model = model
        optim.batchTokens = optim.microBatch * data.seqLen
    }

    /// Reads and validates a whole config. Relative data paths are relative to the working directory.
    public init(reader r: ConfigReader) throws {
        let L = SizeLimits.self
        let seqLen = try r.int("data.seq_len", 256, min: 2, max: L.maxSequenceLength)
        let d = try r.int("model.d_model", min: 1, max: L.maxDModel)
        let heads = try r.int("model.n_heads", min: 1, max: L.maxHeads)
        let normKind = try r.choice("model.norm", NormKind.layerNorm)
        model = ModelConfig(
            dModel: d, nLayers: try r.int("model.n_layers", min: 1, max: L.maxLayers), nHeads: heads,
            nKVHeads: try r.optionalInt("model.n_kv_heads", min: 1, max: L.maxHeads),
            vocabSize: try r.int("model.vocab_size", 256, min: 2, max: L.maxVocabulary),
            ffnHidden: try r.optionalInt("model.ffn_hidden", min: 1, max: L.maxFFNHidden),
            ffnMultipleOf: try r.int("model.ffn_multiple_of", 256, min: 1, max: L.maxFFNHidden),
            norm: normKind,
            normEps: Float(
                try r.double("model.norm_eps", normKind == .rmsNorm ? 1e-6 : 1e-5, min: 0, exclusiveMin: true)),
            rope: try r.choice("model.rope", RopeKind.half),
            ropeTheta: try r.double("model.rope_theta", 10000, min: 0, exclusiveMin: true),
            tieEmbeddings: try r.bool("model.tie_embeddings", false),
            maxSeqLen: try r.int("model.max_seq_len", seqLen, min: seqLen, max: L.maxSequenceLength))
        model.mlp = try r.choice("model.mlp", MLPKind.swiglu)
        model.linearBias = try r.bool("model.linear_bias", false)
        model.learnedPositions = try r.bool("model.learned_positions", false)
        model.rotaryDims = try r.int("model.rotary_dims", 0, min: 0, max: L.maxDModel)
        model.parallelResidual = try r.bool("model.parallel_residual", false)
        seed = UInt64(try r.int("seed", 1337, min: 0))
        threads = try r.int("threads", 2, min: 1, max: 1024)
        gemmThreading = try r.choice("gemm_threading", GemmThreading.sharded)
        precision = try r.choice("precision", Precision.fp32)
        if let why = r.unsupported(precision) { throw r.fail("precision", why) }
        logEvery = try r.int("log_every", 1, min: 1)

        data.train = try r.string("data.train", "")
        data.val = try r.string("data.val", "")
        data.valFraction = try r.double("data.val_fraction", 0.1, min: 0, max: 0.9)
        data.seqLen = seqLen
        data.ignoreIndex = try r.int("data.ignore_index", -1, min: -1)
        data.captionDropout = try r.double("data.caption_dropout", 0, min: 0, max: 1)
        data.textReplay = try r.double("data.text_replay", 0, min: 0, max: 1)
        data.replayCorpus = try r.string("data.replay_corpus", "")
        if data.textReplay >= 1 {
            throw r.fail("data.text_replay", "must be below 1 (the fraction of rows that are text, not images)")
        }
        if (data.textReplay > 0) != !data.replayCorpus.isEmpty {
            throw data.textReplay > 0
                ? r.fail("data.text_replay", "needs data.replay_corpus: token shards of plain text (tokenize text)")
                : r.fail("data.replay_corpus", "is read only with data.text_replay > 0")
        }

        optim.steps = try r.int("optim.steps", 100, min: 1, max: 1 << 31)
        optim.microBatch = try r.int("optim.micro_batch", 8, min: 1, max: L.maxRows)
        guard optim.microBatch * seqLen <= L.maxRows else {  // both ≤ 2²⁴ and 2²⁰: the product cannot overflow
            throw r.fail(
                "optim.micro_batch",
                "× data.seq_len (\(optim.microBatch) × \(seqLen)) exceeds Tessera's maximum of \(L.maxRows) rows")
        }
        optim.batchTokens = try r.int("optim.batch_tokens", optim.microBatch * seqLen, min: 1, max: 1 << 31)
        optim.lr = try r.double("optim.lr", 3e-4, min: 0, exclusiveMin: true)
        optim.minLR = try r.double("optim.min_lr", 0, min: 0)
        optim.warmupSteps = try r.int("optim.warmup_steps", 0, min: 0)
        optim.adam = try r.adam(beta1: 0.9, beta2: 0.95, weightDecay: 0.1)
        optim.gradClip = try r.double("optim.grad_clip", 1.0, min: 0)
        optim.noDecay = try r.strings("optim.no_decay", [])
        optim.trainable = try r.strings("optim.trainable", ["all"])
        if optim.trainable.isEmpty {
            throw r.fail("optim.trainable", "needs a preset (\(Freezing.presets.joined(separator: ", "))) or globs")
        }

        initialization.from = try r.string("init.from", "")
        initialization.newRows = try r.choice("init.new_rows", InitSection.NewRows.normal)
        initialization.newRowsStd = try r.double("init.new_rows_std", 0, min: 0)
        if initialization.newRows == .text && initialization.newRowsStd > 0 {
            throw r.fail(
                "init.new_rows_std", "has no meaning with init.new_rows: text (the rows take the text rows' covariance)"
            )
        }
        initialization.aligned = try r.string("init.aligned", "")
        if !initialization.aligned.isEmpty && initialization.from.isEmpty {
            throw r.fail("init.aligned", "needs init.from: the aligned rows extend a pre-trained text LM")
        }
        initialization.matchNorm = try r.bool("init.match_norm", false)
        if initialization.matchNorm && (initialization.from.isEmpty || !initialization.aligned.isEmpty) {
            throw r.fail(
                "init.match_norm", "needs init.from and no init.aligned (aligned rows are norm-matched already)")
        }
        eval.every = try r.int("eval.every", 0, min: 0)
        eval.tokens = try r.int("eval.tokens", 65536, min: 0)
        checkpoint = try r.checkpointSection()
        try r.finish()

        if let p = model.problems().first { throw TesseraError.config("\(r.file): \(p)") }
        if optim.minLR > optim.lr {
            throw TesseraError.config("\(r.file): optim.min_lr (\(optim.minLR)) must not exceed optim.lr (\(optim.lr))")
        }
        let micro = optim.microBatch * seqLen
        if optim.batchTokens % micro != 0 {
            throw TesseraError.config(
                "\(r.file): optim.batch_tokens (\(optim.batchTokens)) must be a multiple of micro_batch × seq_len (\(micro))"
            )
        }
        if data.ignoreIndex >= model.vocabSize {
            throw TesseraError.config(
                "\(r.file): data.ignore_index (\(data.ignoreIndex)) must be below model.vocab_size (\(model.vocabSize))"
            )
        }
    }

    /// The resolved config as a nested JSON-ready tree (what `config.json` holds).
    public var tree: [String: Any] {
        var m: [String: Any] = [
            "d_model": model.dModel, "n_layers": model.nLayers, "n_heads": model.nHeads, "n_kv_heads": model.nKVHeads,
            "vocab_size": model.vocabSize, "ffn_hidden": model.ffnHidden, "norm": model.norm.rawValue,
            "norm_eps": Double(model.normEps), "rope": model.rope.rawValue, "rope_theta": model.ropeTheta,
            "tie_embeddings": model.tieEmbeddings, "max_seq_len": model.maxSeqLen,
        ]
        // Only when not the open_lm defaults, so earlier configs keep their hash.
        if model.mlp != .swiglu { m["mlp"] = model.mlp.rawValue }
        if model.linearBias { m["linear_bias"] = true }
        if model.learnedPositions { m["learned_positions"] = true }
        if model.rotaryDims != 0 { m["rotary_dims"] = model.rotaryDims }
        if model.parallelResidual { m["parallel_residual"] = true }
        var t: [String: Any] = [
            "seed": Int(seed), "threads": threads, "gemm_threading": gemmThreading.rawValue, "log_every": logEvery,
            "model": m,
            "data": [
                "train": data.train, "val": data.val, "val_fraction": data.valFraction, "seq_len": data.seqLen,
                "ignore_index": data.ignoreIndex,
            ],
            "optim": [
                "steps": optim.steps, "micro_batch": optim.microBatch, "batch_tokens": optim.batchTokens,
                "lr": optim.lr, "min_lr": optim.minLR, "warmup_steps": optim.warmupSteps,
                "beta1": optim.adam.beta1, "beta2": optim.adam.beta2, "eps": optim.adam.eps,
                "weight_decay": optim.adam.weightDecay, "grad_clip": optim.gradClip, "no_decay": optim.noDecay,
            ]
            .merging(optim.trainable == ["all"] ? [:] : ["trainable": optim.trainable]) { a, _ in a },
            "eval": ["every": eval.every, "tokens": eval.tokens],
            "checkpoint":
                ([
                    "every": checkpoint.every, "keep_last": checkpoint.keepLast,
                    "milestone_every": checkpoint.milestoneEvery,
                ] as [String: Any]).merging(checkpoint.final ? [:] : ["final": false]) { a, _ in a },
        ]
        // Only when used, so configs from before `init` existed keep their hash.
        if !initialization.from.isEmpty {
            t["init"] = ["from": initialization.from, "new_rows_std": initialization.newRowsStd]
                .merging(initialization.aligned.isEmpty ? [:] : ["aligned": initialization.aligned]) { a, _ in a }
                .merging(initialization.matchNorm ? ["match_norm": true] : [:]) { a, _ in a }
                .merging(initialization.newRows == .normal ? [:] : ["new_rows": initialization.newRows.rawValue]) {
                    a, _ in a
                }
        }
        if precision != .fp32 { t["precision"] = precision.rawValue }  // fp32 configs keep their hash
        if data.captionDropout > 0 {
            t["data"] = (t["data"] as! [String: Any]).merging(["caption_dropout": data.captionDropout]) { a, _ in a }
        }
        if data.textReplay > 0 {
            t["data"] = (t["data"] as! [String: Any]).merging([
                "text_replay": data.textReplay, "replay_corpus": data.replayCorpus,
            ]) { a, _ in a }
        }
        return t
    }

    public var json: Data {
        try! JSONSerialization.data(withJSONObject: tree, options: [.prettyPrinted, .sortedKeys])
    }

    public func makePool() -> Parallel { Parallel(threads: threads, blasThreading: gemmThreading == .openblas) }

    /// Hash of what determines the numbers a run produces. `threads` and the logging/eval/checkpoint
    /// cadence are left out: they change no loss with Tessera's GEMM blocks, so a resume may change
    /// them (with OpenBLAS's pool the thread count does; `RunConfig.forResume` keeps it).
    public var hash: String {
        var t = tree
        t["threads"] = nil
        t["gemm_threading"] = nil
        t["log_every"] = nil
        t["eval"] = nil
        t["checkpoint"] = nil
        return FNV.hex(try! JSONSerialization.data(withJSONObject: t, options: [.sortedKeys]))
    }

    /// Loads a resolved `config.json` (written by a run or a checkpoint).
    public static func load(json path: String) throws -> TrainConfig {
        try ConfigReader.fromJSON(path, TrainConfig.init(reader:))
    }
}

public enum GemmThreading: String, CaseIterable, Sendable {
    case sharded
    case openblas
}
