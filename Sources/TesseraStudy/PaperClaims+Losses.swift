import Foundation
import TesseraCore

/// C1–C7c and C13: the loss claims of text-to-image and image-only training.
extension PaperClaims {
    // MARK: text-to-image and image-only losses

    static func equivalence(
        _ c: Context, _ id: String, _ source: String, _ statement: String, key: Run.Series,
        _ a: String, _ b: String, in groups: [String: [Run]], what: String
    ) -> Claim {
        let region = PairedStatistics.Region.within(c.m.loss)
        let measure =
            "final held-out \(key.name), \(a) − \(b) paired by seed; the same if the interval lies within ±\(fmt(c.m.loss, plus: false))"
        let pairs = paired(bySeed(groups[a] ?? [], { $0.final(key) }), bySeed(groups[b] ?? [], { $0.final(key) }))
        guard !pairs.isEmpty else {
            return unmeasured(
                id, source, statement, measure,
                "no \(what) runs of both arms (\(a), \(b)) with a common seed among the inputs")
        }
        return judged(c, id, source, statement, measure, values: pairs.map { $0.a - $0.b }, region: region) { i in
            "\(a) \(values(pairs.map(\.a))); \(b) \(values(pairs.map(\.b))); Δ = \(i.text())"
        }
    }

    static func textStart(_ c: Context) -> Claim {
        let statement = "On text tokens the pre-trained model starts significantly lower."
        let measure =
            "training loss_text at step 1 (the initial weights on the first batch), pretrained − random paired by seed; lower if the interval lies below −\(fmt(c.m.loss, plus: false))"
        let pairs = paired(
            bySeed(c.t2i["pretrained"] ?? [], { $0.first(.lossText) }),
            bySeed(c.t2i["random"] ?? [], { $0.first(.lossText) }))
        guard !pairs.isEmpty else {
            return unmeasured(
                "C3", "§3.1, Fig. 4", statement, measure,
                "no text-to-image runs of both arms (pretrained, random) with a common seed")
        }
        return judged(
            c, "C3", "§3.1, Fig. 4", statement, measure, values: pairs.map { $0.a - $0.b }, region: .below(-c.m.loss)
        ) { i in
            "pretrained \(values(pairs.map(\.a))); random \(values(pairs.map(\.b))); Δ = \(i.text())"
        }
    }

    static func textGap(_ c: Context) -> Claim {
        let statement = "The pre-trained model's advantage on text tokens soon disappears during training."
        let measure =
            "final held-out val_loss_text, pretrained − random paired by seed; gone if the interval lies within ±\(fmt(c.m.loss, plus: false))"
        let start = paired(
            bySeed(c.t2i["pretrained"] ?? [], { $0.first(.lossText) }),
            bySeed(c.t2i["random"] ?? [], { $0.first(.lossText) }))
        let end = paired(
            bySeed(c.t2i["pretrained"] ?? [], { $0.final(.valLossText) }),
            bySeed(c.t2i["random"] ?? [], { $0.final(.valLossText) }))
        guard !end.isEmpty else {
            return unmeasured(
                "C4", "§3.1, Fig. 4", statement, measure,
                "no text-to-image runs of both arms (pretrained, random) with a common seed")
        }
        let d0 = start.isEmpty ? nil : start.map { $0.a - $0.b }.reduce(0, +) / Double(start.count)
        let gone = firstStep(Array(c.t2i.values.joined()), arms: ("pretrained", "random"), key: .valLossText) {
            abs($0) < c.m.loss
        }
        return judged(
            c, "C4", "§3.1, Fig. 4", statement, measure, values: end.map { $0.a - $0.b }, region: .within(c.m.loss)
        ) { i in
            (d0.map { "Δ_start = \(fmt($0)); " } ?? "")
                + "Δ_end = \(i.text()) (pretrained \(values(end.map(\.a))), random \(values(end.map(\.b))))"
                + (gone.map { "; mean gap within the margin from step \($0.step) of \($0.of)" } ?? "")
        }
    }

    /// The first step of the evaluation grid at which `holds(mean_a − mean_b)`, and the last step.
    static func firstStep(
        _ runs: [Run], arms: (String, String), key: Run.Series, _ holds: (Double) -> Bool
    ) -> (step: Int, of: Int)? {
        func meanCurve(_ arm: String) -> [Int: Double] {
            let group = runs.filter { $0.arm == arm }
            var sums: [Int: (Double, Int)] = [:]
            for r in group {
                for p in r.curve(key) {
                    let k = Int(p.x); sums[k, default: (0, 0)].0 += p.y; sums[k, default: (0, 0)].1 += 1
                }
            }
            return sums.filter { $0.value.1 == group.count }.mapValues { $0.0 / Double($0.1) }
        }
        let a = meanCurve(arms.0), b = meanCurve(arms.1)
        let steps = Set(a.keys).intersection(b.keys).sorted()
        guard let last = steps.last, let hit = steps.first(where: { holds(a[$0]! - b[$0]!) }) else { return nil }
        return (hit, last)
    }

