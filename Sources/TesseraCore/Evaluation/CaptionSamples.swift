import Foundation

/// Images drawn for captions by a text-to-image LM and decoded by its image tokenizer, with the
/// caption-consistency score when every caption is a shapes caption. Sample j of caption i uses the
/// sampling stream (seed, counter i·samplesPerCaption + j): any subset of captions reproduces (at the
/// same number of rows decoded side by side, which sets the products' blocking).
public struct CaptionSamples {
    public struct Item {
        public let caption: String
        public let sample: Int
        public let codes: [Int32]
        /// CHW bytes.
        public let image: [UInt8]
        public let endsImage: Bool
        /// What the shapes recogniser reads in the image (shapes captions only).
        public let recognised: ShapesAttributes?
    }

    public var items: [Item] = []
    public var consistency: ShapesConsistency?
    public var codeSeconds = 0.0
    public var codesSampled = 0
    public let side: Int

    public var tokensPerSecond: Double { Double(codesSampled) / max(codeSeconds, 1e-9) }
    public var imageEndRate: Double { Double(items.filter(\.endsImage).count) / Double(max(1, items.count)) }

    public static func draw(
        generator g: TextToImageGenerator, tokenizer: ImageTokenizer, captions: [String],
        encode: (String) -> [Int32], samplesPerCaption: Int, temperature: Float, topK: Int, topP: Float,
        seed: UInt64, progress: ((Int, Int) -> Void)? = nil
    ) throws -> CaptionSamples {
        precondition(
            tokenizer.config.nEmbed == g.layout.imageCodes && tokenizer.config.tokensPerImage == g.codesPerImage)
        var out = CaptionSamples(side: tokenizer.config.resolution)
        let shapes = captions.map { ShapesAttributes(caption: $0) }
        if !shapes.contains(nil) { out.consistency = ShapesConsistency() }
        let total = captions.count * samplesPerCaption
        var pending: [(String, Int, sample: TextToImageGenerator.Sample)] = []
        func flush() throws {
            guard !pending.isEmpty else { return }
            let images = try tokenizer.decode(pending.flatMap(\.sample.codes), count: pending.count)
            for (k, p) in pending.enumerated() {
                let truth = ShapesAttributes(caption: p.0)
                let found = truth == nil ? nil : ShapesAttributes(recognising: images[k], side: out.side)
                if let truth { out.consistency?.add(expected: truth, found: found) }
                out.items.append(
                    Item(
                        caption: p.0, sample: p.1, codes: p.sample.codes, image: images[k],
                        endsImage: p.sample.endsImage, recognised: found))
            }
            pending.removeAll()
        }
        // (caption, sample) in order, `g.rows` drawn side by side.
        let ids = captions.map(encode)
        var next = 0
        while next < total {
            let batch = Array(next..<min(total, next + g.rows))
            var samplers = batch.map {
                Sampler(temperature: temperature, topK: topK, topP: topP, seed: seed, counter: UInt64($0))
            }
            let drawn = g.sample(captions: batch.map { ids[$0 / samplesPerCaption] }, samplers: &samplers)
            for (k, s) in drawn.enumerated() {
                out.codeSeconds += s.seconds
                out.codesSampled += s.codes.count
                pending.append((captions[batch[k] / samplesPerCaption], batch[k] % samplesPerCaption, s))
                if pending.count == tokenizer.model.maxBatch { try flush() }
            }
            next += batch.count
            progress?(next, total)
        }
        try flush()
        return out
    }

    /// grid.png (labelled), images/NNNNN.png, samples.jsonl (one row per image) and summary.json,
    /// into `dir` (which must exist).
    public func write(to dir: String, columns: Int, summary: SampleSetSummary) throws {
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        var rows: [String] = []
        for (n, item) in items.enumerated() {
            let file = String(format: "images/%05d.png", n)
            try ImageTokenizer.image(item.image, side: side).write(
                path: dir.appendingPathComponent(file), durable: false)
            rows.append(
                MetricsLog.line(
                    SampleRow(
                        file: file, caption: item.caption, sample: item.sample, codes: item.codes.map(Int.init),
                        endsImage: item.endsImage, recognised: item.recognised?.caption)))
        }
        try FileIO.writeAtomically(
            dir.appendingPathComponent("samples.jsonl"),
            data: Data((rows.joined(separator: "\n") + "\n").utf8))
        let labels = items.map { item in item.recognised.map { "\(item.caption)\nseen: \($0.caption)" } ?? item.caption
        }
        try LabelledGrid.render(images: items.map(\.image), captions: labels, side: side, columns: columns)
            .write(path: dir.appendingPathComponent("grid.png"), durable: false)
        try FileIO.writeAtomically(
            dir.appendingPathComponent("summary.json"),
            data: try MetricsLog.encoder(pretty: true).encode(summary))
    }

