import Foundation

/// The training loop: gradient accumulation normalised by the step's total target count,
/// global-norm clipping, AdamW with warmup+cosine, held-out evaluation, checkpoints, metrics.
public final class Trainer {
    public let config: TrainConfig
    public let runDir: String
    public let model: Transformer
    public let adam: AdamW
    public let pool: Parallel
    let train: TokenStream
    let val: TokenStream
    var inputs: [Int32]
    var targets: [Int32]
    public private(set) var step = 0
    var tokensSeen = 0
    public private(set) var elapsedBefore = 0.0
    var lastLoss: Double?
    var lastValLoss: Double?
    var bestValLoss: Double?
    var bestValStep: Int?
    let started = Date()
    let allowConfigChange: Bool
    var smoothed = EMATracker(decay: 0.9)
    /// The tokenizer the data was made with; copied into every checkpoint.
    let tokenizerFile: String?
    /// Targets not counted: `data.ignore_index`, or `<pad>` for text-to-image shards.
    public let ignoreIndex: Int32
    /// The id layout of text-to-image shards (nil for plain text).
    public let layout: VocabularyLayout?
    let captionDropout: CaptionDropout?
    /// `data.text_replay`: rows of plain text among the text-to-image rows.
    let replay: TextReplay?
    /// Which rows of the current step's `inputs` are replayed text (accumulation × micro_batch).
    var replayed: [Bool]
    /// Called with progress lines (the CLI prints them).
    public var log: (String) -> Void = { _ in }
    /// Called with a live progress line that may be overwritten (terminal only).
    public var progress: ((String) -> Void)?
    /// Polled between steps; when it returns a signal number the run checkpoints and stops.
    public var stopRequested: () -> Int32? = { nil }
    /// Data parallelism: rank r computes the micro-batches m ≡ r (mod size) of every step and the
    /// gradients are summed over ranks, so the global batch is the config's whatever the size.
    /// Only rank 0 evaluates and writes metrics and checkpoints.
    public let comm: Communicator

