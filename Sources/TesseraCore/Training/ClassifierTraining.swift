import Foundation

/// Trains an `ImageClassifier` on a captioned image folder whose captions name classes (e.g.
/// Fashion-MNIST's "a photo of a sneaker"): the classes are the distinct training captions, sorted.
/// AdamW with warmup + cosine, seeded epoch order ("classifier/train"), held-out accuracy at the end.
/// Saved as a directory: classifier.safetensors + classifier.json (classes, side, width, accuracy).
public enum ClassifierTraining {
    public struct Options {
        public var steps = 1500, batch = 64, width = 32, warmup = 50
        public var lr = 2e-3, minLR = 1e-4, weightDecay = 0.05
        public var seed: UInt64 = 1337
        public init() {}
    }

    public struct Result {
        public let model: ImageClassifier
        public let classes: [String]
        public let valAccuracy: Double
        public let valImages: Int
    }

    /// Class index of each caption; a caption outside `classes` is an error naming it.
    public static func labels(_ captions: [String], classes: [String], file: String) throws -> [Int32] {
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, Int32($0)) })
        return try captions.map { c in
            guard let i = index[c] else {
                throw TesseraError.data(
                    file: file, "caption \"\(c)\" is not one of the \(classes.count) training classes")
            }
            return i
        }
    }

    public static func train(
        train: ImageSet, val: ImageSet, options o: Options, pool: Parallel, file: String,
        log: @escaping (String) -> Void
    ) throws -> Result {
        let classes = Array(Set(train.captions)).sorted()
        guard classes.count >= 2 else {
            throw TesseraError.data(
                file: file, "the training captions name \(classes.count) class(es); a classifier needs ≥ 2")
        }
        guard classes.count <= 1000 else {
            throw TesseraError.data(
                file: file, "the training captions name \(classes.count) classes; captions must be class names (≤ 1000)"
            )
        }
        let trainLabels = try labels(train.captions, classes: classes, file: file)
        let valLabels = try labels(val.captions, classes: classes, file: file)
        let model = ImageClassifier(
            side: train.side, classes: classes.count, width: o.width, maxBatch: o.batch, pool: pool)
        model.initialize(seed: o.seed)
        let trainer = ClassifierTrainer(
            model: model, train: train, val: val, trainLabels: trainLabels, valLabels: valLabels,
            options: o, pool: pool)
        _ = try RunLifecycle(runDir: nil, log: log).run { trainer }
        return Result(model: model, classes: classes, valAccuracy: trainer.valAccuracy, valImages: val.count)
    }

    /// Predicted class and pooled features of every image of `set`.
    public static func predict(
        _ model: ImageClassifier, _ set: ImageSet, features: UnsafeMutablePointer<Float>? = nil
    ) -> [Int32] {
        let b = model.maxBatch, f = model.featureSize, C = model.classes
        let input = FloatBuffer(count: b * set.imageSize)
        var out: [Int32] = []
        var first = 0
        while first < set.count {
            let n = min(b, set.count - first)
            set.fill(Array(first..<(first + n)), into: input.pointer)
            model.forward(input.pointer, batch: n)
            for k in 0..<n {
                let row = model.logits.pointer + k * C
                var arg = 0
                for c in 1..<C where row[c] > row[arg] { arg = c }
                out.append(Int32(arg))
            }
            features.map { ($0 + first * f).update(from: model.features.pointer, count: n * f) }
            first += n
        }
        return out
    }

    public static func save(_ r: Result, to dir: String, dataset: String, options o: Options) throws {
        var tensors: [SafetensorsTensor] = []
        for s in r.model.params.slots {
            tensors.append(
                SafetensorsTensor(name: s.name, shape: s.shape, f32: r.model.params.values.pointer + s.offset))
        }
        try SafetensorsWriter.write(path: dir.appendingPathComponent("classifier.safetensors"), tensors: tensors)
        let meta: [String: Any] = [
            "format": "tessera-image-classifier", "format_version": 1, "classes": r.classes,
            "side": r.model.side, "width": r.model.width, "val_accuracy": r.valAccuracy,
            "val_images": r.valImages, "dataset": dataset, "steps": o.steps, "batch": o.batch, "seed": Int(o.seed),
        ]
        try FileIO.writeAtomically(
            dir.appendingPathComponent("classifier.json"),
            data: try JSONSerialization.data(withJSONObject: meta, options: [.prettyPrinted, .sortedKeys]))
    }

    /// A classifier directory written by `save`.
    public static func load(
        _ dir: String, maxBatch: Int, pool: Parallel
    ) throws -> (model: ImageClassifier, classes: [String]) {
        let json = dir.appendingPathComponent("classifier.json")
        guard let o = try JSONSerialization.jsonObject(with: try FileIO.read(json)) as? [String: Any],
            o["format"] as? String == "tessera-image-classifier", let classes = o["classes"] as? [String],
            classes.count >= 2,
            let side = o["side"].flatMap(JSONKeys.exactInt), side >= 8,
            let width = o["width"].flatMap(JSONKeys.exactInt),
            width >= 4, width % 4 == 0
        else {
            throw TesseraError.data(file: json, "not a Tessera image classifier (needs format, classes, side, width)")
        }
        let model = ImageClassifier(side: side, classes: classes.count, width: width, maxBatch: maxBatch, pool: pool)
        try Checkpoint.loadParameters(file: dir.appendingPathComponent("classifier.safetensors"), into: model.params)
        return (model, classes)
    }
}
