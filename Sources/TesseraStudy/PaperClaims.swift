import Foundation
import TesseraCore

/// The paper's findings (and one of the other side's, C13), each re-measured on the runs at hand
/// by a rule fixed before them (`StudyRules`): arms compared paired by seed, the mean per-seed
/// difference with its t interval, and a verdict of held / not held / inconclusive from where
/// that interval lies against the claim's region (`PairedStatistics`). A claim the data or LM
/// cannot test says so, with the measured numbers, instead of a verdict; one whose inputs are
/// missing says which.
public enum PaperClaims {
    public enum Verdict: Equatable {
        case held, notHeld, inconclusive, untestable(String), notMeasured(String)
        public var text: String {
            switch self {
            case .held: return "held"
            case .notHeld: return "not held"
            case .inconclusive: return "inconclusive"
            case .untestable: return "untestable here"
            case .notMeasured: return "not measured"
            }
        }
        public var reason: String {
            switch self {
            case .untestable(let r), .notMeasured(let r): return r
            default: return ""
            }
        }
        init(_ o: PairedStatistics.Outcome) {
            switch o {
            case .held: self = .held
            case .notHeld: self = .notHeld
            case .inconclusive: self = .inconclusive
            }
        }
    }

    public struct Claim {
        public let id: String
        /// Where the paper says it.
        public let source: String
        public let statement: String
        /// How it is measured and judged here.
        public let measure: String
        /// The numbers (empty when not measured).
        public let measured: String
        /// The interval the verdict rests on (for claims of parts, the first part's), and its region.
        public let interval: PairedStatistics.Interval?
        public let region: PairedStatistics.Region?
        public let verdict: Verdict
    }

    typealias Run = StudyRuns.TrainingRun

