import Foundation
import TesseraCore
import Testing

/// The shapes recogniser that scores caption consistency, checked on images whose truth is known.
@Suite struct ShapesConsistencyTests {
    /// On the generator's own images (32 px and 16 px) the recogniser reads back the caption;
    /// a blank image and another caption's image score as wrong.
    @Test(arguments: [32, 16])
    func recognisesGeneratedImages(side: Int) throws {
        let gen = ShapesGenerator(seed: 99, side: side)
        var score = ShapesConsistency()
        for i in 0..<300 {
            let s = gen.sample(i)
            let chw = ImageSet.chw(s.image, side: side)
            let truth = try #require(ShapesAttributes(caption: s.caption))
            #expect(truth.caption == s.caption)
            score.add(expected: truth, found: ShapesAttributes(recognising: chw, side: side))
        }
        let a = score.accuracy
        #expect(a["colour"]! == 1 && a["position"]! == 1, "\(score.summary)")
        #expect(a["shape"]! >= (side == 32 ? 0.97 : 0.85) && a["size"]! >= 0.97, "\(score.summary)")
        #expect(ShapesAttributes(recognising: [UInt8](repeating: 255, count: 3 * side * side), side: side) == nil)
        var blank = ShapesConsistency()
        blank.add(expected: ShapesAttributes(caption: gen.sample(0).caption)!, found: nil)
        #expect(blank.accuracy["all"] == 0 && blank.accuracy["colour"] == 0)
    }

    @Test func parsesOnlyShapesCaptions() {
        let a = ShapesAttributes(caption: "a large cyan triangle in the bottom right")
        #expect(a == ShapesAttributes(shape: .triangle, colour: "cyan", size: "large", position: .bottomRight))
        #expect(ShapesAttributes(caption: "a large cyan hexagon in the bottom right") == nil)
        #expect(ShapesAttributes(caption: "grinning face") == nil)
        #expect(abs(ShapesConsistency.chance["all"]! - 1.0 / 240) < 1e-12)
    }
}

/// Sampling images from a text-to-image LM: the prompt layout, guidance against full forward
/// passes, the sampler's sort and distribution, caption dropout, the labelled grid.
@Suite struct ImageSamplingTests {
    static let layout = VocabularyLayout(textSize: 20, imageCodes: 12)  // 39 used ids → vocab 64