    /// Sets up a run in `runDir`, which must already exist (see `RunDirectory`). With `resume`,
    /// continues from the newest checkpoint that loads.
    public init(
        config: TrainConfig, runDir: String, resume: Bool, allowConfigChange: Bool = false,
        comm: Communicator = SingleProcess(), log: @escaping (String) -> Void = { _ in }
    ) throws {
        // A resumed run's recorded config is read without the hardware check; training needs it.
        if let why = config.precision.unsupported() { throw TesseraError.config("precision: \(why)") }
        guard config.accumulation % comm.size == 0 else {
            throw TesseraError.config(
                "optim.batch_tokens gives \(config.accumulation) micro-batch(es) per step, not a multiple of the \(comm.size) MPI ranks; make batch_tokens / (micro_batch × seq_len) a multiple of \(comm.size)"
            )
        }
        self.comm = comm
        self.config = config
        self.runDir = runDir
        self.log = log
        self.allowConfigChange = allowConfigChange
        pool = config.makePool()
        let streams = try TokenStream.load(config.data)
        train = streams.train
        val = streams.val
        if let m = streams.shards {
            guard m.vocabSize <= config.model.vocabSize else {
                throw TesseraError.config(
                    "model.vocab_size (\(config.model.vocabSize)) is smaller than the shards' vocabulary (\(m.vocabSize), \(config.data.train)/manifest.json)"
                )
            }
            tokenizerFile = try TokenShards.verifyTokenizer(dir: config.data.train, manifest: m)
            layout = m.layout
        } else {
            tokenizerFile = nil
            layout = nil
        }
        if let layout {
            let pad = Int(layout.special("<pad>"))
            guard config.data.ignoreIndex == -1 || config.data.ignoreIndex == pad else {
                throw TesseraError.config(
                    "data.ignore_index (\(config.data.ignoreIndex)) must be -1 or <pad> (\(pad)) for the text-to-image shards in \(config.data.train)"
                )
            }
            ignoreIndex = Int32(pad)
        } else {
            ignoreIndex = Int32(config.data.ignoreIndex)
        }
        if config.data.captionDropout > 0 {
            guard let layout, !(streams.shards?.sources.first?["kind"] == "unconditional") else {
                throw TesseraError.config(
                    "data.caption_dropout needs caption–image shards (tokenize pairs without --unconditional); \(config.data.train) has none"
                )
            }
            captionDropout = CaptionDropout(probability: config.data.captionDropout, layout: layout)
        } else {
            captionDropout = nil
        }
        let T = config.data.seqLen, B = config.optim.microBatch
        if config.data.textReplay > 0 {
            guard let m = streams.shards else {
                throw TesseraError.config(
                    "data.text_replay needs caption–image shards (tokenize pairs); \(config.data.train) is a text file")
            }
            replay = try TextReplay.load(
                dir: config.data.replayCorpus, fraction: config.data.textReplay, seqLen: T, pairs: m,
                pairsDir: config.data.train)
        } else {
            replay = nil
        }
        replayed = [Bool](repeating: false, count: config.accumulation * B)
        guard train.count >= T + 1 else {
            throw TesseraError.data(
                file: config.data.train, "training text has \(train.count) tokens, fewer than seq_len + 1 = \(T + 1)")
        }
        let maxId = max(train.tokens.max() ?? 0, val.tokens.max() ?? 0)
        guard Int(maxId) < config.model.vocabSize else {
            throw TesseraError.data(
                file: config.data.train, "token id \(maxId) is outside model.vocab_size \(config.model.vocabSize)")
        }
        if let why = Transformer.sizeProblem(config.model, batch: B, seqLen: T, training: true) {
            throw TesseraError.config(why)
        }
        model = Transformer(config: config.model, batch: B, seqLen: T, pool: pool, precision: config.precision)
        let o = config.optim
        let trainable = try Freezing.trainable(o.trainable, names: model.params.names, layers: config.model.nLayers)
        adam = AdamW(
            store: model.params, config: o.adam, trainable: { trainable.contains($0) },
            decays: { !Glob.matchesAny(o.noDecay, $0) })
        model.frozen(Set(model.params.names).subtracting(trainable))
        // One step's windows, all micro-batches: read once, counted, then fed slice by slice.
        inputs = [Int32](repeating: 0, count: config.accumulation * B * T)
        targets = [Int32](repeating: 0, count: config.accumulation * B * T)
        model.initialize(seed: config.seed)
        if !config.initialization.from.isEmpty {
            let r = try PretrainedInit.apply(
                from: config.initialization.from, to: model, textRows: layout?.textSize,
                newRows: config.initialization.newRows, std: config.initialization.newRowsStd, seed: config.seed,
                tokenizer: tokenizerFile)
            log(
                String(
                    format: "init: %@ — %d tensors copied; %@: %d text rows kept, %d new rows ~ %@",
                    r.source, r.copiedTensors, r.matrices == 1 ? "tied embedding" : "embedding and output",
                    r.copiedRows, r.newRows,
                    {
                        switch config.initialization.newRows {
                        case .normal: String(format: "truncated N(0, %.4f)", r.std)
                        case .mean: String(format: "the text rows' mean + N(0, %.4f)", r.std)
                        case .text: "N(μ, Σ) of the text rows"
                        }
                    }()))
            if !config.initialization.aligned.isEmpty {
                let a = try PretrainedInit.applyAligned(
                    from: config.initialization.aligned, to: model, layout: layout, tokenizer: tokenizerFile,
                    imageTokenizerHash: streams.shards?.sources.first?["image_tokenizer_hash"])
                log(
                    String(
                        format: "init: %d image-code embedding rows from %@ (scaled ×%.3f to the text rows' mean norm)",
                        a.rows, config.initialization.aligned, a.scale))
            } else if config.initialization.matchNorm {
                let a = try PretrainedInit.matchImageRowNorm(
                    of: model, layout: layout, redraw: config.initialization.newRows == .mean, seed: config.seed)
                log(
                    String(
                        format:
                            "init: %d image-code embedding rows rescaled ×%.3f to the text rows' mean norm (init.match_norm)",
                        a.rows, a.scale))
            }
        }
        if resume { try restore() }
    }

