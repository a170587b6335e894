import Foundation

/// The image classifier's training steps for `RunLifecycle`: seeded epoch order
/// ("classifier/train"), cross-entropy, AdamW with warmup + cosine; the log line carries the loss
/// and accuracy averaged since the last one; evaluation (at the end) is held-out accuracy.
final class ClassifierTrainer: LifecycleTrainer {
    struct Row: Encodable {
        var step: Int
        var loss, accuracy, lr: Double
        var valAccuracy: Double?
        enum CodingKeys: String, CodingKey { case step, loss, accuracy, lr, valAccuracy = "val_accuracy" }
    }

    let model: ImageClassifier
    let adam: AdamW
    let schedule: LRSchedule
    let order: EpochOrder
    let train: ImageSet, val: ImageSet
    let trainLabels: [Int32], valLabels: [Int32]
    let options: ClassifierTraining.Options
    let pool: Parallel
    /// [batch, image] the step's images; their indices and labels.
    let input: FloatBuffer
    var indices: [Int], labels: [Int32]
    var runningLoss = 0.0, runningCorrect = 0, seen = 0
    private(set) var step = 0
    private(set) var valAccuracy = 0.0
    let started = Date()
    let elapsedBefore = 0.0
    static let logEvery = 100

    init(
        model: ImageClassifier, train: ImageSet, val: ImageSet, trainLabels: [Int32], valLabels: [Int32],
        options o: ClassifierTraining.Options, pool: Parallel
    ) {
        self.model = model; self.train = train; self.val = val; self.trainLabels = trainLabels;
        self.valLabels = valLabels
        options = o; self.pool = pool
        adam = AdamW(
            store: model.params, config: AdamWConfig(beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: o.weightDecay),
            decays: { $0.hasSuffix(".weight") && !$0.hasPrefix("norm") })
        schedule = LRSchedule(baseLR: o.lr, minLR: o.minLR, warmupSteps: o.warmup, totalSteps: o.steps)
        order = EpochOrder(count: train.count, seed: o.seed, name: "classifier/train")
        input = FloatBuffer(count: o.batch * train.imageSize)
        indices = [Int](repeating: 0, count: o.batch)
        labels = [Int32](repeating: 0, count: o.batch)
    }

    var totalSteps: Int { options.steps }
    var elapsed: Double { Date().timeIntervalSince(started) }
    var cadence: RunLifecycle.Cadence { .init(evalEvery: 0, checkpointEvery: 0, logEvery: Self.logEvery) }

    func advance() throws -> (row: Row, text: String) {
        let b = options.batch
        for i in 0..<b { indices[i] = order.index(step * b + i); labels[i] = trainLabels[indices[i]] }
        train.fill(indices, into: input.pointer)
        model.params.zeroGrads()
        model.forward(input.pointer, batch: b)
        let (loss, correct) = model.loss(labels: labels, backward: true)
        guard loss.isFinite else { throw TesseraError.divergence("classifier loss is \(loss) at step \(step + 1)") }
        let lr = schedule.lr(at: step)
        adam.update(lr: lr, pool: pool)
        step += 1
        runningLoss += loss; runningCorrect += correct; seen += 1
        let text = String(
            format: "step %d/%d  loss %.4f  train accuracy %.1f%%", step, options.steps, runningLoss / Double(seen),
            100 * Double(runningCorrect) / Double(seen * b))
        // The averages restart where the lifecycle logs a line.
        if step % Self.logEvery == 0 || step == options.steps { runningLoss = 0; runningCorrect = 0; seen = 0 }
        return (Row(step: step, loss: loss, accuracy: Double(correct) / Double(b), lr: lr), text)
    }

    func evaluate(into row: inout Row) throws -> String? {
        let predictions = ClassifierTraining.predict(model, val)
        let right = zip(predictions, valLabels).filter { $0 == $1 }.count
        valAccuracy = Double(right) / Double(max(1, val.count))
        row.valAccuracy = valAccuracy
        return String(format: "  held-out accuracy %.1f%%", 100 * valAccuracy)
    }

    /// The classifier is saved whole by its command once trained.
    func saveCheckpoint() throws -> String? { nil }

    func summary(status: String, reason: String, code: Int32) -> TrainSummary {
        TrainSummary(status: status, exitReason: reason, exitCode: code, step: step, wallSeconds: elapsed)
    }
}