    /// The summary of these samples, drawn from `checkpoint` with these settings.
    public func summary(
        checkpoint: String, imageTokenizer: String, captions: String, samplesPerCaption: Int, topK: Int,
        seed: Int, temperature: Double, topP: Double, guidance: Double, seconds: Double
    ) -> SampleSetSummary {
        var s = SampleSetSummary(
            checkpoint: checkpoint, imageTokenizer: imageTokenizer, captions: captions, images: items.count,
            samplesPerCaption: samplesPerCaption, topK: topK, seed: seed, temperature: temperature, topP: topP,
            guidance: guidance, seconds: seconds, codesPerSecond: tokensPerSecond, imageEndRate: imageEndRate)
        if let c = consistency {
            s.consistency = c.accuracy
            s.consistencyChance = ShapesConsistency.chance
        }
        return s
    }
}

/// Class accuracy and Fréchet distance of samples under a Tessera-trained classifier (captions must
/// be its class names): accuracy = fraction of samples classified as their caption's class; the
/// distance compares the classifier's pooled features of the samples with those of a reference set
/// (held-out real images). `floor` is the same distance for as many real training images — what
/// a perfect generator would score at this sample size.
public struct ClassifierScore {
    public let accuracy: Double
    public let frechet: Double?
    public let floor: Double?
    public let images: Int

    /// `classOf` maps a caption to its class name (default: the caption is one).
    public static func measure(
        samples: CaptionSamples, classifier: ImageClassifier, classes: [String],
        reference: ImageSet?, realTrain: ImageSet?, file: String,
        classOf: [String: String]? = nil
    ) throws -> ClassifierScore {
        guard samples.side == classifier.side else {
            throw TesseraError.data(
                file: file,
                "classifier reads \(classifier.side)×\(classifier.side) images, the samples are \(samples.side)×\(samples.side)"
            )
        }
        let set = ImageSet(
            side: samples.side, captions: samples.items.map(\.caption), pixels: samples.items.flatMap(\.image))
        let labels = try ClassifierTraining.labels(
            set.captions.map { classOf?[$0] ?? $0 }, classes: classes, file: file)
        let f = classifier.featureSize
        var features = [Float](repeating: 0, count: set.count * f)
        let predicted = features.withUnsafeMutableBufferPointer {
            ClassifierTraining.predict(classifier, set, features: $0.baseAddress!)
        }
        let accuracy = Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(max(1, set.count))
        func fit(_ s: ImageSet) -> FrechetDistance.Gaussian {
            var x = [Float](repeating: 0, count: s.count * f)
            _ = x.withUnsafeMutableBufferPointer {
                ClassifierTraining.predict(classifier, s, features: $0.baseAddress!)
            }
            return FrechetDistance.fit(x, count: s.count, dim: f)
        }
        guard let reference, set.count >= 2, reference.count >= 2 else {
            return ClassifierScore(accuracy: accuracy, frechet: nil, floor: nil, images: set.count)
        }
        let ref = fit(reference)
        let mine = FrechetDistance.fit(features, count: set.count, dim: f)
        let floor = realTrain.flatMap { $0.count >= 2 ? FrechetDistance.distance(fit($0), ref) : nil }
        return ClassifierScore(
            accuracy: accuracy, frechet: FrechetDistance.distance(mine, ref), floor: floor, images: set.count)
    }

    /// Puts these scores into a sample set's summary.
    public func record(in s: inout SampleSetSummary, classifier: String, classes: Int) {
        s.classifier = classifier
        s.classAccuracy = accuracy
        s.classChance = 1 / Double(classes)
        s.frechetDistance = frechet
        s.frechetDistanceRealTrain = floor
    }
}
