import Foundation
import Testing
import TesseraCore

/// A complete study on disk, written by hand so every number is known: text-to-image runs of three
/// arms × 2 seeds, image-only runs (random, pretrained, two freezing presets), a text LM, an
/// alignment probe, forgetting-probe rows and two sample sets.
enum StudyFixture {
    static func write(_ path: String, _ object: Any) throws {
        try FileIO.writeAtomically(path, data: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
    static func writeLines(_ path: String, _ rows: [[String: Any]]) throws {
        try FileIO.writeAtomically(path, data: Data((rows.map(MetricsLog.line).joined(separator: "\n") + "\n").utf8))
    }

    /// A run whose losses fall from `start` towards `end` (per modality) over `steps` steps.
    static func run(_ dir: String, seed: Int, initFrom: String?, aligned: Bool = false, trainable: [String]? = nil,
                    text: (start: Double, end: Double)?, image: (start: Double, end: Double)?, steps: Int = 100) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config: [String: Any] = ["seed": seed, "model": ["d_model": 8], "optim": trainable.map { ["trainable": $0] } ?? [:]]
        if let initFrom { config["init"] = ["from": initFrom, "new_rows_std": 0.02].merging(aligned ? ["aligned": dir + "/../align"] : [:]) { a, _ in a } }
        try write(dir + "/config.json", config)
        var rows: [[String: Any]] = []
        for s in 1...steps {
            let f = 1 - Double(s - 1) / Double(steps - 1)   // 1 → 0
            var r: [String: Any] = ["step": s]
            var parts: [(Double, Double)] = []
            // A text LM logs only "loss"; text-to-image runs split it.
            if let text, image != nil { let v = text.end + (text.start - text.end) * f * f; r["loss_text"] = v; r["loss_text_ema"] = v; parts.append((v, 1)) }
            if let text, image == nil { parts.append((text.end + (text.start - text.end) * f * f, 1)) }
            if let image { let v = image.end + (image.start - image.end) * f * f; r["loss_image"] = v; r["loss_image_ema"] = v; parts.append((v, 8)) }
            let total = parts.map { $0.0 * $0.1 }.reduce(0, +) / parts.map(\.1).reduce(0, +)
            r["loss"] = total; r["loss_ema"] = total
            if s % 25 == 0 {
                r["val_loss"] = total + 0.01
                if let t = r["loss_text"] as? Double { r["val_loss_text"] = t + 0.01 }
                if let i = r["loss_image"] as? Double { r["val_loss_image"] = i + 0.01 }
            }
            rows.append(r)
        }
        try writeLines(dir + "/metrics.jsonl", rows)
        try write(dir + "/summary.json", ["status": "completed", "step": steps])
    }

    static func png(_ path: String, colour: UInt8) throws {
        try RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: colour, count: 8 * 8 * 3)).write(path: path, durable: false)
    }

    /// `imageGap`: the random arm's image loss above the pretrained arm's (0: the same).
    static func make(_ root: String, imageGap: Double = 0) throws {
        let lm = root + "/text-lm"
        try run(lm, seed: 1, initFrom: nil, text: (8, 5), image: nil)
        for s in 1...2 {
            let jitter = 0.002 * Double(s)
            try run(root + "/t2i-pretrained-s\(s)", seed: s, initFrom: lm, text: (3 + jitter, 0.6), image: (8, 2 + jitter))
            try run(root + "/t2i-random-s\(s)", seed: s, initFrom: nil, text: (8 + jitter, 0.6 + jitter), image: (8, 2 + imageGap + jitter))
            try run(root + "/t2i-aligned-s\(s)", seed: s, initFrom: lm, aligned: true, text: (3, 0.6), image: (7, 1.5 + jitter))
        }
        try run(root + "/uncond-random", seed: 1, initFrom: nil, text: nil, image: (8, 2.0))
        try run(root + "/uncond-pretrained", seed: 1, initFrom: lm, text: nil, image: (8, 2.01))
        try run(root + "/uncond-pretrained-ffn", seed: 1, initFrom: lm, trainable: ["ffn"], text: nil, image: (8, 2.5))
        try run(root + "/uncond-pretrained-embed-output", seed: 1, initFrom: lm, trainable: ["embed-output"], text: nil, image: (8, 3.5))

        // Alignment: the loss falls to 2.0 within 50 of 500 steps, then stays.
        let align = root + "/align"
        try FileManager.default.createDirectory(atPath: align, withIntermediateDirectories: true)
        try writeLines(align + "/metrics.jsonl", (1...500).map { s -> [String: Any] in
            var r: [String: Any] = ["step": s, "loss": s < 50 ? 7 - 5 * Double(s) / 50 : 2.0 - 0.0001 * Double(s - 50),
                                    "temperature": max(0.01, 0.07 - 0.0001 * Double(s)), "accuracy": 0.1]
            if s % 50 == 0 { r["val_loss"] = 1.0; r["val_accuracy"] = 0.3 }
            return r
        })
        try write(align + "/summary.json", ["batch": 1024, "val_batch": 200, "val_accuracy": 0.3, "step": 500,
                                            "nearest_caption_word_share": 0.1, "vocabulary_caption_word_share": 0.004, "caption_words": 20])
        try FileIO.writeAtomically(align + "/nearest.tsv", data: Data("code\ttoken1\tcosine1\ttoken2\tcosine2\n0\t blue\t0.3000\t<x>\t0.2000\n1\t\\t\t0.1000\tred\t0.0500\n".utf8))

        // Forgetting: the LM, then the pretrained arm at steps 50 and 100.
        let forget = root + "/forget"
        try FileManager.default.createDirectory(atPath: forget, withIntermediateDirectories: true)
        let completions: [[String: Any]] = [["prompt": "Simply put, the theory of relativity states that", "completion": " <b>bold</b>"]]
        try writeLines(forget + "/forgetting.jsonl", [
            ["checkpoint": lm + "/checkpoints/step_00000100", "step": 100, "val_ppl": 150.0, "cloze_accuracy": 0.5, "translation_accuracy": 0.2, "completions": completions],
            ["checkpoint": root + "/t2i-pretrained-s1/checkpoints/step_00000050", "step": 50, "val_ppl": 900.0, "cloze_accuracy": 0.1, "translation_accuracy": 0.0, "completions": completions],
            ["checkpoint": root + "/t2i-pretrained-s1/checkpoints/step_00000100", "step": 100, "val_ppl": 5000.0, "cloze_accuracy": 0.0, "translation_accuracy": 0.0, "completions": completions],
        ])

        // Samples: 3 captions per arm; pretrained recognises 70 % of 200, random 72 %.
        for (arm, share, colour) in [("pretrained", 0.70, UInt8(40)), ("random", 0.72, UInt8(200))] {
            let dir = root + "/samples-\(arm)"
            try FileManager.default.createDirectory(atPath: dir + "/images", withIntermediateDirectories: true)
            for i in 0..<3 { try png(dir + "/images/0000\(i).png", colour: colour) }
            try writeLines(dir + "/samples.jsonl", (0..<3).map { ["caption": "a small red circle \($0)", "file": "images/0000\($0).png", "sample": 0] })
            try write(dir + "/summary.json", ["checkpoint": root + "/t2i-\(arm)-s1/checkpoints/step_00000100", "images": 200,
                                              "consistency": ["all": share], "image_end_rate": 1.0])
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
        #expect(s.textToImage.count == 6 && s.imageOnly.count == 4 && s.textLMs.count == 1)
        #expect(s.alignments.count == 1 && s.forgetting.count == 3 && s.samples.count == 2)
        let arms = StudyRuns.byArm(s.textToImage)
        #expect(Set(arms.map(\.arm)) == ["pretrained", "random", "aligned"])
        #expect(arms.allSatisfy { $0.runs.map(\.seed) == [1, 2] })
        #expect(Set(s.imageOnly.map(\.arm)) == ["random", "pretrained", "pretrained, trainable ffn", "pretrained, trainable embed-output"])
        #expect(s.alignments[0].nearest.count == 2 && s.alignments[0].nearest[0].tokens.map(\.0) == [" blue", "<x>"])
        #expect(s.alignments[0].nearest[1].tokens.map(\.0) == ["\\t", "red"])
        #expect(s.samples[0].runDir == root + "/t2i-pretrained-s1")
        // One run named directly is read as itself.
        #expect(try StudyRuns(paths: [root + "/uncond-random"]).imageOnly.count == 1)
        // A directory without any of them, or no directory, is refused with its name.
        let empty = tempDirectory("empty")
        #expect(throws: TesseraError.self) { try StudyRuns(paths: [empty]) }
        #expect(throws: TesseraError.self) { try StudyRuns(paths: [root + "/missing"]) }
    }

    @Test func toleranceUsesSeedRangeOrTwoPercent() throws {
        let a = try #require(PaperClaims.Spread([1.0, 1.1])), b = try #require(PaperClaims.Spread([1.2, 1.2]))
        #expect(abs(PaperClaims.tolerance(a, b) - 0.2) < 1e-12)
        let c = try #require(PaperClaims.Spread([2.0])), d = try #require(PaperClaims.Spread([3.0]))
        #expect(abs(PaperClaims.tolerance(c, d) - 0.06) < 1e-12)
        #expect(PaperClaims.Spread([1.0, nil]) == nil)   // a seed without the figure: no spread
    }

    static func verdicts(_ root: String) throws -> [String: PaperClaims.Verdict] {
        Dictionary(uniqueKeysWithValues: PaperClaims.evaluate(try StudyRuns(paths: [root])).map { ($0.id, $0.verdict) })
    }

    @Test func claimsFollowTheirRules() throws {
        let root = tempDirectory("claims")
        try StudyFixture.make(root)
        let v = try Self.verdicts(root)
        #expect(v.count == 12)
        for id in ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C11", "C12"] { #expect(v[id] == .held, "\(id): \(String(describing: v[id]))") }
        #expect(v["C10"] == .notHeld)   // aligned rows end 0.5 lower on image tokens

        // The random arm 0.3 worse on image tokens: no longer "the same".
        let worse = tempDirectory("claims-gap")
        try StudyFixture.make(worse, imageGap: 0.3)
        let w = try Self.verdicts(worse)
        #expect(w["C1"] == .notHeld && w["C2"] == .notHeld && w["C3"] == .held)

        // Without the image-only and forgetting inputs those claims say why.
        let t2iOnly = try StudyRuns(paths: [root + "/t2i-pretrained-s1", root + "/t2i-random-s1"])
        let claims = PaperClaims.evaluate(t2iOnly)
        for c in claims where ["C6", "C7", "C8", "C9", "C11", "C12"].contains(c.id) {
            guard case .notMeasured(let why) = c.verdict else { Issue.record("\(c.id) measured from nothing"); continue }
            #expect(!why.isEmpty && c.measured.isEmpty)
        }
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
            guard let open = html.range(of: "<svg id=\"\(id)\""), let close = html.range(of: "</svg>", range: open.upperBound..<html.endIndex) else {
                Issue.record("figure \(id) missing"); continue
            }
            let svg = html[open.lowerBound..<close.upperBound]
            #expect(svg.contains("<path d=\"M") && !svg.contains("no data") && !svg.contains("nan"), "figure \(id) has no line")
        }
        let rows = html.components(separatedBy: "<tr class=\"claim ").dropFirst().map { $0.components(separatedBy: "</tr>")[0] }
        #expect(rows.count == 12)
        for row in rows {
            let cells = row.components(separatedBy: "<td").dropFirst()
            #expect(cells.count == 6)
            #expect(!row.contains("<td class=\"measured\">—</td>") && !row.contains("not measured"), "\(row.prefix(200))")
        }
        #expect(html.contains("id=\"table1\"") && html.contains("&lt;b&gt;bold&lt;/b&gt;"))   // completions escaped
        #expect(html.contains("<img id=\"samples\" src=\"samples.png\""))
        let grid = try RGBImage.read(path: out + "/samples.png")
        #expect(grid.width > 2 * 128 && grid.height > 3 * 128)   // 2 arms × 3 captions, cells ≥ 128 px
        let json = try JSONSerialization.jsonObject(with: try FileIO.read(out + "/report.json")) as! [String: Any]
        #expect((json["claims"] as! [[String: Any]]).count == 12)

        // Writing again replaces the earlier report; another non-empty directory is refused.
        try report.write(to: out, overwrite: false)
        let other = root + "/align"
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
        let p = SVGPlot(id: "p", title: "t<1>", xLabel: "x", yLabel: "y", logY: true,
                        series: [.init(label: "s", points: [(0, 0), (1, 10), (2, 100)], colour: "#000")]).svg
        #expect(p.contains("<path d=\"M") && !p.contains("nan") && !p.contains("inf") && p.contains("t&lt;1&gt;"))
        let empty = SVGPlot(id: "e", title: "t", xLabel: "x", yLabel: "y", series: []).svg
        #expect(empty.contains("no data") && !empty.contains("<path"))
    }

    @Test func reportCommandWritesPageAndRefusesBadInput() throws {
        let root = tempDirectory("report-cli")
        try StudyFixture.make(root)
        let r = try runTessera(["report", root, "--out", root + "/report"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("C1   held") && r.stdout.contains("C10  did not hold"))
        #expect(FileIO.exists(root + "/report/index.html"))
        let missing = try runTessera(["report", root + "/nope", "--out", root + "/r2"])
        #expect(missing.status != 0 && missing.stderr.contains(root + "/nope"))
        #expect(missing.stderr.split(separator: "\n").count == 1)
        #expect(!FileIO.exists(root + "/r2"))
    }
}
