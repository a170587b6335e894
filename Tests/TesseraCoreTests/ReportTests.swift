import Foundation
import TesseraCore
import TesseraStudy
import Testing

/// A complete study on disk, written by hand so every number is known: per seed, text-to-image
/// runs of four arms (pretrained, random, aligned, norm-matched), image-only runs (random,
/// pretrained, two freezing presets from each), a text LM, alignment probes with their
/// shuffled-caption controls, forgetting-probe rows and sample sets. Every figure a claim reads is
/// a closure of (arm, seed), so a test can make any one claim hold, fail or be undecidable.
struct StudyScenario {
    var seeds = 3
    /// Final held-out image loss of a text-to-image arm.
    var t2iImage: (String, Int) -> Double = { arm, s in
        (arm == "aligned" || arm == "pretrained, norm-matched" ? 1.5 : arm == "pretrained" ? 1.995 : 2.0) + 0.002
            * Double(s)
    }
    /// How fast the image loss falls: v = end + (8 − end)·f^k, f from 1 to 0 (larger k: sooner).
    var t2iImageShape: (String, Int) -> Double = { arm, _ in arm == "random" ? 2 : 4 }
    var t2iTextStart: (String, Int) -> Double = { arm, s in (arm == "random" ? 8 : 3) + 0.01 * Double(s) }
    var t2iTextEnd: (String, Int) -> Double = { _, s in 0.6 + 0.001 * Double(s) }
    /// Final held-out loss of an image-only arm ("random", "pretrained", "pretrained, trainable ffn", …).
    var uncond: (String, Int) -> Double = { arm, s in
        (arm.hasSuffix("ffn") ? 2.5 : arm.hasSuffix("embed-output") ? 3.5 : arm == "pretrained" ? 2.005 : 2.0) + 0.003
            * Double(s)
    }
    /// Share of samples recognised.
    var samples: (String, Int) -> Double = { arm, s in 0.70 + 0.01 * Double(s) + (arm == "random" ? 0.005 : 0) }
    /// Scored by the category classifier (class_accuracy) instead of the shapes recogniser.
    var classifierScores = false
    /// Alignment probe of a seed: loss at step 1 and at the end, batch floor at both, held-out retrieval and chance.
    var align: (Int) -> (loss: (Double, Double), floor: (Double, Double), retrieval: Double, chance: Double) = { s in
        ((7, 5 + 0.01 * Double(s)), (1, 1), 0.021 + 0.001 * Double(s), 0.02)
    }
    /// Share of codes whose nearest token is a caption content word: probe, control.
    var contentShare: (Int, Bool) -> Double = { s, control in
        control ? 0.09 + 0.001 * Double(s) : 0.10 + 0.002 * Double(s)
    }
    /// Text-id perplexity before, and per seed at the first probed checkpoint.
    var pplBefore = 150.0
    var pplAfter: (Int) -> Double = { s in 900 + 10 * Double(s) }
    var cloze: (before: Double, after: (Int) -> Double) = (0.5, { _ in 0.0 })
    var translation: (before: Double, after: (Int) -> Double) = (0.2, { _ in 0.0 })
    var rules: StudyRules? = StudyRules()
    /// A text-replay arm ("pretrained, text replay 0.25") per seed: its final image loss, and its
    /// text-id perplexity, cloze and translation accuracy at its last probed checkpoint.
    var replay = false
    var replayImage: (Int) -> Double = { s in 1.995 + 0.002 * Double(s) + 0.001 }
    var replayPpl: (Int) -> Double = { s in 180 + Double(s) }
    var replayCloze: (Int) -> Double = { _ in 0.4 }
    var replayTranslation: (Int) -> Double = { _ in 0.15 }
}

