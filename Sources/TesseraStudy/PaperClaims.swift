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
}