    static func model(seqLen: Int = 24) -> (ModelConfig, Transformer) {
        let c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: layout.vocabSize, ffnHidden: 48,
            norm: .rmsNorm, rope: .half, tieEmbeddings: false, maxSeqLen: seqLen)
        let m = Transformer(config: c, batch: 1, seqLen: seqLen, pool: Parallel(threads: 2))
        m.initialize(seed: 5)
        return (c, m)
    }

    /// Logits of the last position of `ids` by a full forward pass (no cache).
    static func lastLogits(_ m: Transformer, _ ids: [Int32]) -> [Float] {
        let T = m.seqLen, V = m.config.vocabSize
        m.forward(tokens: ids + [Int32](repeating: 0, count: T - ids.count))
        var all = [Float](repeating: 0, count: T * V)
        m.logits(into: &all)
        return Array(all[((ids.count - 1) * V)..<(ids.count * V)])
    }

    /// Greedy codes with guidance g are argmax over code ids of u + g·(c − u), where c and u are
    /// full forward passes over the captioned and caption-dropped prompts plus the codes so far.
    @Test(arguments: [Float(1), 3])
    func guidedGreedyCodesMatchFullForwardPasses(g: Float) {
        let (c, m) = Self.model()
        let L = 25, codes = 8
        let gen = TextToImageGenerator(
            config: c, params: m.params, layout: Self.layout, codesPerImage: codes,
            sequenceLength: L, guidance: g, pool: m.pool)
        let caption: [Int32] = [3, 7, 1, 19, 4]
        let prompt = gen.prompt(caption: caption)
        let full = PairSequence.make(
            caption: caption, codes: [0, 0, 0, 0, 0, 0, 0, 0], layout: Self.layout, seqLen: L, unconditional: false
        ).ids
        #expect(prompt == Array(full.prefix(caption.count + 4)))
        #expect(gen.prompt(caption: [Int32](repeating: 2, count: 30)).count == 4 + gen.captionBudget)
        var greedy = Sampler()
        let s = gen.sample(caption: caption, sampler: &greedy)
        var cond = prompt, uncond = gen.prompt(caption: [])
        var expected: [Int32] = []
        for _ in 0..<codes {
            let cl = Self.lastLogits(m, cond), ul = Self.lastLogits(m, uncond)
            var best = Self.layout.imageRange.lowerBound, bestV = -Float.infinity
            for v in Self.layout.imageRange {
                let x = ul[v] + g * (cl[v] - ul[v])
                if x > bestV { bestV = x; best = v }
            }
            expected.append(Int32(best - Self.layout.imageRange.lowerBound))
            cond.append(Int32(best)); uncond.append(Int32(best))
        }
        #expect(s.codes == expected)
        let after = Self.lastLogits(m, cond)
        let argmax = after[0..<Self.layout.usedSize].indices.max { after[$0] < after[$1] }!
        #expect(s.endsImage == (Int32(argmax) == Self.layout.special("</image>")))

        // Side by side (captions of 5, 0 and 2 tokens right-aligned in one batch of 4 rows): each
        // caption's codes are its own, drawn alone.
        let batched = TextToImageGenerator(
            config: c, params: m.params, layout: Self.layout, codesPerImage: codes,
            sequenceLength: L, guidance: g, pool: m.pool, rows: 4)
        let captions: [[Int32]] = [caption, [], [11, 2]]
        var samplers = captions.map { _ in Sampler() }
        let together = batched.sample(captions: captions, samplers: &samplers)
        for (k, cap) in captions.enumerated() {
            var alone = Sampler()
            let one = gen.sample(caption: cap, sampler: &alone)
            #expect(together[k].codes == one.codes && together[k].endsImage == one.endsImage, "caption \(k)")
        }
    }

    /// The heap sort orders like Swift's sort; sampled frequencies follow softmax(logits / T).
    @Test func samplerSortsAndFollowsTheDistribution() {
        var rng = RandomStream(seed: 3, name: "test")
        let logits = (0..<300).map { _ in Float(Int(rng.uniform() * 20)) / 4 }  // many ties
        var ids = (0..<300).map(Int32.init)
        logits.withUnsafeBufferPointer { l in
            ids.withUnsafeMutableBufferPointer { Sampler.sortDescending($0, count: 300, by: l.baseAddress!) }
        }
        let reference = (0..<300).map(Int32.init).sorted { (a: Int32, b: Int32) -> Bool in
            let la = logits[Int(a)], lb = logits[Int(b)]
            return la > lb || (la == lb && a < b)
        }
        #expect(ids == reference)

        let small: [Float] = [0, 1, 2, -1]
        let T: Float = 0.7
        var sampler = Sampler(temperature: T, seed: 11)
        var counts = [0, 0, 0, 0]
        let n = 20000
        for _ in 0..<n { counts[Int(sampler.next(small, vocab: 4))] += 1 }
        let z = small.map { Foundation.exp(Double($0 / T)) }.reduce(0, +)
        for v in 0..<4 {
            let p = Foundation.exp(Double(small[v] / T)) / z
            let sd = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(Double(counts[v]) / Double(n) - p) < 5 * sd + 1e-3, "token \(v): \(counts[v]) of \(n), p \(p)")
        }
        var restricted = Sampler(temperature: 1, topK: 1, seed: 2)
        #expect((0..<20).allSatisfy { _ in restricted.next(small, vocab: 4, allowed: 0..<2) == 1 })
    }

    /// A dropped caption leaves exactly the unconditional-prompt sequence of `tokenize pairs`
    /// with an empty caption; inputs and targets stay shifted by one.
    @Test func captionDropoutGivesTheEmptyCaptionSequence() {
        let L = 30
        let codes: ArraySlice<Int32> = [4, 0, 11, 7, 3, 3, 9, 1]
        let with = PairSequence.make(
            caption: [5, 6, 7, 8, 9], codes: codes, layout: Self.layout, seqLen: L, unconditional: false
        ).ids
        let without = PairSequence.make(caption: [], codes: codes, layout: Self.layout, seqLen: L, unconditional: false)
            .ids
        var inputs = Array(with.prefix(L - 1)), targets = Array(with.dropFirst())
        CaptionDropout(probability: 1, layout: Self.layout).dropCaption(
            inputs: &inputs, targets: &targets, count: L - 1)
        #expect(inputs == Array(without.prefix(L - 1)) && targets == Array(without.dropFirst()))
        // Through the stream: about the configured fraction of rows lose their caption, seeded.
        let stream = TokenStream(
            name: "train", tokens: Array(repeating: with, count: 50).flatMap { $0 }, sequenceLength: L)
        var i = [Int32](repeating: 0, count: 50 * (L - 1)), t = i
        stream.fillTraining(
            step: 0, micro: 0, accumulation: 1, rows: 50, seqLen: L - 1, seed: 1,
            captionDropout: CaptionDropout(probability: 0.3, layout: Self.layout), inputs: &i, targets: &t)
        let dropped = (0..<50).filter {
            Array(i[($0 * (L - 1))..<(($0 + 1) * (L - 1))]) == Array(without.prefix(L - 1))
        }.count
        let kept = (0..<50).filter { Array(i[($0 * (L - 1))..<(($0 + 1) * (L - 1))]) == Array(with.prefix(L - 1)) }
            .count
        #expect(dropped + kept == 50 && dropped >= 6 && dropped <= 24, "\(dropped) of 50 dropped")
    }

    /// Captions are drawn in the 5×7 font under their images: wrapping, hard breaks, the cut mark,
    /// and the glyph pixels themselves.
    @Test func labelledGridDrawsCaptions() {
        #expect(
            LabelledGrid.wrap("a small red circle in the top left", width: 12, maxLines: 6) == [
                "a small red", "circle in", "the top left",
            ])
        #expect(LabelledGrid.wrap("ab\ncd", width: 12, maxLines: 6) == ["ab", "cd"])
        #expect(LabelledGrid.wrap("one two three four", width: 5, maxLines: 2) == ["one", "two~"])
        let red = [UInt8](repeating: 200, count: 16) + [UInt8](repeating: 0, count: 32)  // 4×4 CHW
        let g = LabelledGrid.render(images: [red, red], captions: ["A", "B"], side: 4, columns: 2, minCell: 8)
        // Cells of 8 px (scale 2), gap 4; label line starts 2 px under the image.
        #expect(g.width == 2 * (8 + 4) + 4)
        let x0 = 4, y0 = 4 + 8 + 2
        for y in 0..<BitmapFont.height {
            let bits = BitmapFont.rows[(Int(Character("A").asciiValue!) - 32) * BitmapFont.height + y]
            for x in 0..<BitmapFont.width {
                let on = bits & (1 << (BitmapFont.width - 1 - x)) != 0
                #expect((g.pixels[((y0 + y) * g.width + x0 + x) * 3] == 0) == on, "A at (\(x), \(y))")
            }
        }
        #expect(g.pixels[(4 * g.width + 4) * 3] == 200)
    }
}

