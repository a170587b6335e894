import Foundation
import TesseraCore

/// The study as one static page: the claims table, the paper's figures re-drawn as inline SVG
/// (Figures 3–6 and forgetting along training), Table 1, sample grids (PNG beside the page),
/// the nearest text tokens of image codes, and every run read. No scripts, no network.
public struct HTMLReport {
    public let study: StudyRuns
    public let claims: [PaperClaims.Claim]
    /// Element ids of the figures, in page order (the structure test checks each is drawn).
    public static let figureIds = [
        "fig3-total", "fig4-text", "fig4-image", "fig5-image-only", "fig6-loss", "fig6-temperature",
        "forgetting-perplexity",
    ]

    /// The rules the claims were judged by: the study's own (study-rules.json in its root), else
    /// the defaults, which the page says.
    public let rules: StudyRules

    public init(study: StudyRuns, rules: StudyRules? = nil) {
        self.study = study
        self.rules = rules ?? study.rules ?? StudyRules()
        claims = PaperClaims.evaluate(study, rules: self.rules)
    }

    /// Writes `dir`/index.html, report.json (the claims) and samples.png, crash-safely. An existing
    /// directory is replaced only when it is an earlier report (has report.json) or `overwrite`.
    public func write(to dir: String, overwrite: Bool) throws {
        let earlier = FileIO.exists(dir.appendingPathComponent("report.json"))
        try FileIO.buildDirectory(dir, overwrite: overwrite || earlier) { tmp in
            let grid = try sampleGrid()
            if let grid { try grid.image.write(path: tmp.appendingPathComponent("samples.png"), durable: false) }
            try FileIO.writeAtomically(
                tmp.appendingPathComponent("index.html"), data: Data(page(grid: grid?.arms).utf8))
            let json = try JSONSerialization.data(
                withJSONObject: [
                    "rules": rules.lines,
                    "claims": claims.map { c -> [String: Any] in
                        var row: [String: Any] = [
                            "id": c.id, "source": c.source, "statement": c.statement, "measure": c.measure,
                            "measured": c.measured,
                            "verdict": c.verdict.text, "reason": c.verdict.reason,
                        ]
                        if let i = c.interval, i.n >= 2, i.lower.isFinite, i.upper.isFinite {
                            row["interval"] = [
                                "n": i.n, "mean": i.mean, "lower": i.lower, "upper": i.upper, "level": i.level,
                            ]
                        } else if let i = c.interval {
                            row["interval"] = ["n": i.n, "mean": i.mean]
                        }
                        if let r = c.region { row["region"] = r.text }
                        return row
                    },
                    "tokens": tokensSeen.map { t -> [String: Any] in
                        [
                            "training": t.modality, "arm": t.arm, "runs": t.runs, "caption_text": t.text,
                            "image": t.image, "replayed_text": t.replay,
                        ]
                    },
                ], options: [.prettyPrinted, .sortedKeys])
            try FileIO.writeAtomically(tmp.appendingPathComponent("report.json"), data: json)
        }
    }

    // MARK: page

