import Foundation

/// A `tessera train` run of the MoVQ image tokenizer (`task: vq` in the config). Defaults follow
/// SBER-MoVQGAN: Adam(0.5, 0.9) at 1e-4 with no weight decay and a constant rate, gradients
/// clipped by value at 1, pixel L2 + the VQ loss with weight 1.
public struct VQTrainConfig: Equatable, Sendable {
    public var seed: UInt64 = 1337
    public var threads = 2
    /// Who runs the convolutions: per shape the faster of im2col and oneDNN fp32 (`auto`), or one of
    /// im2col + OpenBLAS (the oracle path), oneDNN fp32, oneDNN bf16 for every shape.
    public var convolutions = ConvolutionEngine.auto
    /// bf16: every convolution on oneDNN with bf16 operands and fp32 accumulation (im2col has no
    /// bf16 path); weights, gradients, Adam, norms, attention and the code search stay fp32.
    /// `convolutions: onednn-bf16` says the same.
    public var precision = Precision.fp32
    /// What the model runs: the convolutions' engine, bf16 ones in bf16 precision.
    public var engine: ConvolutionEngine { precision == .bf16 ? .onednnBF16 : convolutions }
    public var logEvery = 10
    public var model = MoVQConfig()
    public var data = DataSection()
    public var optim = OptimSection()
    public var loss = LossSection()
    /// Dead-code restart: every N steps, codes no image chose since the last restart are moved onto
    /// encoder outputs of the current batch (0: off, as in MoVQGAN).
    public var restartEvery = 0
    /// No restarts after this fraction of the steps, so the decoder learns the last codes it gets.
    public var restartUntil = 0.75
    /// EMA of the weights (MoVQGAN's LitEma uses 0.9999); 0 turns it off. Evaluation and the
    /// exported tokenizer use the EMA weights when it is on.
    public var emaDecay = 0.0
    /// LitEma's warm-up: the decay used at update n is min(decay, (1 + n)/(10 + n)), so early
    /// averages are not dominated by the initial weights (MoVQGAN turns it off; short runs want it).
    public var emaWarmup = false
    public var gan = GANSection()
    public var eval = EvalSection()
    public var checkpoint = TrainConfig.CheckpointSection()

    /// MoVQGAN's hinge GAN: a PatchGAN discriminator with its own Adam; the generator's loss gains
    /// weight·(−mean D(x̂)), the discriminator's is ½(mean relu(1 − D(x)) + mean relu(1 + D(x̂))).
    public struct GANSection: Equatable, Sendable {
        /// Adversarial weight (MoVQGAN: a fixed 0.1); 0 turns the GAN off.
        public var weight = 0.0
        public var ndf = 64
        public var layers = 2
        /// First step with the GAN on.
        public var start = 0
    }

    public struct DataSection: Equatable, Sendable {
        /// A captioned image folder (captions.jsonl with train/val splits)…
        public var folder = ""
        /// …or the built-in synthetic shapes, generated in memory from the run's seed.
        public var shapesCount = 0
        public var shapesValCount = 0
    }

    public struct OptimSection: Equatable, Sendable {
        public var steps = 1000
        public var batch = 16
        public var lr = 1e-4
        /// Cosine decay to this rate after warmup; equal to `lr` (the default) keeps it constant.
        public var minLR = 1e-4
        public var warmupSteps = 0
        public var adam = AdamWConfig(beta1: 0.5, beta2: 0.9, eps: 1e-8, weightDecay: 0)
        /// Element-wise clamp of every gradient to [−v, v] (Lightning's 'value' clipping); 0: off.
        public var gradClipValue = 1.0
    }

    public struct LossSection: Equatable, Sendable {
        public var l2 = 1.0
        public var l1 = 0.0
        public var vq = 1.0
    }

    public struct EvalSection: Equatable, Sendable {
        public var every = 0
        /// Held-out images per evaluation (0: all).
        public var images = 0
        /// Held-out images shown in the reconstruction grid PNG (0: none).
        public var grid = 8
    }

    public var schedule: LRSchedule {
        LRSchedule(baseLR: optim.lr, minLR: optim.minLR, warmupSteps: optim.warmupSteps, totalSteps: optim.steps)
    }

    public func makePool() -> Parallel { Parallel(threads: threads) }

