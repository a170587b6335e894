import Foundation

/// Trains the MoVQ image tokenizer: pixel L2 (+ optional L1) + weighted VQ loss, Adam with
/// value clipping, optional EMA weights and dead-code restarts; held-out PSNR, SSIM, code usage and
/// perplexity; reconstruction grids; checkpoints that resume bit for bit.
public final class VQTrainer {
    public let config: VQTrainConfig
    public let runDir: String
    public let model: MoVQModel
    public let adam: AdamW
    public let pool: Parallel
    public let train: ImageSet
    public let val: ImageSet
    /// EMA shadow of `model.params.values` (same layout), when `ema.decay` > 0.
    let ema: FloatBuffer?
    /// The hinge-GAN discriminator and its optimizer, when `gan.weight` > 0.
    public let discriminator: PatchDiscriminator?
    let discriminatorAdam: AdamW?
    let dLogits: FloatBuffer
    let batchImages: FloatBuffer
    let dRecon: FloatBuffer
    public private(set) var step = 0
    public private(set) var elapsedBefore = 0.0
    let started = Date()
    var lastLoss: Double?
    var lastEval: ReconstructionScores?
    var bestPSNR: Double?
    var bestStep: Int?
    let allowConfigChange: Bool
    public var log: (String) -> Void = { _ in }
    public var progress: ((String) -> Void)?
    public var stopRequested: () -> Int32? = { nil }

    public init(
        config: VQTrainConfig, runDir: String, resume: Bool, allowConfigChange: Bool = false,
        log: @escaping (String) -> Void = { _ in }
    ) throws {
        // A resumed run's recorded config is read without the hardware check; training needs it.
        if let why = config.precision.unsupported() { throw TesseraError.config("precision: \(why)") }
        self.config = config
        self.runDir = runDir
        self.log = log
        self.allowConfigChange = allowConfigChange
        pool = config.makePool()
        let side = config.model.resolution
        if config.data.shapesCount > 0 {
            let n = config.data.shapesCount, v = config.data.shapesValCount
            train = ImageSet.shapes(seed: config.seed, side: side, first: 0, count: n - v)
            val = ImageSet.shapes(seed: config.seed, side: side, first: n - v, count: v)
        } else {
            let folder = try CaptionedImageFolder(dir: config.data.folder)
            train = try ImageSet.load(folder: folder, split: "train", side: side, pool: pool)
            val = try ImageSet.load(folder: folder, split: "val", side: side, pool: pool)
        }
        let batch = config.optim.batch
        model = MoVQModel(config: config.model, maxBatch: batch, pool: pool)
        model.workspace.convolutions = config.engine
        adam = AdamW(store: model.params, config: config.optim.adam)
        batchImages = FloatBuffer(count: batch * model.imageSize)
        dRecon = FloatBuffer(count: batch * model.imageSize)
        model.initialize(seed: config.seed)
        if config.gan.weight > 0 {
            let d = PatchDiscriminator(
                ndf: config.gan.ndf, layers: config.gan.layers, resolution: side, maxBatch: batch, pool: pool)
            d.initialize(seed: config.seed)
            discriminator = d
            discriminatorAdam = AdamW(store: d.params, config: config.optim.adam)
            dLogits = FloatBuffer(count: batch * d.logitCount)
        } else {
            discriminator = nil; discriminatorAdam = nil; dLogits = FloatBuffer(count: 1)
        }
        if config.emaDecay > 0 {
            let e = FloatBuffer(count: model.params.values.count)
            e.pointer.update(from: model.params.values.pointer, count: e.count)
            ema = e
        } else {
            ema = nil
        }
        if resume { try restore() }
    }

    public var elapsed: Double { elapsedBefore + Date().timeIntervalSince(started) }

    // MARK: - data order

    /// Training images in seeded per-epoch permutations ("data/train/epoch-E"): a pure function of
    /// (seed, step), so a resume continues the order exactly.
    lazy var trainOrder = EpochOrder(count: train.count, seed: config.seed, name: "data/train")

    // MARK: - step

    public struct StepResult {
        public let loss, reconstruction, vq, gradNorm: Double
        /// Hinge-GAN terms when the discriminator is on: generator −mean D(x̂), discriminator loss.
        public var generatorAdversarial: Double?
        public var discriminatorLoss: Double?
    }