/// scripts/t2i-smoke.sh through the CLI: shapes → image tokenizer → codes → pairs → LM → eval →
/// samples, then the sampling command's options and refusals.
@Suite struct TextToImageSmokeTests {
    static func codes(_ dir: String) throws -> [[Int]] {
        try MetricsLog.rows(dir + "/samples.jsonl", as: SampleRow.self).map(\.codes)
    }

    @Test func smokePipelineTrainsEvaluatesAndSamples() throws {
        let root = tempDirectory("t2i") + "/smoke"
        let r = try runScript("t2i-smoke.sh", [root])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")

        let rows = try MetricsLog.rows(root + "/lm/metrics.jsonl", as: TrainingStepRow.self)
        #expect(rows.count >= 20)
        for r in rows { #expect(r.lossText != nil && r.lossImage != nil, "a modality's loss missing in \(r)") }
        let first = rows.first!, last = rows.last!
        #expect(last.lossImage! < first.lossImage! - 0.5)
        let eval = try JSONSerialization.jsonObject(with: try FileIO.read(root + "/eval.json")) as! [String: Any]
        #expect(eval["val_loss_text"] is Double && eval["val_loss_image"] is Double)

        // One image per held-out caption; position and size are learned well above chance.
        let summary =
            try JSONSerialization.jsonObject(with: try FileIO.read(root + "/samples/summary.json")) as! [String: Any]
        #expect(summary["images"] as? Int == 64)
        let acc = summary["consistency"] as! [String: Double]
        #expect(acc["position"]! >= 0.6 && acc["size"]! >= 0.7, "\(acc)")
        #expect(FileIO.exists(root + "/samples/grid.png") && FileIO.exists(root + "/samples/images/00063.png"))
        #expect(
            try Self.codes(root + "/samples").allSatisfy { $0.count == 16 && $0.allSatisfy { (0..<64).contains($0) } })

        // Same seed, same codes; guidance runs (the model saw dropped captions); other seeds differ.
        var runs: [[[Int]]] = []
        for (n, extra) in [
            ["--seed", "5"], ["--seed", "5"], ["--seed", "6"], ["--seed", "5", "--guidance", "2", "--top-k", "8"],
        ].enumerated() {
            let out = root + "/s\(n)"
            let r = try runTessera(
                [
                    "eval", "sample", "--checkpoint", root + "/lm", "--captions", root + "/shapes/captions.jsonl",
                    "--limit", "4", "--samples", "2", "--out", out,
                ] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            runs.append(try Self.codes(out))
        }
        #expect(runs[0] == runs[1] && runs[0] != runs[2] && runs[0] != runs[3] && runs[0].count == 8)
        // The output directory is never overwritten silently.
        let again = try runTessera([
            "eval", "sample", "--checkpoint", root + "/lm", "--captions", root + "/shapes/captions.jsonl", "--out",
            root + "/s0",
        ])
        #expect(again.status == 5, "\(again.stderr)")

        // The comparison report reads the run's first and last rows.
        let report = try runTessera(["report", "compare", root + "/lm", root + "/lm"])
        #expect(
            report.status == 0 && report.stdout.contains("train loss_image @ step 1")
                && report.stdout.contains("+0.0000"), "\(report.stdout)")
        // eval images on shapes captions: the recogniser reads the originals' colour and position exactly.
        let ceiling = try runTessera([
            "eval", "images", "--tokenizer", root + "/vq", "--dataset", root + "/shapes", "--json",
        ])
        let c = try JSONSerialization.jsonObject(with: Data(ceiling.stdout.utf8)) as! [String: Any]
        let originals = try #require(c["consistency_originals"] as? [String: Double])
        #expect(
            originals["colour"] == 1 && originals["position"] == 1 && c["consistency_reconstructions"] != nil, "\(c)")

