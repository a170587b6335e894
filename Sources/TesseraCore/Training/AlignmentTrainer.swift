import Foundation

/// The contrastive alignment probe's training steps for `RunLifecycle`: each step draws a batch
/// of caption–image pairs in a seeded epoch order ("align/train"), takes the CLIP loss against the
/// frozen bag-of-words caption embeddings, one AdamW step (logit scale capped); evaluation scores
/// the held-out pairs (loss, top-1, retrieval by caption text against chance).
final class AlignmentTrainer: LifecycleTrainer {
    let probe: AlignmentProbe
    let adam: AdamW
    let schedule: LRSchedule
    let order: EpochOrder
    let train: AlignmentTraining.Side, val: AlignmentTraining.Side
    let options: AlignmentTraining.Options
    let pool: Parallel
    let d: Int
    /// Pairs per training batch, and held-out pairs scored.
    let n: Int, nv: Int
    let valFloor: Double
    /// [2n² + 2nd] the probe's scratch; [n, d] the batch's caption embeddings.
    let scratch: FloatBuffer, text: FloatBuffer
    var best: [Int32]
    private(set) var step = 0
    private(set) var last: AlignmentStepRow?
    let started = Date()
    let elapsedBefore = 0.0

    init(
        probe: AlignmentProbe, train: AlignmentTraining.Side, val: AlignmentTraining.Side, d: Int,
        options o: AlignmentTraining.Options,
        pool: Parallel
    ) {
        self.probe = probe; self.train = train; self.val = val; self.d = d; options = o; self.pool = pool
        adam = AdamW(store: probe.params, config: AdamWConfig(beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0))
        schedule = LRSchedule(baseLR: o.lr, minLR: o.minLR, warmupSteps: o.warmup, totalSteps: o.steps)
        order = EpochOrder(count: train.count, seed: o.seed, name: "align/train")
        n = min(o.batch, train.count)
        nv = min(n, val.count)
        scratch = FloatBuffer(count: 2 * n * n + 2 * n * d + 16)
        text = FloatBuffer(count: n * d)
        valFloor = ContrastiveFloor.floor(
            imageKeys: Array(val.imageKeys.prefix(nv)), textKeys: Array(val.textKeys.prefix(nv)))
        best = [Int32](repeating: 0, count: max(nv, 1))
    }

    var totalSteps: Int { options.steps }
    var elapsed: Double { Date().timeIntervalSince(started) }
    var cadence: RunLifecycle.Cadence {
        .init(evalEvery: options.evalEvery, checkpointEvery: 0, logEvery: options.evalEvery)
    }

    func advance() throws -> (row: AlignmentStepRow, text: String) {
        var batch: [ArraySlice<Int32>] = [], imageKeys: [[Int32]] = [], textKeys: [[Int32]] = []
        batch.reserveCapacity(n); imageKeys.reserveCapacity(n); textKeys.reserveCapacity(n)
        for b in 0..<n {
            let i = order.index(step * n + b)
            batch.append(train.codes[i])
            imageKeys.append(train.imageKeys[i]); textKeys.append(train.textKeys[i])
            train.text.withUnsafeBufferPointer {
                (text.pointer + b * d).update(from: $0.baseAddress! + i * d, count: d)
            }
        }
        probe.params.zeroGrads()
        let r = probe.lossAndGradients(codes: batch, text: text.pointer, scratch: scratch.pointer)
        guard r.loss.isFinite else { throw TesseraError.divergence("alignment loss is \(r.loss) at step \(step + 1)") }
        let lr = schedule.lr(at: step)
        adam.update(lr: lr, pool: pool)
        let ls = probe.params.value("logit_scale")
        ls[0] = min(ls[0], AlignmentProbe.maxLogScale)
        step += 1
        let row = AlignmentStepRow(
            step: step, loss: r.loss, accuracy: r.accuracy, temperature: probe.temperature,
            logitScale: Double(probe.logScale), lr: lr,
            lossFloor: ContrastiveFloor.floor(imageKeys: imageKeys, textKeys: textKeys))
        last = row
        let line = String(
            format: "step %d/%d  loss %.4f  in-batch top-1 %.1f%% (chance %.2f%%)  temperature %.4f", step,
            options.steps,
            r.loss, 100 * r.accuracy, 100 / Double(n), probe.temperature)
        return (row, line)
    }

    /// The held-out pairs (none when fewer than 2).
    func evaluate(into row: inout AlignmentStepRow) throws -> String? {
        guard nv >= 2 else { return nil }
        probe.params.zeroGrads()
        let r = val.text.withUnsafeBufferPointer { t in
            best.withUnsafeMutableBufferPointer {
                probe.lossAndGradients(
                    codes: Array(val.codes.prefix(nv)), text: t.baseAddress!, scratch: scratch.pointer,
                    best: $0.baseAddress!)
            }
        }
        let ret = ContrastiveFloor.retrieval(best: best, textKeys: Array(val.textKeys.prefix(nv)))
        row.heldOut = .init(
            loss: r.loss, accuracy: r.accuracy, batch: nv, lossFloor: valFloor, retrieval: ret.hits,
            retrievalChance: ret.chance)
        last = row
        return String(format: "  val loss %.4f, top-1 %.1f%%", r.loss, 100 * r.accuracy)
    }

    /// The probe keeps no checkpoints: it is minutes long and its output directory appears whole or not at all.
    func saveCheckpoint() throws -> String? { nil }

    func summary(status: String, reason: String, code: Int32) -> TrainSummary {
        var s = TrainSummary(status: status, exitReason: reason, exitCode: code, step: step, wallSeconds: elapsed)
        s.final = .init(loss: last?.loss, valLoss: last?.heldOut?.loss)
        return s
    }
}