    /// One optimizer step over one batch. Throws on a non-finite value, before the update.
    public func trainStep() throws -> StepResult {
        let c = config, batch = c.optim.batch, size = model.imageSize
        train.fill((0..<batch).map { trainOrder.index(step * batch + $0) }, into: batchImages.pointer)
        model.params.zeroGrads()
        let (recon, vq) = model.reconstruct(batchImages.pointer, batch: batch)
        let n = batch * size
        var l2 = 0.0, l1 = 0.0
        let x = batchImages.pointer, y = recon.p, d = dRecon.pointer
        let a2 = Float(2 * c.loss.l2 / Double(n)), a1 = Float(c.loss.l1 / Double(n))
        for i in 0..<n {
            let e = y[i] - x[i]
            l2 += Double(e * e)
            l1 += Double(abs(e))
            d[i] = a2 * e + (e > 0 ? a1 : (e < 0 ? -a1 : 0))
        }
        l2 /= Double(n); l1 /= Double(n)
        let rec = c.loss.l2 * l2 + c.loss.l1 * l1
        var loss = rec + c.loss.vq * vq
        let ganOn = discriminator != nil && step >= c.gan.start
        var adversarial: Double?
        if ganOn, let disc = discriminator {
            // Generator side: −weight·mean D(x̂); only ∂/∂x̂ is kept, the discriminator's own gradients are dropped.
            let logits = disc.forward(recon.p, batch: batch), k = batch * disc.logitCount
            var g = 0.0
            for i in 0..<k { g -= Double(logits.p[i]) }
            adversarial = g / Double(k)
            loss += c.gan.weight * adversarial!
            dLogits.pointer.update(repeating: Float(-c.gan.weight / Double(k)), count: k)
            let dx = disc.backward(dLogits: dLogits.pointer, batch: batch)
            Kernels.add(dx.p, into: dRecon.pointer, count: n)
        }
        model.backward(dRecon: dRecon.pointer, vqScale: Float(c.loss.vq), batch: batch)
        let norm = adam.gradNorm()
        guard loss.isFinite, norm.isFinite else {
            throw TesseraError.divergence(
                "step \(step + 1): loss \(loss), gradient norm \(norm); the update was not applied")
        }
        if c.optim.gradClipValue > 0 {
            let v = Float(c.optim.gradClipValue), g = model.params.grads.pointer
            pool.forEachChunk(model.params.grads.count, grain: 1 << 16) { r in
                for i in r { g[i] = max(-v, min(v, g[i])) }
            }
        }
        adam.update(lr: c.schedule.lr(at: step), pool: pool)
        let dLoss = ganOn ? try discriminatorStep(real: batchImages.pointer, fake: recon.p, batch: batch) : nil
        if let ema {
            let n = Double(step)  // updates before this one
            let decay = c.emaWarmup ? min(c.emaDecay, (1 + n) / (10 + n)) : c.emaDecay
            let k = Float(1 - decay), s = ema.pointer, p = model.params.values.pointer
            pool.forEachChunk(ema.count, grain: 1 << 16) { r in for i in r { s[i] -= k * (s[i] - p[i]) } }
        }
        step += 1
        if c.restartEvery > 0 && step % c.restartEvery == 0 && Double(step) <= c.restartUntil * Double(c.optim.steps) {
            restartDeadCodes(batch: batch)
        }
        return StepResult(
            loss: loss, reconstruction: rec, vq: vq, gradNorm: norm, generatorAdversarial: adversarial,
            discriminatorLoss: dLoss)
    }

    /// Hinge loss ½(mean relu(1 − D(x)) + mean relu(1 + D(x̂))) on the step's real batch and its
    /// reconstructions (those of the forward pass before the generator's update), one Adam step.
    func discriminatorStep(real: UnsafePointer<Float>, fake: UnsafePointer<Float>, batch: Int) throws -> Double {
        guard let disc = discriminator, let dAdam = discriminatorAdam else { return 0 }
        disc.params.zeroGrads()
        let k = batch * disc.logitCount, half = 0.5 / Double(k)
        var total = 0.0
        for (images, sign) in [(real, Float(1)), (fake, Float(-1))] {
            // real: relu(1 − L), ∂/∂L = −1 where L < 1;  fake: relu(1 + L), ∂/∂L = +1 where L > −1.
            let logits = disc.forward(images, batch: batch)
            for i in 0..<k {
                let m = 1 - sign * logits.p[i]
                total += Double(max(0, m)) * half
                dLogits.pointer[i] = m > 0 ? -sign * Float(half) : 0
            }
            disc.backward(dLogits: dLogits.pointer, batch: batch)
        }
        guard total.isFinite else { throw TesseraError.divergence("step \(step): discriminator loss \(total)") }
        if config.optim.gradClipValue > 0 {
            let v = Float(config.optim.gradClipValue), g = disc.params.grads.pointer
            for i in 0..<disc.params.grads.count { g[i] = max(-v, min(v, g[i])) }
        }
        dAdam.update(lr: config.schedule.lr(at: step), pool: pool)
        return total
    }