    func restore() throws {
        guard
            let s = try Checkpoint.resumeNewest(
                runDir: runDir, configHash: config.hash, allowConfigChange: allowConfigChange,
                writes: comm.isRoot, log: log,
                load: { path, s in
                    // The id ranges the checkpoint was trained with must be the data's.
                    let saved = path.appendingPathComponent("layout.json")
                    if FileIO.exists(saved) || layout != nil {
                        guard FileIO.exists(saved), let layout else {
                            throw TesseraError.data(
                                file: path,
                                layout == nil
                                    ? "was trained on text-to-image shards (layout.json) but \(config.data.train) has no vocabulary layout"
                                    : "has no layout.json but \(config.data.train) is text-to-image shards")
                        }
                        let theirs = try VocabularyLayout(
                            json: try JSONSerialization.jsonObject(with: try FileIO.read(saved)), file: saved)
                        try theirs.check(layout, mine: saved, theirs: config.data.train + "/manifest.json")
                    }
                    try Checkpoint.loadWeights(path, into: model)
                    try Checkpoint.loadOptimizer(path, into: adam)
                    if let counter = s.rng["data/train"], counter != dataCounter(step: s.step) {
                        throw TesseraError.data(
                            file: path + "/state.json", "data/train position \(counter) does not match step \(s.step)")
                    }
                })
        else { return }
        step = s.step
        tokensSeen = s.tokensSeen
        elapsedBefore = s.elapsedSeconds
        lastLoss = s.lastLoss
        bestValLoss = s.bestValLoss
        bestValStep = s.bestValStep
    }

    var state: TrainState {
        TrainState(
            step: step, adamStep: adam.step, tokensSeen: tokensSeen, elapsedSeconds: elapsed,
            configHash: config.hash, seed: config.seed, lastLoss: lastLoss, bestValLoss: bestValLoss,
            bestValStep: bestValStep, rng: ["data/train": dataCounter(step: step)])
    }

    /// Counter of the first training window of `step` in the "data/train" stream.
    func dataCounter(step: Int) -> UInt64 { UInt64(step * config.accumulation * config.optim.microBatch) }

    public var elapsed: Double { elapsedBefore + Date().timeIntervalSince(started) }

    /// One optimizer step: forward/backward over every micro-batch, clip, update. Returns
    /// (mean loss, gradient norm before clipping). Throws on a non-finite value, before the update.
    public func trainStep() throws -> (loss: Double, gradNorm: Double) {
        var split: ModalityLoss?
        return try trainStep(split: &split)
    }

    /// As `trainStep()`; for text-to-image shards also the step's sums by modality in `split`.
    public func trainStep(split: inout ModalityLoss?) throws -> (loss: Double, gradNorm: Double) {
        if layout != nil { split = ModalityLoss() }
        let c = config, B = c.optim.microBatch, T = c.data.seqLen, accum = c.accumulation
        let ignore = ignoreIndex
        // The loss is a mean over every counted target of the whole step, so count them first.
        fill()
        let counted = targets.reduce(0) { $0 + ($1 == ignore ? 0 : 1) }
        guard counted > 0 else {
            throw TesseraError.data(
                file: c.data.train, "step \(step + 1) has no counted targets (all equal ignore_index)")
        }
        model.params.zeroGrads()
        var sum = 0.0
        let micro = B * T
        for m in stride(from: comm.rank, to: accum, by: comm.size) {
            // The weights change once per step (after the last micro-batch): one bf16 mirror per step.
            inputs.withUnsafeBufferPointer {
                model.forward(tokens: $0.baseAddress! + m * micro, weightsUnchanged: m != comm.rank)
            }
            sum += targets.withUnsafeBufferPointer {
                model.lossAndBackward(
                    targets: $0.baseAddress! + m * micro, ignoreIndex: ignore, scale: 1 / Float(counted))
            }
            if let layout {
                // Row by row: replayed text counts apart from the captions' text.
                targets.withUnsafeBufferPointer { t in
                    for b in 0..<B {
                        let losses = model.tokenLosses + b * T, tb = t.baseAddress! + m * micro + b * T
                        if replayed[m * B + b] {
                            split!.addReplay(losses: losses, targets: tb, count: T, ignore: ignore)
                        } else {
                            split!.add(losses: losses, targets: tb, count: T, layout: layout, ignore: ignore)
                        }
                    }
                }
            }
        }
        if comm.size > 1 {
            comm.allreduceSum(model.params.grads.pointer, count: model.params.grads.count)
            var sums = [sum]
            if let m = split {
                sums += [
                    m.all, m.text, m.image, Double(m.allCount), Double(m.textCount), Double(m.imageCount), m.replay,
                    Double(m.replayCount),
                ]
            }
            comm.allreduceSum(&sums)
            sum = sums[0]
            if split != nil {
                split!.all = sums[1]; split!.text = sums[2]; split!.image = sums[3]
                split!.allCount = Int(sums[4]); split!.textCount = Int(sums[5]); split!.imageCount = Int(sums[6])
                split!.replay = sums[7]; split!.replayCount = Int(sums[8])
            }
        }
        let loss = sum / Double(counted)
        let norm = adam.gradNorm()
        guard loss.isFinite, norm.isFinite else {
            throw TesseraError.divergence(
                "step \(step + 1): loss \(loss), gradient norm \(norm); the update was not applied")
        }
        adam.update(lr: c.schedule.lr(at: step), gradScale: c.optim.clipScale(norm: norm), pool: pool)
        step += 1
        tokensSeen += accum * B * T
        return (loss, norm)
    }