enum StudyFixture {
    static func write(_ path: String, _ object: Any) throws {
        try FileIO.writeAtomically(
            path, data: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
    static func writeLines<Row: Encodable>(_ path: String, _ rows: [Row]) throws {
        try FileIO.writeAtomically(
            path, data: Data((rows.map { MetricsLog.line($0) }.joined(separator: "\n") + "\n").utf8))
    }
    static func writeJSON<Row: Encodable>(_ path: String, _ row: Row) throws {
        try FileIO.writeAtomically(path, data: try MetricsLog.encoder(pretty: true).encode(row))
    }

    /// A run whose losses fall from `start` to `end` (per modality) over `steps` steps, shaped f^k.
    static func run(
        _ dir: String, seed: Int, initFrom: String?, aligned: Bool = false, matchNorm: Bool = false,
        trainable: [String]? = nil, textReplay: Double? = nil,
        lr: Double = 6e-4, text: (start: Double, end: Double)?, image: (start: Double, end: Double, k: Double)?,
        steps: Int = 100
    ) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var optim: [String: Any] = ["lr": lr]
        if let trainable { optim["trainable"] = trainable }
        var config: [String: Any] = ["seed": seed, "model": ["d_model": 8], "optim": optim]
        if let textReplay { config["data"] = ["text_replay": textReplay, "replay_corpus": "text"] }
        if let initFrom {
            var i: [String: Any] = ["from": initFrom, "new_rows_std": 0.02]
            if aligned { i["aligned"] = dir + "/../align-s1" }
            if matchNorm { i["match_norm"] = true }
            config["init"] = i
        }
        try write(dir + "/config.json", config)
        var rows: [TrainingStepRow] = []
        for s in 1...steps {
            let f = 1 - Double(s - 1) / Double(steps - 1)  // 1 → 0
            var r = TrainingStepRow(
                step: s, tokens: 1000 * s, lr: lr, loss: 0, gradNorm: 1, tokensPerSecond: 1000,
                elapsedSeconds: Double(s))
            var parts: [(Double, Double)] = []
            // A text LM logs only "loss"; text-to-image runs split it.
            if let text, image != nil {
                let v = text.end + (text.start - text.end) * f * f; r.lossText = v; r.lossTextEMA = v;
                parts.append((v, 1))
            }
            if let text, image == nil { parts.append((text.end + (text.start - text.end) * f * f, 1)) }
            if let image {
                let v = image.end + (image.start - image.end) * Foundation.pow(f, image.k)
                r.lossImage = v; r.lossImageEMA = v; parts.append((v, 8))
            }
            // Counted targets of a text-to-image or image-only step: 10 caption, 65 image, 20 replayed.
            if image != nil {
                r.targetsText = text != nil ? 10 : 0
                r.targetsImage = 65
                if textReplay != nil { r.targetsReplay = 20 }
            }
            let total = parts.map { $0.0 * $0.1 }.reduce(0, +) / parts.map(\.1).reduce(0, +)
            r.loss = total; r.lossEMA = total
            if s % 10 == 0 {
                var v = HeldOutLoss(mean: total)
                v.lossText = r.lossText
                v.lossImage = r.lossImage
                r.heldOut = v
            }
            rows.append(r)
        }
        try writeLines(dir + "/metrics.jsonl", rows)
        try write(dir + "/summary.json", ["status": "completed", "step": steps])
    }

    static func png(_ path: String, colour: UInt8) throws {
        try RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: colour, count: 8 * 8 * 3)).write(
            path: path, durable: false)
    }

    /// `imageGap`: the random arm's image loss above the pretrained arm's (0: the same).
    static func make(_ root: String, imageGap: Double = 0) throws {
        var s = StudyScenario()
        let base = s.t2iImage
        s.t2iImage = { arm, seed in base(arm, seed) + (arm == "random" ? imageGap : 0) }
        try make(root, s)
    }

    static func make(_ root: String, _ sc: StudyScenario) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if let rules = sc.rules {
            try FileIO.writeAtomically(root + "/" + StudyRules.fileName, data: try JSONEncoder().encode(rules))
        }
        let lm = root + "/text-lm"
        try run(lm, seed: 1, initFrom: nil, text: (8, 5), image: nil)
        for s in 1...sc.seeds {
            for (arm, dir, from) in [
                ("pretrained", "pretrained", Optional(lm)), ("random", "random", nil), ("aligned", "aligned", lm),
                ("pretrained, norm-matched", "normmatched", lm),
            ] {
                try run(
                    root + "/t2i-\(dir)-s\(s)", seed: s, initFrom: from, aligned: arm == "aligned",
                    matchNorm: arm.hasSuffix("norm-matched"),
                    text: (sc.t2iTextStart(arm, s), sc.t2iTextEnd(arm, s)),
                    image: (8, sc.t2iImage(arm, s), sc.t2iImageShape(arm, s)))
            }
            if sc.replay {
                try run(
                    root + "/t2i-replay-s\(s)", seed: s, initFrom: lm, textReplay: 0.25,
                    text: (sc.t2iTextStart("pretrained", s), sc.t2iTextEnd("pretrained", s)),
                    image: (8, sc.replayImage(s), 4))
            }
            for arm in ["random", "pretrained"] {
                let from = arm == "pretrained" ? lm : nil
                try run(
                    root + "/uncond-\(arm)-s\(s)", seed: s, initFrom: from, text: nil, image: (8, sc.uncond(arm, s), 2))
                for p in ["ffn", "embed-output"] {
                    try run(
                        root + "/uncond-\(arm)-\(p)-s\(s)", seed: s, initFrom: from, trainable: [p], text: nil,
                        image: (8, sc.uncond("\(arm), trainable \(p)", s), 2))
                }
            }
            // Alignment probe and its control.
            for control in [false, true] {
                let dir = root + (control ? "/align-control-s\(s)" : "/align-s\(s)")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let a = sc.align(s)
                let held = AlignmentStepRow.HeldOut(
                    loss: 1, accuracy: 0.3, batch: 200, lossFloor: 0.2,
                    retrieval: control ? a.chance : a.retrieval, retrievalChance: a.chance)
                let rows = (1...500).map { step -> AlignmentStepRow in
                    let f = step < 50 ? 1 - Double(step - 1) / 49 : 0
                    var r = AlignmentStepRow(
                        step: step, loss: a.loss.1 + (a.loss.0 - a.loss.1) * f, accuracy: 0.1,
                        temperature: max(0.01, 0.07 - 0.0001 * Double(step)), logitScale: 2.6, lr: 1e-3,
                        lossFloor: a.floor.1 + (a.floor.0 - a.floor.1) * f)
                    if step % 50 == 0 { r.heldOut = held }
                    return r
                }
                try writeLines(dir + "/metrics.jsonl", rows)
                try writeJSON(
                    dir + "/summary.json",
                    AlignmentSummary(
                        last: rows.last!, checkpoint: lm, codes: root + "/codes", batch: 1024, trainImages: 6000,
                        valImages: 600,
                        chanceTop1: 1.0 / 1024, nearestCaptionWordShare: 0.1, vocabularyCaptionWordShare: 0.004,
                        captionWords: 20,
                        nearestContentWordShare: sc.contentShare(s, control), vocabularyContentWordShare: 0.004,
                        contentWords: 15,
                        stopWords: 100, seed: s, shuffledCaptions: control))
                try FileIO.writeAtomically(
                    dir + "/nearest.tsv",
                    data: Data(
                        "code\ttoken1\tcosine1\ttoken2\tcosine2\n0\t blue\t0.3000\t<x>\t0.2000\n1\t\\t\t0.1000\tred\t0.0500\n"
                            .utf8))
            }
        }

        // Forgetting: the LM, then each seed's pretrained arm at steps 50 and 100.
        let forget = root + "/forget"
        try FileManager.default.createDirectory(atPath: forget, withIntermediateDirectories: true)
        func forgetting(
            _ checkpoint: String, step: Int, ppl: Double, textOnly: Double, cloze: Double, translation: Double
        ) -> ForgettingRow {
            var r = ForgettingRow(checkpoint: checkpoint, step: step)
            r.completions = [
                .init(prompt: "Simply put, the theory of relativity states that", completion: " <b>bold</b>")
            ]
            r.loss = Foundation.log(ppl)
            r.lossTextOnly = Foundation.log(textOnly)
            r.clozeAccuracy = cloze
            r.translationAccuracy = translation
            return r
        }
        var rows = [
            forgetting(
                lm + "/checkpoints/step_00000100", step: 100, ppl: sc.pplBefore, textOnly: sc.pplBefore,
                cloze: sc.cloze.before, translation: sc.translation.before)
        ]
        for s in 1...sc.seeds {
            for step in [50, 100] {
                rows.append(
                    forgetting(
                        root + "/t2i-pretrained-s\(s)/checkpoints/step_000000\(step)", step: step,
                        ppl: 2 * sc.pplAfter(s),
                        textOnly: sc.pplAfter(s) * (step == 50 ? 1 : 1.5),
                        cloze: step == 50 ? sc.cloze.before : sc.cloze.after(s),
                        translation: step == 50 ? sc.translation.before : sc.translation.after(s)))
            }
            if sc.replay {
                for step in [50, 100] {
                    rows.append(
                        forgetting(
                            root + "/t2i-replay-s\(s)/checkpoints/step_000000\(step)", step: step,
                            ppl: 2 * sc.replayPpl(s), textOnly: step == 50 ? sc.pplBefore : sc.replayPpl(s),
                            cloze: step == 50 ? sc.cloze.before : sc.replayCloze(s),
                            translation: step == 50 ? sc.translation.before : sc.replayTranslation(s)))
                }
            }
        }
        try writeLines(forget + "/forgetting.jsonl", rows)

        // Samples: 3 captions per set.
        for s in 1...sc.seeds {
            for (arm, colour) in [("pretrained", UInt8(40)), ("random", UInt8(200))] {
                let dir = root + "/samples-\(arm)-s\(s)"
                try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
                for i in 0..<3 { try png(dir + "/images/0000\(i).png", colour: colour) }
                try writeLines(
                    dir + "/samples.jsonl",
                    (0..<3).map {
                        SampleRow(
                            file: "images/0000\($0).png", caption: "a small red circle \($0)", sample: 0,
                            codes: [1, 2], endsImage: true, recognised: nil)
                    })
                var summary = SampleSetSummary(
                    checkpoint: root + "/t2i-\(arm)-s\(s)/checkpoints/step_00000100", imageTokenizer: root + "/vq",
                    captions: root + "/captions.jsonl", images: 200, samplesPerCaption: 1, topK: 32, seed: 1,
                    temperature: 1, topP: 1, guidance: 1, seconds: 1, codesPerSecond: 100, imageEndRate: 1)
                if sc.classifierScores {
                    summary.classAccuracy = sc.samples(arm, s); summary.classChance = 0.04
                    summary.frechetDistance = 3.5; summary.frechetDistanceRealTrain = 0.5
                } else {
                    summary.consistency = ["all": sc.samples(arm, s)]
                }
                try writeJSON(dir + "/summary.json", summary)
            }
        }
    }
}