    /// Codes unused since the last restart move onto encoder outputs drawn from the current batch.
    func restartDeadCodes(batch: Int) {
        let e = config.model.embedDim, rows = batch * model.tokensPerImage
        var rng = RandomStream(seed: config.seed, name: "codebook/restart", counter: UInt64(step) << 20)
        var moved = 0
        for k in 0..<config.model.nEmbed where model.usage[k] == 0 {
            let r = rng.int(below: rows)
            (model.codebookValues + k * e).update(from: model.latentRows + r * e, count: e)
            ema.map {
                ($0.pointer + model.params.slot("quantize.embedding.weight")!.offset + k * e).update(
                    from: model.latentRows + r * e, count: e)
            }
            moved += 1
        }
        model.resetUsage()
        if moved > 0 { log("step \(step): restarted \(moved) unused code(s)") }
    }

    // MARK: - evaluation

    /// Held-out metrics with the EMA weights when kept; writes the reconstruction grid PNG.
    public func evaluate(writeGrid: Bool = true) throws -> ReconstructionScores {
        let saved = swapInEMA()
        defer { if let saved { model.params.values.pointer.update(from: saved.pointer, count: saved.count) } }
        let r = ReconstructionReport.measure(model: model, set: val, limit: config.eval.images, keep: config.eval.grid)
        if writeGrid && !r.originals.isEmpty {
            let dir = runDir.appendingPathComponent("samples")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try r.grid(side: config.model.resolution).write(
                path: dir.appendingPathComponent(String(format: "recon_step_%08d.png", step)))
        }
        return r.scores
    }

    /// Puts the EMA weights in the model; returns the training weights to put back.
    func swapInEMA() -> FloatBuffer? {
        guard let ema else { return nil }
        let saved = FloatBuffer(count: ema.count)
        saved.pointer.update(from: model.params.values.pointer, count: ema.count)
        model.params.values.pointer.update(from: ema.pointer, count: ema.count)
        return saved
    }

    // MARK: - checkpoints

    var state: TrainState {
        var s = TrainState(
            step: step, adamStep: adam.step, tokensSeen: 0, elapsedSeconds: elapsed, configHash: config.hash,
            seed: config.seed, lastLoss: lastLoss, bestValStep: bestStep,
            rng: ["data/train": UInt64(step * config.optim.batch)])
        s.bestValPSNR = bestPSNR
        s.imagesSeen = step * config.optim.batch
        return s
    }

    func writeCheckpoint() throws -> String {
        var extra: [String: SafetensorsPayload] = [:]
        if let ema {
            extra["ema.safetensors"] = .init(
                tensors: model.params.slots.map {
                    SafetensorsTensor(name: $0.name, shape: $0.shape, f32: ema.pointer + $0.offset)
                })
        }
        // Usage since the last restart decides the next restart, so it is part of the state.
        extra["codebook_usage.safetensors"] = .init(tensors: [
            SafetensorsTensor(name: "usage", shape: [config.model.nEmbed], i32: model.usage.map { Int32(clamping: $0) })
        ])
        if let disc = discriminator, let dAdam = discriminatorAdam {
            let p = disc.params
            extra["discriminator.safetensors"] = .init(
                tensors: p.slots.map {
                    SafetensorsTensor(name: $0.name, shape: $0.shape, f32: p.values.pointer + $0.offset)
                }
                    + disc.buffers.map {
                        SafetensorsTensor(name: $0.name, shape: [$0.values.count], f32: $0.values.pointer)
                    },
                metadata: ["num_batches_tracked": String(disc.batchesTracked)])
            extra["discriminator_optimizer.safetensors"] = Checkpoint.optimizerPayload(dAdam)
        }
        let path = try Checkpoint.save(
            runDir: runDir, params: model.params, adam: adam, state: state, configJSON: config.json, extra: extra)
        Checkpoint.prune(
            runDir: runDir, keepLast: config.checkpoint.keepLast, milestoneEvery: config.checkpoint.milestoneEvery)
        return path
    }