    /// Reads every micro-batch of the current step into `inputs`/`targets`.
    func fill() {
        let c = config, micro = c.optim.microBatch * c.data.seqLen
        inputs.withUnsafeMutableBufferPointer { i in
            targets.withUnsafeMutableBufferPointer { t in
                for m in 0..<c.accumulation {
                    train.fillTraining(
                        step: step, micro: m, accumulation: c.accumulation, rows: c.optim.microBatch,
                        seqLen: c.data.seqLen,
                        seed: c.seed, captionDropout: captionDropout,
                        inputs: i.baseAddress! + m * micro, targets: t.baseAddress! + m * micro)
                    for b in 0..<c.optim.microBatch {
                        let row = (step * c.accumulation + m) * c.optim.microBatch + b
                        let r = replay?.replaces(row: row, seed: c.seed) ?? false
                        replayed[m * c.optim.microBatch + b] = r
                        if r {
                            let o = m * micro + b * c.data.seqLen
                            replay!.fill(
                                row: row, seqLen: c.data.seqLen, seed: c.seed, inputs: i.baseAddress! + o,
                                targets: t.baseAddress! + o)
                        }
                    }
                }
            }
        }
    }

    /// Mean held-out loss over up to `eval.tokens` tokens, read in order.
    public func evaluate() -> Double? {
        var split: ModalityLoss?
        return evaluate(split: &split)
    }

    public func evaluate(split: inout ModalityLoss?) -> Double? {
        Evaluator.meanLoss(
            model: model, stream: val, maxTokens: config.eval.tokens, ignoreIndex: ignoreIndex, layout: layout,
            inputs: &inputs, targets: &targets, split: &split)
    }

    /// Runs to `optim.steps` through `RunLifecycle` (which writes summary.json however it ends).
    public func run() throws -> TrainSummary {
        let lifecycle = RunLifecycle(
            runDir: comm.isRoot ? runDir : nil, log: log, progress: progress, stopRequested: stopRequested)
        return try lifecycle.run { self }
    }

    /// What the run is, for the first lines of its log.
    public var preamble: [String] {
        let c = config
        var lines: [String] = []
        if let better = BLASKernel.advice() {
            lines.append(
                "note: OpenBLAS fell back to its generic \(Gemm.coreName) kernels on this CPU; OPENBLAS_CORETYPE=\(better) runs the same GEMMs faster"
            )
        }
        if let note = c.precision.emulationNote { lines.append(note) }
        if c.precision == .bf16 {
            // A CPU with avx512_bf16 may still multiply bf16 more slowly than fp32 (this repository's
            // Intel Xeon: about 0.65×): measured on a 512³ product of each, and said.
            let r = (
                fp32: Benchmark.gemm(pool, m: 512, k: 512, n: 512, transB: true),
                bf16: Benchmark.gemmBF16(threads: pool.threads, m: 512, k: 512, n: 512, transB: true)
            )
            if r.bf16 < r.fp32 {
                lines.append(
                    String(
                        format:
                            "note: precision bf16 is slower than fp32 on this CPU: a 512³ product runs at %.0f GFLOP/s in bf16 (oneDNN %@) against %.0f in fp32",
                        r.bf16, DNNL.isaName, r.fp32))
            }
        }
        lines.append(
            "model: \(model.params.parameterCount) parameters (\(adam.trainableCount) trainable), \(c.accumulation) micro-batch(es) of \(c.optim.microBatch)×\(c.data.seqLen) per step, \(c.threads) thread(s), \(c.precision.rawValue), BLAS kernel \(Gemm.coreName)"
                + (comm.size > 1 ? ", \(comm.size) MPI ranks (\(c.accumulation / comm.size) micro-batch(es) each)" : "")
        )
        return lines
    }