@Suite struct ReportTests {
    @Test func studyRunsAreFoundByContent() throws {
        let root = tempDirectory("study")
        try StudyFixture.make(root)
        // A code folder and a hidden folder beside the runs are ignored.
        try FileManager.default.createDirectory(atPath: root + "/codes/.partial", withIntermediateDirectories: true)
        let s = try StudyRuns(paths: [root])
        #expect(s.textToImage.count == 12 && s.imageOnly.count == 18 && s.textLMs.count == 1)
        #expect(s.alignments.count == 6 && s.forgetting.count == 7 && s.samples.count == 6)
        #expect(s.rules == StudyRules())
        let arms = StudyRuns.byArm(s.textToImage)
        #expect(Set(arms.map(\.arm)) == ["pretrained", "random", "aligned", "pretrained, norm-matched"])
        #expect(arms.allSatisfy { $0.runs.map(\.seed) == [1, 2, 3] })
        #expect(
            Set(s.imageOnly.map(\.arm)) == [
                "random", "pretrained", "pretrained, trainable ffn", "pretrained, trainable embed-output",
                "random, trainable ffn", "random, trainable embed-output",
            ])
        #expect(s.alignments.filter(\.control).map(\.seed).sorted() == [1, 2, 3])
        #expect(s.alignments[0].nearest.count == 2 && s.alignments[0].nearest[0].tokens.map(\.0) == [" blue", "<x>"])
        #expect(s.alignments[0].nearest[1].tokens.map(\.0) == ["\\t", "red"])
        #expect(s.samples[0].runDir == root + "/t2i-pretrained-s1")
        #expect(s.textToImage.allSatisfy { $0.lr == 6e-4 })
        // One run named directly is read as itself.
        #expect(try StudyRuns(paths: [root + "/uncond-random-s1"]).imageOnly.count == 1)
        // A directory without any of them, or no directory, is refused with its name.
        let empty = tempDirectory("empty")
        #expect(throws: TesseraError.self) { try StudyRuns(paths: [empty]) }
        #expect(throws: TesseraError.self) { try StudyRuns(paths: [root + "/missing"]) }
    }

    /// The page's structure: every figure drawn with data, every claim row filled, Table 1 and the
    /// sample grid present; written crash-safely and only over an earlier report.
    @Test func pageHasEveryFigureAndEveryClaimFilled() throws {
        let root = tempDirectory("page")
        try StudyFixture.make(root)
        let out = root + "/report"
        let report = HTMLReport(study: try StudyRuns(paths: [root]))
        try report.write(to: out, overwrite: false)
        let html = String(decoding: try FileIO.read(out + "/index.html"), as: UTF8.self)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n") && !html.contains("<script"))
        for id in HTMLReport.figureIds {
            guard let open = html.range(of: "<svg id=\"\(id)\""),
                let close = html.range(of: "</svg>", range: open.upperBound..<html.endIndex)
            else {
                Issue.record("figure \(id) missing"); continue
            }
            let svg = html[open.lowerBound..<close.upperBound]
            #expect(
                svg.contains("<path d=\"M") && !svg.contains("no data") && !svg.contains("nan"),
                "figure \(id) has no line")
        }
        let rows = html.components(separatedBy: "<tr class=\"claim ").dropFirst().map {
            $0.components(separatedBy: "</tr>")[0]
        }
        #expect(rows.count == 14)
        for row in rows {
            let cells = row.components(separatedBy: "<td").dropFirst()
            #expect(cells.count == 6)
            #expect(
                !row.contains("<td class=\"measured\">—</td>") && !row.contains("not measured"), "\(row.prefix(200))")
            #expect(!row.contains("inf,") && !row.contains("inf]") && !row.contains("(nan"), "\(row.prefix(300))")
        }
        #expect(html.contains("id=\"table1\"") && html.contains("&lt;b&gt;bold&lt;/b&gt;"))  // completions escaped
        #expect(html.contains("<img id=\"samples\" src=\"samples.png\""))
        let grid = try RGBImage.read(path: out + "/samples.png")
        #expect(grid.width > 2 * 128 && grid.height > 3 * 128)  // 2 arms × 3 captions, cells ≥ 128 px
        let json = try JSONSerialization.jsonObject(with: try FileIO.read(out + "/report.json")) as! [String: Any]
        let jsonClaims = json["claims"] as! [[String: Any]]
        #expect(jsonClaims.count == 14 && (json["rules"] as! [String]).count >= 10)
        // Tokens each arm learned from: 100 steps of 10 caption and 65 image targets.
        let tokens = try #require(json["tokens"] as? [[String: Any]])
        let pretrained = try #require(
            tokens.first { $0["arm"] as? String == "pretrained" && $0["training"] as? String == "text-to-image" })
        #expect(pretrained["caption_text"] as? Double == 1000 && pretrained["image"] as? Double == 6500)
        #expect(html.contains("id=\"tokens\"") && html.contains("6.5 : 1"))
        let c1 = try #require(jsonClaims.first { $0["id"] as? String == "C1" })
        let interval = try #require(c1["interval"] as? [String: Any])
        #expect(interval["n"] as? Int == 3 && (interval["lower"] as! Double) < (interval["upper"] as! Double))
        #expect(html.contains("id=\"rules\"") && html.contains("id=\"scale\""))
        // the real probe's tokens
        #expect(html.contains("/align-s1/nearest.tsv") && !html.contains("align-control-s1/nearest.tsv"))

        // Writing again replaces the earlier report; another non-empty directory is refused.
        try report.write(to: out, overwrite: false)
        let other = root + "/align-s1"
        #expect(throws: TesseraError.self) { try report.write(to: other, overwrite: false) }
        #expect(FileIO.exists(other + "/nearest.tsv"))
    }

    @Test func svgPlotTicksScalesAndEscapes() {
        let unit = SVGPlot.ticks(0, 1)
        #expect(unit.count == 6 && unit.first == 0 && abs(unit.last! - 1) < 1e-12 && abs(unit[1] - 0.2) < 1e-12)
        #expect(SVGPlot.ticks(0, 700).first == 0 && SVGPlot.ticks(0, 700).contains(200))
        #expect(SVGPlot.logTicks(0, 2) == [1, 2, 5, 10, 20, 50, 100])
        #expect(SVGPlot.escape("a<b & \"c\">") == "a&lt;b &amp; &quot;c&quot;&gt;")
        // Non-positive values cannot sit on a log axis: they are dropped, not drawn as NaN.
        let p = SVGPlot(
            id: "p", title: "t<1>", xLabel: "x", yLabel: "y", logY: true,
            series: [.init(label: "s", points: [(0, 0), (1, 10), (2, 100)], colour: "#000")]
        ).svg
        #expect(p.contains("<path d=\"M") && !p.contains("nan") && !p.contains("inf") && p.contains("t&lt;1&gt;"))
        let empty = SVGPlot(id: "e", title: "t", xLabel: "x", yLabel: "y", series: []).svg
        #expect(empty.contains("no data") && !empty.contains("<path"))
    }

    @Test func reportCommandWritesPageAndRefusesBadInput() throws {
        let root = tempDirectory("report-cli")
        try StudyFixture.make(root)
        let r = try runTessera(["report", root, "--out", root + "/report"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("C1    held") && r.stdout.contains("C13   held"), "\(r.stdout)")
        #expect(FileIO.exists(root + "/report/index.html"))
        let missing = try runTessera(["report", root + "/nope", "--out", root + "/r2"])
        #expect(missing.status != 0 && missing.stderr.contains(root + "/nope"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(!FileIO.exists(root + "/r2"))
    }
}