    /// A sample set's quality score: the shapes recogniser's share of samples that match their
    /// caption, else the category classifier's share assigned to their caption's category.
    static func sampleScore(_ summary: SampleSetSummary) -> (value: Double, kind: String)? {
        if let v = summary.consistency?["all"] { return (v, "recognised as their caption by the shapes recogniser") }
        if let v = summary.classAccuracy {
            return (v, "assigned to their caption's category by the category classifier")
        }
        return nil
    }

    static func sampleQuality(_ c: Context) -> Claim {
        let statement = "Pre-trained and random initialisation give the same image generation quality."
        var kind = "recognised as their caption"
        func shares(_ arm: String) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for set in c.study.samples {
                guard let run = c.study.textToImageRun(of: set.runDir), run.arm == arm,
                    c.lr.map({ same(run.lr, $0) }) ?? true,
                    let score = sampleScore(set.summary)
                else { continue }
                out[run.seed] = score.value
                kind = score.kind
            }
            return out
        }
        let pairs = paired(shares("pretrained"), shares("random"))
        let measure =
            "share of held-out captions whose sample is \(kind), pretrained − random paired by seed; the same if the interval lies within ±\(String(format: "%.1f", 100 * c.m.recognised)) points"
        guard !pairs.isEmpty else {
            return unmeasured(
                "C5", "§1, Fig. 3", statement, measure,
                "no scored sample sets (eval sample on shapes captions, or with --classifier) of both arms with a common seed"
            )
        }
        let claim = judged(
            c, "C5", "§1, Fig. 3", statement, measure, values: pairs.map { $0.a - $0.b },
            region: .within(c.m.recognised)
        ) { i in
            "pretrained \(values(pairs.map { 100 * $0.a }, 1)) %; random \(values(pairs.map { 100 * $0.b }, 1)) %; Δ = "
                + PairedStatistics.Interval(
                    n: i.n, mean: 100 * i.mean, sd: 100 * i.sd, lower: 100 * i.lower, upper: 100 * i.upper,
                    level: i.level
                )
                .text(1, unit: " points")
        }
        // Equal quality is not equal failure: with both arms near the scorer's chance, "the same" says nothing.
        let chances = c.study.samples.compactMap(\.summary.classChance)
        guard let chance = chances.max(), case .held = claim.verdict else { return claim }
        let best = max(pairs.map(\.a).reduce(0, +), pairs.map(\.b).reduce(0, +)) / Double(pairs.count)
        guard best < c.m.qualityLift * chance else { return claim }
        let why = String(
            format:
                "samples at chance level: the better arm scores %.1f %% against a chance of %.1f %%, under the %.1f × chance the rules need before the same quality can be told from the same failure",
            100 * best, 100 * chance, c.m.qualityLift)
        return Claim(
            id: claim.id, source: claim.source, statement: claim.statement, measure: claim.measure,
            measured: claim.measured,
            interval: claim.interval, region: claim.region, verdict: .untestable(why))
    }

    static let trainablePrefix = ", trainable "

    /// Image-only freezing presets of `initialisation` ("pretrained" or "random"), by preset name.
    static func presets(_ c: Context, _ initialisation: String) -> [String: [Run]] {
        var out: [String: [Run]] = [:]
        for (arm, runs) in c.uncond where arm.hasPrefix(initialisation + trainablePrefix) {
            out[String(arm.dropFirst((initialisation + trainablePrefix).count))] = runs
        }
        return out
    }

    static func freezing(_ c: Context) -> Claim {
        let statement =
            "Freezing any part of the pre-trained model makes the image-only loss worse than full fine-tuning."
        let measure =
            "final held-out val_loss of each freezing preset − the fully trainable pretrained run, paired by seed; worse if the interval lies above +\(fmt(c.m.loss, plus: false)), for every preset"
        let full = bySeed(c.uncond["pretrained"] ?? [], { $0.final(.valLoss) })
        let parts = presets(c, "pretrained").keys.sorted().compactMap {
            p -> (String, [Double], PairedStatistics.Region, (PairedStatistics.Interval) -> String)? in
            let pairs = paired(bySeed(presets(c, "pretrained")[p]!, { $0.final(.valLoss) }), full)
            guard !pairs.isEmpty else { return nil }
            return (
                p, pairs.map { $0.a - $0.b }, .above(c.m.loss),
                { i in "\(values(pairs.map(\.a))) vs full \(values(pairs.map(\.b))), Δ = \(i.text())" }
            )
        }
        guard !parts.isEmpty else {
            return unmeasured(
                "C7", "§3.1, Fig. 5", statement, measure,
                "no image-only pretrained runs with and without freezing presets, with a common seed")
        }
        return judgedParts(c, "C7", "§3.1, Fig. 5", statement, measure, parts: parts.map { ($0.0, $0.1, $0.2, $0.3) })
    }

    /// The control for C7: the same presets from random weights. If freezing pre-trained layers
    /// hurts only as much as freezing random ones, the harm says nothing about what they know.
    static func freezingControl(_ c: Context) -> Claim {
        let statement =
            "Control for C7: frozen pre-trained layers serve image tokens no better than the same layers frozen at random initialisation."
        let measure =
            "final held-out val_loss, pretrained preset − random preset paired by seed; no better if the interval lies above −\(fmt(c.m.loss, plus: false)), for every preset"
        let pre = presets(c, "pretrained"), rnd = presets(c, "random")
        let parts = pre.keys.sorted().compactMap {
            p -> (String, [Double], PairedStatistics.Region, (PairedStatistics.Interval) -> String)? in
            guard let r = rnd[p] else { return nil }
            let pairs = paired(bySeed(pre[p]!, { $0.final(.valLoss) }), bySeed(r, { $0.final(.valLoss) }))
            guard !pairs.isEmpty else { return nil }
            return (
                p, pairs.map { $0.a - $0.b }, .above(-c.m.loss),
                { i in "pretrained \(values(pairs.map(\.a))) vs random \(values(pairs.map(\.b))), Δ = \(i.text())" }
            )
        }
        guard !parts.isEmpty else {
            return unmeasured(
                "C7c", "§3.1, Fig. 5 (control)", statement, measure,
                "no image-only freezing presets from both pretrained and random weights")
        }
        return judgedParts(
            c, "C7c", "§3.1, Fig. 5 (control)", statement, measure, parts: parts.map { ($0.0, $0.1, $0.2, $0.3) })
    }

    // MARK: the other side (Liquid)

    /// The first step at which a held-out curve reaches `target`, linearly interpolated between
    /// evaluations; nil when it never does.
    static func stepReaching(_ curve: [(x: Double, y: Double)], _ target: Double) -> Double? {
        guard let i = curve.firstIndex(where: { $0.y <= target }) else { return nil }
        guard i > 0 else { return curve[0].x }
        let (a, b) = (curve[i - 1], curve[i])
        return a.x + (a.y - target) / (a.y - b.y) * (b.x - a.x)
    }

    static func stepsToLoss(_ c: Context) -> Claim {
        let statement =
            "Other side (Liquid, Wu et al. 2024): starting from a pre-trained LLM reaches the random arm's final held-out image loss in fewer steps."
        let measure = String(
            format:
                "per seed: steps for the pretrained arm to reach the random arm's final held-out val_loss_image (interpolated between evaluations; the run's last step if never) ÷ the random arm's steps to reach it; fewer if the interval lies below %.2f",
            1 - c.m.stepSaving)
        var ratios: [Double] = [], never = 0
        let random = Dictionary(grouping: c.t2i["random"] ?? [], by: \.seed),
            pre = Dictionary(grouping: c.t2i["pretrained"] ?? [], by: \.seed)
        for seed in Set(random.keys).intersection(pre.keys).sorted() {
            let r = random[seed]![0].curve(.valLossImage), p = pre[seed]![0].curve(.valLossImage)
            guard let target = r.last?.y, let stepsRandom = stepReaching(r, target), stepsRandom > 0,
                let lastP = p.last?.x
            else { continue }
            let stepsPre =
                stepReaching(p, target)
                ?? {
                    never += 1; return lastP
                }()
            ratios.append(stepsPre / stepsRandom)
        }
        guard !ratios.isEmpty else {
            return unmeasured(
                "C13", "Liquid §4", statement, measure,
                "no text-to-image runs of both arms (pretrained, random) with held-out image losses and a common seed")
        }
        return judged(c, "C13", "Liquid §4", statement, measure, values: ratios, region: .below(1 - c.m.stepSaving)) {
            i in
            "step ratio \(values(ratios)); mean \(i.text())"
                + (never > 0 ? "; \(never) seed(s) never reached it (ratio at the last step)" : "")
        }
    }
}
