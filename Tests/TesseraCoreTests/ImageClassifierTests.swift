import Foundation
import TesseraCore
import Testing

/// The sample-scoring classifier and the Fréchet distance on its features.
@Suite struct ImageClassifierTests {
    typealias G = FiniteDifferences

    /// Every parameter's gradient of the mean cross-entropy against central differences.
    @Test func gradientsMatchFiniteDifferences() {
        let pool = Parallel(threads: 2)
        let m = ImageClassifier(side: 8, classes: 3, width: 4, maxBatch: 3, pool: pool)
        m.initialize(seed: 4)
        let x = G.random(3 * 3 * 64, "images")
        let labels: [Int32] = [2, 0, 1]
        let count = m.params.values.count
        func loss(_ w: [Float]) -> Double {
            m.params.values.pointer.update(from: w, count: count)
            m.forward(x, batch: 3)
            return m.loss(labels: labels, backward: false).loss
        }
        var w = Array(UnsafeBufferPointer(start: m.params.values.pointer, count: count))
        m.params.zeroGrads()
        m.forward(x, batch: 3)
        m.loss(labels: labels, backward: true)
        let analytic = Array(UnsafeBufferPointer(start: m.params.grads.pointer, count: count))
        #expect(G.check(&w, analytic: analytic, samples: 300, loss) <= G.tolerance)
    }

    /// scipy's sqrtm-based FID formula (scripts/reference/make_fid_fixture.py) on two feature sets.
    @Test func frechetDistanceMatchesScipy() throws {
        let f = try SafetensorsFile(path: Fixtures.path("frechet.safetensors"))
        let a = try f.floats("a"), b = try f.floats("b"), d = 12
        let pa = FrechetDistance.fit(a, count: a.count / d, dim: d),
            pb = FrechetDistance.fit(b, count: b.count / d, dim: d)
        let got = FrechetDistance.distance(pa, pb), want = Double(try f.floats("distance")[0])
        #expect(abs(got - want) <= 1e-4 * want, "\(got) vs \(want)")
        #expect(abs(FrechetDistance.distance(pa, pa)) < 1e-6)
        // Jacobi: V diag(λ) Vᵀ rebuilds the matrix.
        let (l, v) = FrechetDistance.symmetricEigen(pa.covariance, n: d)
        var worst = 0.0
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for k in 0..<d { s += v[i * d + k] * l[k] * v[j * d + k] }
                worst = max(worst, abs(s - pa.covariance[i * d + j]))
            }
        }
        #expect(worst < 1e-9)
    }
}

extension ImageClassifierTests {
    /// `eval classifier` on shapes captioned by colour name: it learns the classes, writes a
    /// directory that loads back to the same held-out accuracy, and refuses unknown captions.
    @Test func trainsLoadsAndScores() throws {
        let dir = tempDirectory("clf-data"), out = tempDirectory("clf") + "/c"
        try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
        let gen = ShapesGenerator(seed: 3, side: 16)
        var lines: [String] = []
        for i in 0..<360 {
            let s = gen.sample(i)
            try s.image.write(path: dir + "/images/\(i).png", durable: false)
            lines.append(
                MetricsLog.line(["file": "images/\(i).png", "caption": s.colour, "split": i < 300 ? "train" : "val"]))
        }
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: dir + "/captions.jsonl", atomically: true, encoding: .utf8)
        let r = try runTessera([
            "eval", "classifier", "--dataset", dir, "--out", out, "--steps", "150", "--batch", "32", "--width", "8",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let meta = try JSONSerialization.jsonObject(with: try FileIO.read(out + "/classifier.json")) as! [String: Any]
        let accuracy = meta["val_accuracy"] as! Double
        #expect(accuracy >= 0.9 && (meta["classes"] as! [String]).count == 8, "\(meta)")
        let pool = Parallel(threads: 2)
        let (model, classes) = try ClassifierTraining.load(out, maxBatch: 16, pool: pool)
        let val = try ImageSet.load(folder: try CaptionedImageFolder(dir: dir), split: "val", side: 16, pool: pool)
        let predicted = ClassifierTraining.predict(model, val)
        let labels = try ClassifierTraining.labels(val.captions, classes: classes, file: "val")
        #expect(abs(Double(zip(predicted, labels).filter { $0 == $1 }.count) / 60 - accuracy) < 1e-12)
        #expect(throws: TesseraError.self) { try ClassifierTraining.labels(["mauve"], classes: classes, file: "x") }
        let again = try runTessera(["eval", "classifier", "--dataset", dir, "--out", out, "--steps", "1"])
        #expect(again.status == 5, "an existing classifier is never overwritten silently: \(again.stderr)")
    }
}