    func restore() throws {
        guard
            let s = try Checkpoint.resumeNewest(
                runDir: runDir, configHash: config.hash, allowConfigChange: allowConfigChange, log: log,
                load: { path, _ in
                    func at(_ f: String) -> String { path.appendingPathComponent(f) }
                    try Checkpoint.loadParameters(file: at("model.safetensors"), into: model.params)
                    try Checkpoint.loadOptimizer(path, into: adam)
                    if let ema {
                        let f = try SafetensorsFile(path: at("ema.safetensors"))
                        for slot in model.params.slots {
                            try f.read(slot.name, into: ema.pointer + slot.offset, count: slot.count)
                        }
                    }
                    let u = try SafetensorsFile(path: at("codebook_usage.safetensors")).int32s("usage")
                    guard u.count == config.model.nEmbed else {
                        throw TesseraError.data(
                            file: at("codebook_usage.safetensors"),
                            "holds \(u.count) counts for \(config.model.nEmbed) codes")
                    }
                    model.resetUsage()
                    model.addUsage(u.map(Int.init))
                    if let disc = discriminator, let dAdam = discriminatorAdam {
                        let file = at("discriminator.safetensors")
                        try Checkpoint.loadParameters(
                            file: file, into: disc.params,
                            ignore: { $0.hasSuffix(".running_mean") || $0.hasSuffix(".running_var") })
                        let f = try SafetensorsFile(path: file)
                        for (name, buf) in disc.buffers { try f.read(name, into: buf.pointer, count: buf.count) }
                        disc.batchesTracked = Int(f.metadata["num_batches_tracked"] ?? "") ?? 0
                        try Checkpoint.loadOptimizer(file: at("discriminator_optimizer.safetensors"), into: dAdam)
                    }
                })
        else { return }
        step = s.step
        elapsedBefore = s.elapsedSeconds
        lastLoss = s.lastLoss
        bestPSNR = s.bestValPSNR ?? s.bestValLoss.map { -$0 }  // checkpoints before best_val_psnr kept −PSNR
        bestStep = s.bestValStep
    }

    // MARK: - loop

    /// Runs to `optim.steps` through `RunLifecycle` (which writes summary.json however it ends).
    public func run() throws -> TrainSummary {
        try RunLifecycle(runDir: runDir, log: log, progress: progress, stopRequested: stopRequested).run { self }
    }

    public func summary(status: String, reason: String, code: Int32) -> TrainSummary {
        var s = TrainSummary(status: status, exitReason: reason, exitCode: code, step: step, wallSeconds: elapsed)
        s.images = step * config.optim.batch
        s.final = .init(loss: lastLoss, reconstruction: lastEval)
        s.best = .init(step: bestStep, psnr: bestPSNR)
        return s
    }
}

extension VQTrainer: LifecycleTrainer {
    public var totalSteps: Int { config.optim.steps }
    public var cadence: RunLifecycle.Cadence {
        .init(
            evalEvery: config.eval.every, checkpointEvery: config.checkpoint.every, logEvery: config.logEvery,
            checkpointAtEnd: config.checkpoint.final)
    }

    public var preamble: [String] {
        let c = config
        return [c.precision.emulationNote].compactMap { $0 } + [
            "model: MoVQ \(model.params.parameterCount) parameters, \(c.model.resolution)² images → \(c.model.gridSide)×\(c.model.gridSide) codes of \(c.model.nEmbed); \(train.count) train / \(val.count) held-out images, batch \(c.optim.batch), \(c.threads) thread(s), \(c.precision.rawValue), convolutions \(c.convolutions == .onednnBF16 ? "onednn" : c.convolutions.rawValue)"
        ]
    }

    public func advance() throws -> (row: VQStepRow, text: String) {
        let c = config
        let t0 = Date()
        let lr = c.schedule.lr(at: step)
        let r = try trainStep()
        lastLoss = r.loss
        let dt = Date().timeIntervalSince(t0)
        var row = VQStepRow(
            step: step, images: step * c.optim.batch, lr: lr, loss: r.loss, reconstructionLoss: r.reconstruction,
            vqLoss: r.vq, gradNorm: r.gradNorm,
            imagesPerSecond: (Double(c.optim.batch) / max(dt, 1e-9) * 10).rounded() / 10,
            elapsedSeconds: (elapsed * 1000).rounded() / 1000)
        if let g = r.generatorAdversarial, let d = r.discriminatorLoss {
            row.generatorAdversarialLoss = g; row.discriminatorLoss = d
        }
        let text = String(
            format: "step %d/%d  loss %.4f  rec %.4f  vq %.4f  %.1f img/s", step, c.optim.steps, r.loss,
            r.reconstruction, r.vq, Double(c.optim.batch) / max(dt, 1e-9))
        return (row, text)
    }

    public func evaluate(into row: inout VQStepRow) throws -> String? {
        let e = try evaluate()
        row.heldOut = e
        lastEval = e
        if bestPSNR.map({ e.psnr > $0 }) ?? true { bestPSNR = e.psnr; bestStep = step }
        return String(
            format: "  val psnr %.2f dB  ssim %.3f  codes %.0f%%  ppl %.0f", e.psnr, e.ssim, 100 * e.codeUsage,
            e.codePerplexity)
    }

    @discardableResult
    public func saveCheckpoint() throws -> String? { try writeCheckpoint() }
}