    public func summary(status: String, reason: String, code: Int32) -> TrainSummary {
        var s = TrainSummary(status: status, exitReason: reason, exitCode: code, step: step, wallSeconds: elapsed)
        s.tokens = tokensSeen
        s.final = .init(loss: lastLoss, valLoss: lastValLoss)
        s.best = .init(step: bestValStep, valLoss: bestValLoss)
        return s
    }
}

/// Bias-corrected exponential moving averages of named series (metrics smoothing).
struct EMATracker {
    let decay: Double
    var values: [String: (value: Double, steps: Int)] = [:]
    mutating func update(_ key: String, _ x: Double) -> Double {
        var e = values[key] ?? (0, 0)
        e.value = decay * e.value + (1 - decay) * x
        e.steps += 1
        values[key] = e
        return e.value / (1 - Foundation.pow(decay, Double(e.steps)))
    }
}

extension Trainer: LifecycleTrainer {
    public var totalSteps: Int { config.optim.steps }
    public var cadence: RunLifecycle.Cadence {
        .init(
            evalEvery: config.eval.every, checkpointEvery: config.checkpoint.every, logEvery: config.logEvery,
            checkpointAtEnd: config.checkpoint.final)
    }
    public var writesMetrics: Bool { comm.isRoot }

    /// Every rank stops at the same step, whichever received the signal.
    public func agreedStop(_ local: Int32?) -> Int32? {
        let s = comm.allreduceMax(local ?? 0)
        return s != 0 ? s : nil
    }

    public func advance() throws -> (row: TrainingStepRow, text: String) {
        let c = config
        let t0 = Date()
        let lr = c.schedule.lr(at: step)
        var split: ModalityLoss?
        let (loss, norm) = try trainStep(split: &split)
        lastLoss = loss
        let tps = Double(c.tokensPerStep) / max(Date().timeIntervalSince(t0), 1e-9)
        var row = TrainingStepRow(
            step: step, tokens: tokensSeen, lr: lr, loss: loss, gradNorm: norm,
            tokensPerSecond: tps.rounded(), elapsedSeconds: (elapsed * 1000).rounded() / 1000)
        if let split {
            // Raw per-step values are noisy with few image or text targets per step; an EMA (0.9,
            // bias-corrected) sits beside each. It restarts with a resumed process.
            if let v = split.meanAll { row.loss = v; row.lossEMA = smoothed.update("loss", v) }
            if let v = split.meanText { row.lossText = v; row.lossTextEMA = smoothed.update("loss_text", v) }
            if let v = split.meanImage { row.lossImage = v; row.lossImageEMA = smoothed.update("loss_image", v) }
            if let v = split.meanReplay { row.lossReplay = v }
            row.targetsText = split.textCount
            row.targetsImage = split.imageCount
            if replay != nil { row.targetsReplay = split.replayCount }
        }
        return (
            row,
            String(
                format: "step %d/%d  loss %.4f  lr %.3e  grad %.3f  %.0f tok/s", step, c.optim.steps, loss, lr, norm,
                tps)
        )
    }

    /// Rank 0 only.
    public func evaluate(into row: inout TrainingStepRow) throws -> String? {
        var split: ModalityLoss?
        guard comm.isRoot, let v = evaluate(split: &split) else { return nil }
        row.heldOut = HeldOutLoss(mean: v, split: split)
        lastValLoss = v
        if bestValLoss.map({ v < $0 }) ?? true { bestValLoss = v; bestValStep = step }
        return String(format: "  val %.4f", v)
    }

    /// Rank 0 writes; the others return nil.
    @discardableResult
    public func saveCheckpoint() throws -> String? {
        guard comm.isRoot else { return nil }
        let c = config
        let path = try Checkpoint.save(
            runDir: runDir, model: model, adam: adam, state: state, config: c, tokenizer: tokenizerFile, layout: layout)
        Checkpoint.prune(runDir: runDir, keepLast: c.checkpoint.keepLast, milestoneEvery: c.checkpoint.milestoneEvery)
        return path
    }
}