    public func page(grid arms: [String]?) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Tessera: pre-trained LMs and auto-regressive text-to-image, re-measured</title>
            <style>
            body{font-family:system-ui,sans-serif;max-width:1200px;margin:24px auto;padding:0 16px;color:#222}
            table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}
            th{background:#f4f4f4}.held{background:#e3f5e1}.not-held{background:#fbe3e1}.inconclusive{background:#fdf5d8}.not-measured{background:#f2f2f2}
            .figs{display:flex;flex-wrap:wrap;gap:12px}.note{color:#555;font-size:13px}code{font-size:12px}b.c{color:#a00}
            </style></head><body>
            <h1>Pre-trained language models and auto-regressive text-to-image generation, re-measured</h1>
            <p class="note">Every number below is read from the runs listed at the end: \(study.textToImage.count) text-to-image,
            \(study.imageOnly.count) image-only and \(study.textLMs.count) text-LM training runs, \(study.alignments.count) alignment probe(s),
            \(study.forgetting.count) forgetting-probe checkpoint(s), \(study.samples.count) sample set(s).
            Curves are training perplexity (exponential of the EMA of the training loss, as in the paper's figures);
            thin lines are single seeds, thick lines their mean.</p>

            """
        h += claimsTable()
        h += tokensTable()
        h += "<h2 id=\"figures\">Figures 3–4: text-to-image training</h2><div class=\"figs\">"
        let t2i = t2iGroups()
        h += curves(id: "fig3-total", title: "Fig. 3: total perplexity", groups: t2i, key: .lossEMA)
        h += curves(
            id: "fig4-text", title: "Fig. 4: text-token perplexity", groups: t2i, key: .lossTextEMA, tail: false)
        h += curves(id: "fig4-image", title: "Fig. 4: image-token perplexity", groups: t2i, key: .lossImageEMA)
        h += "</div><h2>Figure 5: image-only training and freezing presets</h2><div class=\"figs\">"
        h += curves(
            id: "fig5-image-only", title: "Fig. 5: image-only perplexity", groups: StudyRuns.byArm(study.imageOnly),
            key: .lossEMA)
        h += "</div><h2>Figure 6: image–text token contrastive alignment</h2><div class=\"figs\">"
        h += alignmentPlots()
        h += "</div>"
        h += nearestTable()
        h += "<h2>Table 1: forgetting along text-to-image training</h2><div class=\"figs\">"
        h += forgettingPlot()
        h += "</div>"
        h += forgettingTable()
        h += samplesSection(arms: arms)
        h += runsTable()
        return h + "</body></html>\n"
    }

    func claimsTable() -> String {
        var h =
            "<h2>Claims</h2><p class=\"note\">Each finding of the paper, the number measured here and the verdict, by rules written down before the runs. "
            + "Arms are compared paired by seed: Δ is the mean per-seed difference with its t interval. <b>held</b>: the interval lies inside the claim's region; "
            + "<b>not held</b>: entirely outside it; <b>inconclusive</b>: it straddles the edge, so these seeds cannot decide (a difference the size of rounding noise lands here). "
            + "A claim this data or LM cannot test says why instead of a verdict.</p>"
        h +=
            "<h3>Rules</h3><ul id=\"rules\">" + rules.lines.map { "<li>\(e($0))</li>" }.joined()
            + (study.rules == nil ? "<li>(no \(StudyRules.fileName) among the inputs: the default rules)</li>" : "")
            + "</ul>"
        h +=
            "<table id=\"claims\"><tr><th>#</th><th>paper</th><th>claim</th><th>measured here</th><th>rule</th><th>verdict</th></tr>"
        for c in claims {
            let cls: String
            switch c.verdict {
            case .held: cls = "held"
            case .notHeld: cls = "not-held"
            case .inconclusive: cls = "inconclusive"
            case .untestable, .notMeasured: cls = "not-measured"
            }
            var verdict = c.verdict.text
            if !c.verdict.reason.isEmpty { verdict += ": " + c.verdict.reason }
            h +=
                "<tr class=\"claim \(cls)\" id=\"claim-\(c.id)\"><td>\(c.id)</td><td>\(e(c.source))</td><td>\(e(c.statement))</td>"
                + "<td class=\"measured\">\(e(c.measured.isEmpty ? "—" : c.measured))</td><td class=\"note\">\(e(c.measure))</td><td class=\"verdict\">\(e(verdict))</td></tr>"
        }
        h += "</table>"
        let untestable = claims.filter { if case .untestable = $0.verdict { return true } else { return false } }
        h += "<h3 id=\"scale\">What this scale cannot test</h3>"
        h +=
            untestable.isEmpty
            ? "<p class=\"note\">Every claim was testable on these runs.</p>"
            : "<ul>" + untestable.map { "<li><b>\($0.id)</b>: \(e($0.verdict.reason))</li>" }.joined() + "</ul>"
        return h
    }

    /// Text-to-image runs by arm; runs at a learning rate other than the primary one are their own
    /// groups, labelled with it.
    func t2iGroups() -> [(arm: String, runs: [StudyRuns.TrainingRun])] {
        let lrs = PaperClaims.learningRates(study.textToImage)
        let primary = PaperClaims.primaryLR(lrs: lrs, runs: study.textToImage, rules: rules)
        var groups: [(arm: String, runs: [StudyRuns.TrainingRun])] = []
        for g in StudyRuns.byArm(study.textToImage) {
            for lr in lrs {
                let runs = g.runs.filter { PaperClaims.same($0.lr, lr) }
                guard !runs.isEmpty else { continue }
                groups.append(
                    (
                        primary.map { PaperClaims.same($0, lr) } ?? true
                            ? g.arm : g.arm + String(format: " @ lr %g", lr), runs
                    ))
            }
        }
        return groups
    }

    /// Perplexity curves of `key` (a loss), one colour per arm: thin per seed, thick mean.
    /// `tail`: the y range leaves out the first 10 % of steps.
    func curves(
        id: String, title: String, groups: [(arm: String, runs: [StudyRuns.TrainingRun])],
        key: StudyRuns.TrainingRun.Series, tail: Bool = true
    ) -> String {
        var series: [SVGPlot.Series] = []
        for (i, g) in groups.enumerated() {
            let colour = SVGPlot.colour(arm: g.arm, index: i)
            let perSeed = g.runs.map { $0.curve(key).map { ($0.x, Foundation.exp($0.y)) } }
            if perSeed.count > 1 {
                for (r, pts) in zip(g.runs, perSeed) {
                    series.append(
                        .init(label: "\(g.arm) seed \(r.seed)", points: pts, colour: colour, width: 1, inLegend: false))
                }
            }
            series.append(
                .init(
                    label: g.arm + (perSeed.count > 1 ? " (mean of \(perSeed.count))" : ""), points: Self.mean(perSeed),
                    colour: colour))
        }
        let lastStep = Double(groups.flatMap(\.runs).map(\.steps).max() ?? 0)
        return SVGPlot(
            id: id, title: title, xLabel: "step", yLabel: "perplexity", logY: true,
            yRangeFromX: tail ? 0.1 * lastStep : -.infinity, series: series
        ).svg
    }

    /// Pointwise mean of curves over the steps they all share.
    static func mean(_ curves: [[(x: Double, y: Double)]]) -> [(x: Double, y: Double)] {
        guard let first = curves.first else { return [] }
        if curves.count == 1 { return first }
        let maps = curves.map { Dictionary($0.map { ($0.x, $0.y) }, uniquingKeysWith: { a, _ in a }) }
        return first.compactMap { p in
            let ys = maps.compactMap { $0[p.x] }
            return ys.count == maps.count ? (p.x, ys.reduce(0, +) / Double(ys.count)) : nil
        }
    }

    func alignmentPlots() -> String {
        var loss: [SVGPlot.Series] = [], temp: [SVGPlot.Series] = []
        for (i, a) in study.alignments.enumerated() {
            let colour = SVGPlot.palette[i % SVGPlot.palette.count],
                name = study.alignments.count > 1 ? a.dir + ": " : ""
            func pts(_ value: (AlignmentStepRow) -> Double?) -> [(x: Double, y: Double)] {
                a.rows.compactMap { r in value(r).map { (Double(r.step), $0) } }
            }
            loss.append(
                .init(
                    label: name + "training (batch \(a.summary.batch))", points: pts(\.loss), colour: colour, width: 1))
            let valBatch = a.summary.last.heldOut.map { " (batch \($0.batch))" } ?? ""
            loss.append(
                .init(
                    label: name + "held-out" + valBatch, points: pts { $0.heldOut?.loss }, colour: colour, dashed: true)
            )
            temp.append(.init(label: name + "temperature", points: pts(\.temperature), colour: colour))
        }
        return SVGPlot(
            id: "fig6-loss", title: "Fig. 6 (left): contrastive loss", xLabel: "step", yLabel: "loss", series: loss
        ).svg
            + SVGPlot(
                id: "fig6-temperature", title: "Fig. 6 (right): learnable temperature", xLabel: "step",
                yLabel: "temperature", logY: true, series: temp
            ).svg
    }

    func nearestTable() -> String {
        // The real probe's table (a shuffled-caption control only when there is nothing else).
        guard let a = study.alignments.first(where: { !$0.control }) ?? study.alignments.first, !a.nearest.isEmpty
        else {
            return "<p class=\"note\">No alignment probe among the inputs.</p>"
        }
        var h =
            "<h3>Nearest text tokens of image codes after alignment</h3><p class=\"note\">The first 16 codes of \(e(a.dir))/nearest.tsv (cosine in brackets).</p><table id=\"nearest\"><tr><th>code</th><th>nearest text tokens</th></tr>"
        for n in a.nearest.prefix(16) {
            h +=
                "<tr><td>\(n.code)</td><td>"
                + n.tokens.map { "<code>\(e(Self.visible($0.0)))</code> (\(String(format: "%.2f", $0.1)))" }.joined(
                    separator: ", ") + "</td></tr>"
        }
        return h + "</table>"
    }

    /// Whitespace made visible so a token like " blue" reads as one.
    static func visible(_ token: String) -> String { token.replacingOccurrences(of: " ", with: "␣") }

    /// The label of a probed checkpoint: its run's arm and seed, or "pre-trained LM".
    func label(ofCheckpoint path: String) -> String {
        study.textToImageRun(of: path).map { "text-to-image \($0.arm), seed \($0.seed)" } ?? "pre-trained LM"
    }

    /// Held-out text perplexity against text-to-image step, one line per fine-tuned run; runs that
    /// started from the pre-trained LM start from its perplexity at step 0.
    func forgettingPlot() -> String {
        var groups: [String: [(x: Double, y: Double)]] = [:], fromLM: Set<String> = []
        var before: Double?
        for r in study.forgetting {
            guard let ppl = r.perplexityTextOnly ?? r.perplexity else { continue }
            let path = r.checkpoint
            guard let run = study.textToImageRun(of: path) else { before = before ?? ppl; continue }
            let l = "text-to-image \(run.arm), seed \(run.seed)"
            if run.pretrained != nil { fromLM.insert(l) }
            groups[l, default: []].append((Double(r.step ?? 0), ppl))
        }
        var series = groups.keys.sorted().enumerated().map { i, l in
            let start = fromLM.contains(l) ? [before.map { (x: 0.0, y: $0) }].compactMap { $0 } : []
            return SVGPlot.Series(
                label: l, points: (start + groups[l]!).sorted { $0.x < $1.x },
                colour: SVGPlot.colour(
                    arm: l.split(separator: " ").dropFirst().first.map { String($0).trimmingCharacters(in: [","]) }
                        ?? l, index: i),
                markers: true)
        }
        if let before, let maxStep = groups.values.flatMap({ $0 }).map(\.x).max() {
            series.append(
                .init(
                    label: "pre-trained LM", points: [(0, before), (maxStep, before)], colour: "#555", dashed: true,
                    width: 1))
        }
        return SVGPlot(
            id: "forgetting-perplexity", title: "Held-out text perplexity (over text ids) along text-to-image training",
            xLabel: "text-to-image step",
            yLabel: "perplexity", logY: true, series: series
        ).svg
    }

    /// Per arm: the training targets each run learned from, by kind (mean over its runs), and the
    /// image:text ratio (the paper's is about 30:1).
    public var tokensSeen: [(modality: String, arm: String, runs: Int, text: Double, image: Double, replay: Double)] {
        var out: [(String, String, Int, Double, Double, Double)] = []
        for (modality, runs) in [("text-to-image", study.textToImage), ("image-only", study.imageOnly)] {
            for (arm, group) in StudyRuns.byArm(runs) {
                let counts = group.compactMap(\.targetsSeen)
                guard !counts.isEmpty else { continue }
                let n = Double(counts.count)
                out.append(
                    (
                        modality, arm, counts.count, Double(counts.map(\.text).reduce(0, +)) / n,
                        Double(counts.map(\.image).reduce(0, +)) / n, Double(counts.map(\.replay).reduce(0, +)) / n
                    ))
            }
        }
        return out
    }

    func tokensTable() -> String {
        let rows = tokensSeen
        guard !rows.isEmpty else { return "" }
        var h =
            "<h3>Tokens each arm learned from</h3><p class=\"note\">Counted training targets per run (mean over its seeds): caption text "
            + "(with <code>&lt;/text&gt;</code>), image codes (with <code>&lt;/image&gt;</code>) and replayed plain text. The paper's image:text ratio is about 30:1.</p>"
            + "<table id=\"tokens\"><tr><th>training</th><th>arm</th><th>runs</th><th>caption text</th><th>image</th><th>replayed text</th><th>image : text</th></tr>"
        for r in rows {
            let text = r.text + r.replay
            h +=
                "<tr><td>\(r.modality)</td><td>\(e(r.arm))</td><td>\(r.runs)</td><td>\(Int(r.text))</td><td>\(Int(r.image))</td><td>\(Int(r.replay))</td>"
                + "<td>\(text > 0 ? String(format: "%.1f : 1", r.image / text) : "—")</td></tr>"
        }
        return h + "</table>"
    }

    func forgettingTable() -> String {
        guard !study.forgetting.isEmpty else {
            return "<p class=\"note\">No forgetting-probe output among the inputs.</p>"
        }
        var h =
            "<table id=\"table1\"><tr><th>model</th><th>step</th><th>held-out perplexity</th><th>over text ids</th><th>world-knowledge cloze</th><th>few-shot EN→FR</th><th>completions (model output in bold)</th></tr>"
        for r in study.forgetting {
            func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", 100 * $0) } ?? "—" }
            let completions = r.completions.map { c in "\(e(c.prompt))<b class=\"c\">\(e(c.completion))</b>" }.joined(
                separator: "<br>")
            let path = r.checkpoint, step = r.step ?? 0
            // The pre-trained LM's own step counts text pretraining, not text-to-image training.
            let stepCell = study.textToImageRun(of: path) == nil ? "0 (text LM at step \(step))" : "\(step)"
            h +=
                "<tr><td>\(e(label(ofCheckpoint: path)))</td><td>\(stepCell)</td>"
                + "<td>\(r.perplexity.map { String(format: "%.1f", $0) } ?? "—")</td>"
                + "<td>\(r.perplexityTextOnly.map { String(format: "%.1f", $0) } ?? "—")</td><td>\(pct(r.clozeAccuracy))</td><td>\(pct(r.translationAccuracy))</td><td>\(completions)</td></tr>"
        }
        return h + "</table>"
    }

    func samplesSection(arms: [String]?) -> String {
        var h = "<h2>Samples</h2>"
        guard let arms else { return h + "<p class=\"note\">No sample sets among the inputs.</p>" }
        h +=
            "<p class=\"note\">The first held-out captions, one sample each, left to right: \(e(arms.joined(separator: ", "))).</p>"
        h += "<img id=\"samples\" src=\"samples.png\" alt=\"samples by initialisation\" style=\"max-width:100%\">"
        h +=
            "<table id=\"sample-scores\"><tr><th>sample set</th><th>run</th><th>images</th><th>recognised as captioned "
            + "(shapes) or in the caption's category (classifier; chance)</th><th>Fréchet distance (real-vs-real floor)</th><th>ended the image</th></tr>"
        for s in study.samples {
            let c = PaperClaims.sampleScore(s.summary)?.value
            let chance = s.summary.classChance
            let fd = s.summary.frechetDistance, floor = s.summary.frechetDistanceRealTrain
            let end: Double? = s.summary.imageEndRate
            h +=
                "<tr><td>\(e(s.dir))</td><td>\(e(s.runDir))</td><td>\(s.summary.images)</td>"
                + "<td>\(c.map { String(format: "%.1f %%", 100 * $0) } ?? "—")\(chance.map { String(format: " (%.1f %%)", 100 * $0) } ?? "")</td>"
                + "<td>\(fd.map { String(format: "%.2f", $0) } ?? "—")\(floor.map { String(format: " (%.2f)", $0) } ?? "")</td>"
                + "<td>\(end.map { String(format: "%.1f %%", 100 * $0) } ?? "—")</td></tr>"
        }
        return h + "</table>"
    }

    /// Rows: the first 12 captions; columns: one sample set per arm (first seen). Nil without samples.
    func sampleGrid() throws -> (image: RGBImage, arms: [String])? {
        var sets: [(arm: String, set: StudyRuns.SampleSet)] = []
        for s in study.samples {
            let arm = study.textToImageRun(of: s.runDir)?.arm ?? s.dir.lastPathComponent
            if !sets.contains(where: { $0.arm == arm }) { sets.append((arm, s)) }
        }
        sets.sort { (StudyRuns.armRank($0.arm), $0.arm) < (StudyRuns.armRank($1.arm), $1.arm) }
        guard !sets.isEmpty else { return nil }
        let rows = min(12, sets.map(\.set.entries.count).min() ?? 0)
        guard rows > 0 else { return nil }
        var images: [[UInt8]] = [], captions: [String] = [], side = 0
        for i in 0..<rows {
            for (arm, s) in sets {
                let img = try RGBImage.read(path: s.dir.appendingPathComponent(s.entries[i].file))
                guard img.width == img.height, side == 0 || img.width == side else {
                    throw TesseraError.data(
                        file: s.dir,
                        "sample images differ in size (\(img.width)×\(img.height)); one grid needs one square size")
                }
                side = img.width
                let plane = side * side
                var chw = [UInt8](repeating: 0, count: 3 * plane)
                for p in 0..<plane { for c in 0..<3 { chw[c * plane + p] = img.pixels[p * 3 + c] } }
                images.append(chw)
                captions.append("\(arm)\n\(s.entries[i].caption)")
            }
        }
        return (
            LabelledGrid.render(
                images: images, captions: captions, side: side, columns: sets.count, minCell: 128, maxLines: 4),
            sets.map(\.arm)
        )
    }

    func runsTable() -> String {
        var h =
            "<h2>Runs read</h2><table id=\"runs\"><tr><th>run</th><th>kind</th><th>initialisation</th><th>seed</th><th>lr</th><th>steps</th><th>status</th><th>final held-out loss (text / image)</th></tr>"
        for r in study.textToImage + study.imageOnly + study.textLMs {
            let f = [r.final(.valLoss), r.final(.valLossText), r.final(.valLossImage)].map {
                $0.map { String(format: "%.4f", $0) } ?? "—"
            }
            h +=
                "<tr><td>\(e(r.dir))</td><td>\(r.modality.rawValue)</td><td>\(e(r.arm))\(r.pretrained.map { " ← " + e($0) } ?? "")</td><td>\(r.seed)</td><td>\(String(format: "%g", r.lr))</td>"
                + "<td>\(r.steps)</td><td>\(r.completed ? "completed" : "incomplete")</td><td>\(f[0]) (\(f[1]) / \(f[2]))</td></tr>"
        }
        return h + "</table>"
    }

    func e(_ s: String) -> String { SVGPlot.escape(s) }
}