    /// Values of one arm per seed.
    static func bySeed(_ runs: [Run], _ value: (Run) -> Double?) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for r in runs { if let v = value(r), v.isFinite { out[r.seed] = v } }
        return out
    }

    /// Seeds present in both, ascending, with both values.
    static func paired(_ a: [Int: Double], _ b: [Int: Double]) -> [(seed: Int, a: Double, b: Double)] {
        Set(a.keys).intersection(b.keys).sorted().map { ($0, a[$0]!, b[$0]!) }
    }

    /// "1.229 (1.221, 1.230, 1.237)": mean, then the per-seed values.
    static func values(_ v: [Double], _ digits: Int = 3) -> String {
        let f = "%.\(digits)f"
        let mean = String(format: f, v.reduce(0, +) / Double(max(1, v.count)))
        return v.count == 1 ? mean : mean + " (" + v.map { String(format: f, $0) }.joined(separator: ", ") + ")"
    }

    static func fmt(_ v: Double, plus: Bool = true) -> String { String(format: plus ? "%+.3f" : "%.3f", v) }

    /// Everything a claim is judged with: the rules and the runs, split by learning rate.
    struct Context {
        let study: StudyRuns
        let rules: StudyRules
        /// Text-to-image runs at the learning rate being judged.
        let t2i: [String: [Run]]
        let uncond: [String: [Run]]
        let lr: Double?
        var level: Double { rules.confidence }
        var m: StudyRules.Margins { rules.margins }
    }

    public static func evaluate(_ s: StudyRuns, rules given: StudyRules? = nil) -> [Claim] {
        let rules = given ?? s.rules ?? StudyRules()
        let lrs = learningRates(s.textToImage)
        let primary = primaryLR(lrs: lrs, runs: s.textToImage, rules: rules)
        func context(_ lr: Double?) -> Context {
            let runs = s.textToImage.filter { lr == nil || same($0.lr, lr!) }
            return Context(
                study: s, rules: rules, t2i: Dictionary(grouping: runs, by: \.arm),
                uncond: Dictionary(grouping: s.imageOnly, by: \.arm), lr: lr)
        }
        let c = context(primary)
        var claims: [Claim] = [
            equivalence(
                c, "C1", "§3.1, Fig. 3",
                "A pre-trained LM reaches the same loss as a randomly initialised one on text-to-image training.",
                key: .valLoss, "pretrained", "random", in: c.t2i, what: "text-to-image"),
            equivalence(
                c, "C2", "§3.1, Fig. 4",
                "The loss on image tokens is the same for pre-trained and random initialisation.",
                key: .valLossImage, "pretrained", "random", in: c.t2i, what: "text-to-image"),
            textStart(c), textGap(c), sampleQuality(c),
            equivalence(
                c, "C6", "§3.1, Fig. 5",
                "Trained on image tokens only, a pre-trained LM reaches the same loss as a random one.",
                key: .valLoss, "pretrained", "random", in: c.uncond, what: "image-only"),
            freezing(c), freezingControl(c), plateau(c), nearestTokens(c), alignedInit(c),
        ]
        claims += forgetting(c)
        claims.append(stepsToLoss(c))
        claims += replay(c)
        // The learning-rate sensitivity pair: the main comparisons again at every other rate.
        for lr in lrs where primary != nil && !same(lr, primary!) {
            let o = context(lr)
            let tag = String(format: " (lr %g)", lr)
            for claim in [
                equivalence(
                    o, "C1", "§3.1, Fig. 3", "At this learning rate: the same total loss, pre-trained vs random.",
                    key: .valLoss, "pretrained", "random", in: o.t2i, what: "text-to-image"),
                equivalence(
                    o, "C2", "§3.1, Fig. 4", "At this learning rate: the same image-token loss, pre-trained vs random.",
                    key: .valLossImage, "pretrained", "random", in: o.t2i, what: "text-to-image"),
                textGap(o), stepsToLoss(o),
            ] {
                claims.append(
                    Claim(
                        id: claim.id + tag, source: claim.source, statement: claim.statement, measure: claim.measure,
                        measured: claim.measured, interval: claim.interval, region: claim.region, verdict: claim.verdict
                    ))
            }
        }
        return claims
    }

    static func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b)) }

    static func learningRates(_ runs: [Run]) -> [Double] {
        var out: [Double] = []
        for r in runs where !out.contains(where: { same($0, r.lr) }) { out.append(r.lr) }
        return out.sorted()
    }

    /// The rules' primary rate when runs have it; else the rate most runs use (the lower on a tie).
    static func primaryLR(lrs: [Double], runs: [Run], rules: StudyRules) -> Double? {
        if let p = rules.primaryLR, let hit = lrs.first(where: { same($0, p) }) { return hit }
        return lrs.max { a, b in
            let ca = runs.filter { same($0.lr, a) }.count, cb = runs.filter { same($0.lr, b) }.count
            return ca != cb ? ca < cb : a > b
        }
    }

    static func unmeasured(
        _ id: String, _ source: String, _ statement: String, _ measure: String, _ why: String
    ) -> Claim {
        Claim(
            id: id, source: source, statement: statement, measure: measure, measured: "", interval: nil, region: nil,
            verdict: .notMeasured(why))
    }

    /// A claim judged on per-seed `values` against `region`, unless the rules call it untestable.
    static func judged(
        _ c: Context, _ id: String, _ source: String, _ statement: String, _ measure: String,
        values: [Double], region: PairedStatistics.Region, measured: (PairedStatistics.Interval) -> String
    ) -> Claim {
        guard let i = PairedStatistics.interval(values, level: c.level) else {
            return unmeasured(id, source, statement, measure, "no paired values")
        }
        var verdict = Verdict(PairedStatistics.judge(i, region))
        if let why = c.rules.untestable[id] { verdict = .untestable(why) }
        return Claim(
            id: id, source: source, statement: statement, measure: measure, measured: measured(i), interval: i,
            region: region, verdict: verdict)
    }

    /// A claim of several parts, each judged on its own interval.
    static func judgedParts(
        _ c: Context, _ id: String, _ source: String, _ statement: String, _ measure: String,
        parts: [(
            name: String, values: [Double], region: PairedStatistics.Region, text: (PairedStatistics.Interval) -> String
        )],
        extra: String = ""
    ) -> Claim {
        var outcomes: [PairedStatistics.Outcome] = [], texts: [String] = []
        var first: (PairedStatistics.Interval, PairedStatistics.Region)?
        for p in parts {
            guard let i = PairedStatistics.interval(p.values, level: c.level) else { continue }
            let o = PairedStatistics.judge(i, p.region)
            outcomes.append(o)
            texts.append("\(p.name): \(p.text(i)) → \(o.rawValue)")
            if first == nil { first = (i, p.region) }
        }
        guard !outcomes.isEmpty else { return unmeasured(id, source, statement, measure, "no paired values") }
        var verdict = Verdict(PairedStatistics.all(outcomes))
        if let why = c.rules.untestable[id] { verdict = .untestable(why) }
        return Claim(
            id: id, source: source, statement: statement, measure: measure,
            measured: texts.joined(separator: "; ") + extra, interval: first?.0, region: first?.1, verdict: verdict)
    }

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

    // MARK: alignment

    static func plateau(_ c: Context) -> Claim {
        let statement =
            "The image–text contrastive loss plateaus quickly: bag-of-words image and text tokens are hard to align."
        let measure = String(
            format:
                "per probe seed: the share of the reducible loss left at the end, (loss − floor)/(loss₁ − floor₁) with the floor of each batch's duplicate captions (mean of the last 10 %% of steps), above %.2f; and held-out top-1 retrieval (by caption text) over chance, below %.1f",
            c.m.reducibleLeft, c.m.retrievalLift)
        let probes = c.study.alignments.filter { !$0.control }
        var left: [Int: Double] = [:], lift: [Int: Double] = [:], texts: [String] = []
        for p in probes {
            let rows = p.rows.map { (loss: $0.loss, floor: $0.lossFloor) }
            guard let first = rows.first, rows.count >= 2, first.loss > first.floor else { continue }
            let tail = rows.suffix(max(1, rows.count / 10))
            let loss = tail.map(\.loss).reduce(0, +) / Double(tail.count),
                floor = tail.map(\.floor).reduce(0, +) / Double(tail.count)
            left[p.seed] = (loss - floor) / (first.loss - first.floor)
            if let v = p.summary.last.heldOut, case let (r, ch) = (v.retrieval, v.retrievalChance), ch > 0 {
                lift[p.seed] = r / ch
                texts.append(
                    String(
                        format: "seed %d: loss %.3f → %.3f, floor %.3f → %.3f, retrieval %.1f %% (chance %.1f %%)",
                        p.seed, first.loss, loss, first.floor, floor, 100 * r, 100 * ch))
            }
        }
        let seeds = Set(left.keys).intersection(lift.keys).sorted()
        guard !seeds.isEmpty else {
            return unmeasured(
                "C8", "§3.2, Fig. 6", statement, measure,
                probes.isEmpty
                    ? "no alignment probe (tessera probe align) among the inputs"
                    : "the probe predates the loss floor and retrieval figures; run probe align again")
        }
        return judgedParts(
            c, "C8", "§3.2, Fig. 6", statement, measure,
            parts: [
                (
                    "reducible loss left", seeds.map { left[$0]! }, .above(c.m.reducibleLeft),
                    { $0.text(3, signed: false) }
                ),
                (
                    "retrieval ÷ chance", seeds.map { lift[$0]! }, .below(c.m.retrievalLift),
                    { $0.text(2, signed: false) }
                ),
            ], extra: "; " + texts.joined(separator: "; "))
    }

    static func nearestTokens(_ c: Context) -> Claim {
        let statement =
            "After alignment, image codes' nearest text tokens are predominantly noisy, semantically void ones."
        let measure = String(
            format:
                "share of image codes whose nearest text token (cosine) is a content word of the captions (stop words excluded), probe − shuffled-caption control probe paired by seed; void if the interval lies below +%.1f points",
            100 * c.m.contentWordExcess)
        func shares(_ control: Bool) -> [Int: Double] {
            var out: [Int: Double] = [:]
            for p in c.study.alignments where p.control == control {
                out[p.seed] = p.summary.nearestContentWordShare
            }
            return out
        }
        let pairs = paired(shares(false), shares(true))
        guard !pairs.isEmpty else {
            return unmeasured(
                "C9", "§3.2", statement, measure,
                c.study.alignments.isEmpty
                    ? "no alignment probe among the inputs"
                    : "needs a probe and its shuffled-caption control (probe align --shuffle-captions --stopwords) with a common seed"
            )
        }
        let chance = c.study.alignments.first?.summary.vocabularyContentWordShare
        return judged(
            c, "C9", "§3.2", statement, measure, values: pairs.map { $0.a - $0.b },
            region: .below(c.m.contentWordExcess)
        ) { i in
            "probe \(values(pairs.map { 100 * $0.a }, 1)) %; control \(values(pairs.map { 100 * $0.b }, 1)) %"
                + (chance.map { String(format: "; vocabulary share %.2f %%", 100 * $0) } ?? "")
                + "; Δ = "
                + PairedStatistics.Interval(
                    n: i.n, mean: 100 * i.mean, sd: 100 * i.sd, lower: 100 * i.lower, upper: 100 * i.upper,
                    level: i.level
                )
                .text(1, unit: " points")
        }
    }

    static func alignedInit(_ c: Context) -> Claim {
        let statement = "Initialising the image rows from the contrastive alignment brings no discernible improvement."
        // "No improvement" is one-sided (non-inferiority of the control): aligned rows that end
        // worse than the control are no gain either, so only a lower loss beyond the margin
        // refutes it. An equivalence test would also call "aligned is worse" a failure of the claim.
        let measure =
            "final held-out val_loss_image, aligned − norm-matched random rows (same scale, random directions) paired by seed; no gain if the interval lies above −\(fmt(c.m.loss, plus: false)) (aligned not lower by more than the margin)"
        let aligned = bySeed(c.t2i["aligned"] ?? [], { $0.final(.valLossImage) })
        let matched = paired(aligned, bySeed(c.t2i["pretrained, norm-matched"] ?? [], { $0.final(.valLossImage) }))
        guard !matched.isEmpty else {
            return unmeasured(
                "C10", "§3.2", statement, measure,
                "no text-to-image runs of the aligned and norm-matched arms with a common seed")
        }
        let plain = paired(aligned, bySeed(c.t2i["pretrained"] ?? [], { $0.final(.valLossImage) }))
        let vsPretrained = PairedStatistics.interval(plain.map { $0.a - $0.b }, level: c.level)
        return judged(
            c, "C10", "§3.2", statement, measure, values: matched.map { $0.a - $0.b }, region: .above(-c.m.loss)
        ) { i in
            "aligned \(values(matched.map(\.a))); norm-matched \(values(matched.map(\.b))); Δ = \(i.text())"
                + (vsPretrained.map { "; aligned − pretrained (scale and direction) \($0.text())" } ?? "")
        }
    }

    // MARK: forgetting

    static func forgetting(_ c: Context) -> [Claim] {
        let s = c.study
        let ppl = "Text ability deteriorates severely after a small amount of text-to-image training."
        let pplMeasure = String(
            format:
                "per seed: held-out text perplexity renormalised over text ids at the first probed checkpoint of the pretrained arm ÷ the LM's; severe if the interval lies above ×%.1f (full-vocabulary perplexity beside it)",
            c.m.perplexityFactor)
        let know = "World knowledge and in-context learning (few-shot translation) are lost."
        let knowMeasure = String(
            format:
                "per seed: cloze and few-shot EN→FR accuracy at the last probed checkpoint ÷ before; lost if both intervals lie below %.2f; each half needs a non-zero accuracy before",
            c.m.knowledgeKept)
        let (before, bySeed) = probed(c, arm: "pretrained")
        let seeds = bySeed.keys.sorted()
        guard let before, !seeds.isEmpty else {
            let why =
                "no forgetting probe output (probe forget --json → forgetting.jsonl) of the pre-trained LM and its text-to-image checkpoints"
            return [
                unmeasured("C11", "§3.1, Table 1", ppl, pplMeasure, why),
                unmeasured("C12", "§3.1, Table 1", know, knowMeasure, why),
            ]
        }
        let firsts = seeds.map { bySeed[$0]!.min { $0.step < $1.step }! },
            lasts = seeds.map { bySeed[$0]!.max { $0.step < $1.step }! }
        var claims: [Claim] = []
        let textOnly = before.perplexityTextOnly != nil
        func textPerplexity(_ r: ForgettingRow) -> Double? { textOnly ? r.perplexityTextOnly : r.perplexity }
        if let p0 = textPerplexity(before), p0 > 0 {
            let ratios = firsts.compactMap { textPerplexity($0.row).map { $0 / p0 } }
            let full0 = before.perplexity
            let fullRatios = firsts.compactMap { r in full0.flatMap { f in r.row.perplexity.map { $0 / f } } }
            if ratios.count == firsts.count {
                claims.append(
                    judged(
                        c, "C11", "§3.1, Table 1", ppl, pplMeasure, values: ratios, region: .above(c.m.perplexityFactor)
                    ) { i in
                        String(format: "text-id perplexity %.1f before → ×", p0) + i.text(2, signed: false)
                            + " after step(s) \(Set(firsts.map(\.step)).sorted().map(String.init).joined(separator: "/"))"
                            + (!textOnly ? " (full vocabulary: the probe predates the text-id figure)" : "")
                            + (fullRatios.count == firsts.count ? "; full vocabulary ×" + values(fullRatios, 1) : "")
                    })
            } else {
                claims.append(
                    unmeasured("C11", "§3.1, Table 1", ppl, pplMeasure, "a probed checkpoint has no perplexity"))
            }
        } else {
            claims.append(
                unmeasured("C11", "§3.1, Table 1", ppl, pplMeasure, "the forgetting probe ran without --corpus"))
        }
        claims.append(
            knowledge(
                c, "C12", "§3.1, Table 1", know, knowMeasure, before: before, after: lasts.map(\.row),
                region: .below(c.m.knowledgeKept), tag: "", nothing: "lost"))
        return claims
    }

    /// Cloze and few-shot translation accuracy kept (after ÷ before, per seed) judged against
    /// `region`, both halves; untestable when a half was not probed or answered nothing before.
    static func knowledge(
        _ c: Context, _ id: String, _ source: String, _ statement: String, _ measure: String,
        before: ForgettingRow, after rows: [ForgettingRow], region: PairedStatistics.Region, tag: String,
        nothing: String
    ) -> Claim {
        let halves: [(name: String, key: KeyPath<ForgettingRow, Double?>)] = [
            ("cloze", \.clozeAccuracy), ("translation", \.translationAccuracy),
        ]
        var parts: [(String, [Double], PairedStatistics.Region, (PairedStatistics.Interval) -> String)] = [],
            unmeasurable: [String] = [], numbers: [String] = []
        for h in halves {
            guard let a0 = before[keyPath: h.key] else { unmeasurable.append("\(h.name) was not probed"); continue }
            let after = rows.compactMap { $0[keyPath: h.key] }
            numbers.append(
                String(format: "%@ %.1f %% → ", h.name, 100 * a0) + values(after.map { 100 * $0 }, 1) + " %" + tag)
            if a0 == 0 {
                unmeasurable.append(
                    "\(h.name): the LM answers no item before training, so nothing can be \(nothing)")
                continue
            }
            parts.append((h.name, after.map { $0 / a0 }, region, { i in "kept ×" + i.text(2, signed: false) }))
        }
        if !unmeasurable.isEmpty {
            return Claim(
                id: id, source: source, statement: statement, measure: measure,
                measured: numbers.joined(separator: "; "), interval: nil, region: nil,
                verdict: .untestable(unmeasurable.joined(separator: "; ")))
        }
        return judgedParts(
            c, id, source, statement, measure, parts: parts, extra: "; " + numbers.joined(separator: "; "))
    }

    /// The forgetting-probe rows of one text-to-image arm (at the context's learning rate) by seed,
    /// and the row of the model they started from (a probed checkpoint of no text-to-image run).
    static func probed(
        _ c: Context, arm: String
    ) -> (before: ForgettingRow?, bySeed: [Int: [(step: Int, row: ForgettingRow)]]) {
        let s = c.study
        var before: ForgettingRow?
        var bySeed: [Int: [(step: Int, row: ForgettingRow)]] = [:]
        for r in s.forgetting {
            guard let run = s.textToImageRun(of: r.checkpoint) else { before = before ?? r; continue }
            guard run.arm == arm, c.lr.map({ same(run.lr, $0) }) ?? true else { continue }
            bySeed[run.seed, default: []].append((r.step ?? 0, r))
        }
        return (before, bySeed)
    }

    // MARK: beyond the paper: text replay

    /// Claims R1–R3, when a text-to-image arm replayed plain text (`data.text_replay`): does it keep
    /// what C11 and C12 find lost, and what does it cost on image tokens? Judged at the replay arm's
    /// last probed checkpoint with C11's and C12's thresholds, and R3 as C2.
    static func replay(_ c: Context) -> [Claim] {
        guard let arm = c.t2i.keys.filter({ $0.hasPrefix("pretrained, text replay") }).sorted().first else { return [] }
        let source = "beyond the paper (§3.1 leaves forgetting open)"
        let ppl = "Replaying plain text (\(arm)) keeps text perplexity below C11's severe deterioration."
        let pplMeasure = String(
            format:
                "per seed: held-out text-id perplexity at the replay arm's last probed checkpoint ÷ the LM's; kept if the interval lies below ×%.1f (C11's threshold); beside it, the pretrained arm at the same step",
            c.m.perplexityFactor)
        let know = "Replaying plain text keeps world knowledge and in-context learning (what C12 finds lost)."
        let knowMeasure = String(
            format:
                "per seed: cloze and few-shot EN→FR accuracy at the replay arm's last probed checkpoint ÷ before; kept if both intervals lie above %.2f (C12's threshold); each half needs a non-zero accuracy before",
            c.m.knowledgeKept)
        let cost = equivalence(
            c, "R3", source, "Replaying plain text costs nothing on image tokens.", key: .valLossImage, arm,
            "pretrained",
            in: c.t2i, what: "text-to-image")
        let (before, replayed) = probed(c, arm: arm), (_, plain) = probed(c, arm: "pretrained")
        let lasts = replayed.keys.sorted().map { replayed[$0]!.max { $0.step < $1.step }! }
        guard let before, !lasts.isEmpty else {
            let why = "no forgetting probe output of the pre-trained LM and the replay arm's checkpoints"
            return [
                unmeasured("R1", source, ppl, pplMeasure, why), unmeasured("R2", source, know, knowMeasure, why), cost,
            ]
        }
        // The pretrained arm's text-id perplexity at the replay arm's step, same seed.
        func plainAt(_ seed: Int, _ step: Int) -> Double? {
            plain[seed]?.first { $0.step == step }?.row.perplexityTextOnly
        }
        var claims: [Claim] = []
        if let p0 = before.perplexityTextOnly, p0 > 0,
            case let ratios = lasts.compactMap({ $0.row.perplexityTextOnly.map { $0 / p0 } }),
            ratios.count == lasts.count
        {
            let seeds = replayed.keys.sorted()
            let beside = zip(seeds, lasts).compactMap { s, l in plainAt(s, l.step).map { $0 / p0 } }
            claims.append(
                judged(c, "R1", source, ppl, pplMeasure, values: ratios, region: .below(c.m.perplexityFactor)) { i in
                    String(format: "text-id perplexity %.1f before → ×", p0) + i.text(2, signed: false)
                        + " with replay after step(s) \(Set(lasts.map(\.step)).sorted().map(String.init).joined(separator: "/"))"
                        + (beside.count == lasts.count ? "; without replay ×" + values(beside, 2) : "")
                })
        } else {
            claims.append(
                unmeasured("R1", source, ppl, pplMeasure, "the probe ran without --corpus or a checkpoint lacks it"))
        }
        claims.append(
            knowledge(
                c, "R2", source, know, knowMeasure, before: before, after: lasts.map(\.row),
                region: .above(c.m.knowledgeKept), tag: " with replay", nothing: "kept"))
        return claims + [cost]
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