        // The forgetting probes run on a text-to-image checkpoint, completing with text ids only.
        let forget = try runTessera([
            "probe", "forget", "--checkpoint", root + "/lm", "--cloze",
            packageRoot + "/configs/probes/world-knowledge.tsv",
            "--corpus", packageRoot + "/configs/corpus/pride-and-prejudice.txt", "--tokens", "2000", "--max-new-tokens",
            "4", "--json",
        ])
        #expect(forget.status == 0, "\(forget.stderr)")
        let f = try JSONSerialization.jsonObject(with: Data(forget.stdout.utf8)) as! [String: Any]
        #expect(
            (f["completions"] as? [[String: String]])?.count == 2 && f["cloze_accuracy"] is Double
                && (f["val_ppl"] as? Double ?? 0) > 1, "\(f)")

        // The HTML report over the real smoke outputs: the run's curves are drawn; claims that need
        // a second arm say so instead of a verdict.
        let page = try runTessera(["report", root + "/lm", root + "/samples", "--out", root + "/report"])
        #expect(page.status == 0, "\(page.stderr)")
        let html = String(decoding: try FileIO.read(root + "/report/index.html"), as: UTF8.self)
        #expect(
            html.contains("<svg id=\"fig4-image\"") && html.contains("<path d=\"M")
                && FileIO.exists(root + "/report/samples.png"))
        #expect(
            page.stdout.contains("C1    not measured") && page.stdout.contains("C11   not measured"), "\(page.stdout)")

        // A checkpoint without layout.json is not a text-to-image model.
        let ckpt = Checkpoint.list(runDir: root + "/lm").first!.path, copy = root + "/copy"
        try FileManager.default.copyItem(atPath: ckpt, toPath: copy)
        try FileManager.default.removeItem(atPath: copy + "/layout.json")
        let bad = try runTessera([
            "eval", "sample", "--checkpoint", copy, "--captions", root + "/shapes/captions.jsonl", "--out", root + "/x",
        ])
        #expect(
            bad.status == 3 && bad.stderr.contains("no layout.json") && !FileIO.exists(root + "/x"), "\(bad.stderr)")
    }
}