    public init(reader r: ConfigReader) throws {
        _ = try r.string("task", "vq")
        seed = UInt64(try r.int("seed", 1337, min: 0))
        threads = try r.int("threads", 2, min: 1, max: 1024)
        // A recorded config without the key was written for im2col (see `tree`).
        convolutions = try r.choice("convolutions", r.isRecorded ? ConvolutionEngine.im2col : .auto)
        precision = try r.choice("precision", convolutions == .onednnBF16 ? Precision.bf16 : .fp32)
        if let why = r.unsupported(precision) {
            throw r.fail(convolutions == .onednnBF16 ? "convolutions" : "precision", why)
        }
        if precision == .fp32, convolutions == .onednnBF16 {
            throw r.fail("precision", "fp32 contradicts convolutions: onednn-bf16")
        }
        if precision == .bf16, convolutions == .im2col {
            throw r.fail("convolutions", "im2col runs in fp32 only; precision: bf16 runs the convolutions on oneDNN")
        }
        logEvery = try r.int("log_every", 10, min: 1)
        var m = MoVQConfig()
        m.resolution = try r.int("model.resolution", 64, min: 1)
        m.inChannels = try r.int("model.in_channels", 3, min: 3)
        m.outChannels = m.inChannels
        m.ch = try r.int("model.ch", 32, min: 1)
        m.chMult = try r.ints("model.ch_mult", [1, 2, 2], min: 1)
        m.numResBlocks = try r.int("model.num_res_blocks", 1, min: 1)
        m.attnResolutions = try r.ints("model.attn_resolutions", [16], min: 1)
        m.zChannels = try r.int("model.z_channels", 4, min: 1)
        m.embedDim = try r.int("model.embed_dim", 4, min: 1)
        m.nEmbed = try r.int("model.n_embed", 1024, min: 2)
        m.normGroups = try r.int("model.norm_groups", 32, min: 1)
        m.beta = Float(try r.double("model.beta", 0.25, min: 0))
        model = m
        if m.inChannels != 3 { throw r.fail("model.in_channels", "only RGB images (3) are supported") }

        data.folder = try r.string("data.folder", "")
        data.shapesCount = try r.int("data.shapes.count", 0, min: 0, max: 1 << 24)
        data.shapesValCount = try r.int("data.shapes.val_count", 0, min: 0, max: 1 << 24)

        optim.steps = try r.int("optim.steps", 1000, min: 1, max: 1 << 31)
        optim.batch = try r.int("optim.batch", 16, min: 1, max: 1 << 20)
        optim.lr = try r.double("optim.lr", 1e-4, min: 0, exclusiveMin: true)
        optim.minLR = try r.double("optim.min_lr", optim.lr, min: 0)
        optim.warmupSteps = try r.int("optim.warmup_steps", 0, min: 0)
        optim.adam = try r.adam(beta1: 0.5, beta2: 0.9, weightDecay: 0)
        optim.gradClipValue = try r.double("optim.grad_clip_value", 1.0, min: 0)
        loss.l2 = try r.double("loss.l2", 1.0, min: 0)
        loss.l1 = try r.double("loss.l1", 0.0, min: 0)
        loss.vq = try r.double("loss.vq", 1.0, min: 0)
        restartEvery = try r.int("codebook.restart_every", 0, min: 0)
        restartUntil = try r.double("codebook.restart_until", 0.75, min: 0, max: 1)
        emaDecay = try r.double("ema.decay", 0, min: 0, max: 0.999999999)
        emaWarmup = try r.bool("ema.warmup", false)
        gan.weight = try r.double("gan.weight", 0, min: 0)
        gan.ndf = try r.int("gan.ndf", 64, min: 1, max: 4096)
        gan.layers = try r.int("gan.layers", 2, min: 1, max: 16)
        gan.start = try r.int("gan.start", 0, min: 0)
        eval.every = try r.int("eval.every", 0, min: 0)
        eval.images = try r.int("eval.images", 0, min: 0, max: 1 << 24)
        eval.grid = try r.int("eval.grid", 8, min: 0, max: 64)
        checkpoint = try r.checkpointSection()
        try r.finish()

        if let p = model.problems().first { throw TesseraError.config("\(r.file): \(p)") }
        if let why = Self.batchMemoryProblem(model, batch: optim.batch, what: "optim.batch") {
            throw TesseraError.config("\(r.file): \(why)")
        }
        let usesFolder = !data.folder.isEmpty, usesShapes = data.shapesCount > 0
        guard usesFolder != usesShapes else {
            throw TesseraError.config(
                "\(r.file): give exactly one of data.folder (a captioned image folder) or data.shapes.count (synthetic shapes)"
            )
        }
        if usesShapes && (data.shapesValCount < 1 || data.shapesValCount >= data.shapesCount) {
            throw TesseraError.config(
                "\(r.file): data.shapes.val_count must be in 1..<data.shapes.count (\(data.shapesCount))")
        }
        if optim.minLR > optim.lr {
            throw TesseraError.config("\(r.file): optim.min_lr (\(optim.minLR)) must not exceed optim.lr (\(optim.lr))")
        }
        if gan.weight > 0 {
            // Each stride-2 layer halves the side and the two stride-1 4×4 convs take 2 pixels each.
            let side = (0..<gan.layers).reduce(model.resolution) { s, _ in s / 2 } - 2
            if side < 1 {
                throw TesseraError.config(
                    "\(r.file): gan.layers (\(gan.layers)) is too deep for \(model.resolution)² images")
            }
        }
        if loss.l1 == 0 && loss.l2 == 0 {
            throw TesseraError.config("\(r.file): loss.l1 and loss.l2 are both 0; nothing would train the decoder")
        }
    }

    public var tree: [String: Any] {
        let m = model
        var t: [String: Any] = [
            "task": "vq", "seed": Int(seed), "threads": threads, "log_every": logEvery,
            "model": [
                "resolution": m.resolution, "in_channels": m.inChannels, "ch": m.ch, "ch_mult": m.chMult,
                "num_res_blocks": m.numResBlocks, "attn_resolutions": m.attnResolutions, "z_channels": m.zChannels,
                "embed_dim": m.embedDim, "n_embed": m.nEmbed, "norm_groups": m.normGroups, "beta": Double(m.beta),
            ],
            "data": ["folder": data.folder, "shapes": ["count": data.shapesCount, "val_count": data.shapesValCount]],
            "optim": [
                "steps": optim.steps, "batch": optim.batch, "lr": optim.lr, "min_lr": optim.minLR,
                "warmup_steps": optim.warmupSteps, "beta1": optim.adam.beta1, "beta2": optim.adam.beta2,
                "eps": optim.adam.eps, "weight_decay": optim.adam.weightDecay, "grad_clip_value": optim.gradClipValue,
            ],
            "loss": ["l2": loss.l2, "l1": loss.l1, "vq": loss.vq],
            "codebook": ["restart_every": restartEvery, "restart_until": restartUntil],
            "ema": ["decay": emaDecay, "warmup": emaWarmup],
            "gan": ["weight": gan.weight, "ndf": gan.ndf, "layers": gan.layers, "start": gan.start],
            "eval": ["every": eval.every, "images": eval.images, "grid": eval.grid],
            "checkpoint":
                ([
                    "every": checkpoint.every, "keep_last": checkpoint.keepLast,
                    "milestone_every": checkpoint.milestoneEvery,
                ] as [String: Any]).merging(checkpoint.final ? [:] : ["final": false]) { a, _ in a },
        ]
        // Absent means im2col, the engine of configs written before `auto`: their hashes stay, and a
        // recorded config.json without the key reads back as im2col, so such runs resume as they ran
        // and their tokenizers encode as they trained.
        // bf16 is written one way, whichever way the config said it.
        if engine != .im2col { t["convolutions"] = engine.rawValue }
        return t
    }

    public var json: Data { try! JSONSerialization.data(withJSONObject: tree, options: [.prettyPrinted, .sortedKeys]) }

    /// Hash of what determines the numbers (threads and cadences left out).
    public var hash: String {
        var t = tree
        for k in ["threads", "log_every", "eval", "checkpoint"] { t[k] = nil }
        return FNV.hex(try! JSONSerialization.data(withJSONObject: t, options: [.sortedKeys]))
    }
}

extension VQTrainConfig {
    /// Loads a resolved `config.json` (written by a run or a checkpoint).
    /// Why `batch` images of `model` do not fit in this machine's memory, nil if they do: a batch's
    /// feature maps at full resolution, a lower bound on what a training pass holds. `what` names
    /// the setting in the message.
    public static func batchMemoryProblem(_ model: MoVQConfig, batch: Int, what: String) -> String? {
        let pixels = SizeLimits.bytes(model.resolution, model.resolution) ?? Int.max
        let perImage = SizeLimits.bytes(
            pixels, SizeLimits.bytes(model.ch * (model.chMult.first ?? 1), 4 * 4) ?? Int.max)
        return SizeLimits.memoryProblem(
            perImage.flatMap { SizeLimits.bytes(batch, $0) }, "\(what) (\(batch)) images of \(model.resolution)²")
    }

    public static func load(json path: String) throws -> VQTrainConfig {
        try ConfigReader.fromJSON(path, VQTrainConfig.init(reader:))
    }
}

/// 64-bit FNV-1a as 16 hex digits (config hashes).
enum FNV {
    static func hex(_ data: Data) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return String(format: "%016llx", h)
    }
}
