import Foundation

/// The paper's findings, each re-measured on the runs at hand with a rule fixed in advance:
///  - "the same" holds when |Δ| ≤ tolerance, with tolerance = max(2 × the larger seed range of the
///    two arms, 2 % of the reference value); with one seed per arm only the 2 % applies;
///  - "lower"/"worse" holds when the difference exceeds that tolerance in the stated direction;
///  - sample quality uses the binomial two-sample tolerance 2·√(p₁q₁/n₁ + p₂q₂/n₂).
/// A claim the runs cannot measure says why instead of a verdict.
public enum PaperClaims {
    public enum Verdict: Equatable {
        case held, notHeld, notMeasured(String)
        public var text: String {
            switch self {
            case .held: return "held"
            case .notHeld: return "did not hold"
            case .notMeasured: return "not measured"
            }
        }
    }

    public struct Claim {
        public let id: String
        /// Where the paper says it.
        public let source: String
        public let statement: String
        /// How it is measured here.
        public let measure: String
        /// The numbers (empty when not measured).
        public let measured: String
        public let verdict: Verdict
    }

    /// Per-seed values of one arm: mean, min, max.
    public struct Spread {
        public let values: [Double]
        public var mean: Double { values.reduce(0, +) / Double(values.count) }
        public var range: Double { (values.max() ?? 0) - (values.min() ?? 0) }
        public var text: String {
            values.count == 1 ? String(format: "%.3f (1 seed)", values[0])
                : String(format: "%.3f [%.3f–%.3f, %d seeds]", mean, values.min()!, values.max()!, values.count)
        }
        public init?(_ values: [Double?]) {
            let v = values.compactMap { $0 }
            guard !v.isEmpty, v.count == values.count else { return nil }
            self.values = v
        }
    }

    public static func tolerance(_ a: Spread, _ reference: Spread) -> Double {
        max(2 * max(a.range, reference.range), 0.02 * abs(reference.mean))
    }

    public static func evaluate(_ s: StudyRuns) -> [Claim] {
        let t2i = Dictionary(StudyRuns.byArm(s.textToImage).map { ($0.arm, $0.runs) }, uniquingKeysWith: { a, _ in a })
        let uncond = Dictionary(StudyRuns.byArm(s.imageOnly).map { ($0.arm, $0.runs) }, uniquingKeysWith: { a, _ in a })
        func spread(_ runs: [StudyRuns.TrainingRun]?, _ f: (StudyRuns.TrainingRun) -> Double?) -> Spread? {
            guard let runs, !runs.isEmpty else { return nil }
            return Spread(runs.map(f))
        }
        var claims: [Claim] = []

        // Figure 3 / 4: pretrained vs random on text-to-image.
        func same(_ id: String, _ source: String, _ statement: String, _ key: String, _ a: String, _ b: String,
                  in groups: [String: [StudyRuns.TrainingRun]], what: String) -> Claim {
            let measure = "final held-out \(key) (\(a) vs \(b)), mean over seeds; same if |Δ| ≤ tolerance"
            guard let x = spread(groups[a], { $0.final(key) }), let y = spread(groups[b], { $0.final(key) }) else {
                return unmeasured(id, source, statement, measure, "no \(what) runs of both arms (\(a), \(b)) among the inputs")
            }
            let d = x.mean - y.mean, tol = tolerance(x, y)
            return Claim(id: id, source: source, statement: statement, measure: measure,
                         measured: "\(a) \(x.text); \(b) \(y.text); Δ = \(fmt(d)) (tolerance \(fmt(tol, plus: false)))",
                         verdict: abs(d) <= tol ? .held : .notHeld)
        }
        claims.append(same("C1", "§3.1, Fig. 3", "A pre-trained LM reaches the same loss as a randomly initialised one on text-to-image training.",
                           "val_loss", "pretrained", "random", in: t2i, what: "text-to-image"))
        claims.append(same("C2", "§3.1, Fig. 4", "The loss on image tokens is the same for pre-trained and random initialisation.",
                           "val_loss_image", "pretrained", "random", in: t2i, what: "text-to-image"))

        // Figure 4, text tokens: lower at the start, the gap gone by the end.
        let startMeasure = "training loss_text at step 1 (the initial weights on the first batch), pretrained vs random; lower if Δ < −tolerance"
        let endMeasure = "final held-out val_loss_text gap vs the gap at step 1; gone if |Δ_end| ≤ max(tolerance, 10 % of |Δ_start|)"
        if let p0 = spread(t2i["pretrained"], { $0.first("loss_text") }), let r0 = spread(t2i["random"], { $0.first("loss_text") }),
           let p1 = spread(t2i["pretrained"], { $0.final("val_loss_text") }), let r1 = spread(t2i["random"], { $0.final("val_loss_text") }) {
            let d0 = p0.mean - r0.mean, tol0 = tolerance(p0, r0)
            claims.append(Claim(id: "C3", source: "§3.1, Fig. 4", statement: "On text tokens the pre-trained model starts significantly lower.",
                                measure: startMeasure, measured: "pretrained \(p0.text); random \(r0.text); Δ = \(fmt(d0)) (tolerance \(fmt(tol0, plus: false)))",
                                verdict: d0 < -tol0 ? .held : .notHeld))
            let d1 = p1.mean - r1.mean, threshold = max(tolerance(p1, r1), 0.1 * abs(d0))
            // The first evaluation at which the mean gap fell within the threshold.
            let gone = firstStep(s.textToImage, arms: ("pretrained", "random"), key: "val_loss_text") { abs($0) <= threshold }
            claims.append(Claim(id: "C4", source: "§3.1, Fig. 4", statement: "The pre-trained model's advantage on text tokens soon disappears during training.",
                                measure: endMeasure,
                                measured: "Δ_start = \(fmt(d0)); Δ_end = \(fmt(d1)) (pretrained \(p1.text), random \(r1.text)); threshold \(fmt(threshold, plus: false))"
                                    + (gone.map { "; within it from step \($0.step) of \($0.of)" } ?? ""),
                                verdict: abs(d1) <= threshold ? .held : .notHeld))
        } else {
            for (id, st, m) in [("C3", "On text tokens the pre-trained model starts significantly lower.", startMeasure),
                                ("C4", "The pre-trained model's advantage on text tokens soon disappears during training.", endMeasure)] {
                claims.append(unmeasured(id, "§3.1, Fig. 4", st, m, "no text-to-image runs of both arms (pretrained, random) among the inputs"))
            }
        }

        // Sample quality (shapes: captions recognised in the samples).
        claims.append(sampleQuality(s))

        // Figure 5: image-only.
        claims.append(same("C6", "§3.1, Fig. 5", "Trained on image tokens only, a pre-trained LM reaches the same loss as a random one.",
                           "val_loss", "pretrained", "random", in: uncond, what: "image-only"))
        claims.append(freezing(uncond))

        // §3.2: alignment.
        claims.append(plateau(s.alignments.first))
        claims.append(nearestTokens(s.alignments.first))
        claims.append(same("C10", "§3.2", "Initialising the image rows from the contrastive alignment brings no discernible improvement.",
                           "val_loss_image", "aligned", "pretrained", in: t2i, what: "text-to-image"))

        // Table 1: forgetting.
        claims += forgetting(s)
        return claims
    }

    static func unmeasured(_ id: String, _ source: String, _ statement: String, _ measure: String, _ why: String) -> Claim {
        Claim(id: id, source: source, statement: statement, measure: measure, measured: "", verdict: .notMeasured(why))
    }

    static func fmt(_ v: Double, plus: Bool = true) -> String { String(format: plus ? "%+.3f" : "%.3f", v) }

    /// The first step of the evaluation grid at which `holds(mean_a − mean_b)`, and the last step.
    static func firstStep(_ runs: [StudyRuns.TrainingRun], arms: (String, String), key: String,
                          _ holds: (Double) -> Bool) -> (step: Int, of: Int)? {
        func meanCurve(_ arm: String) -> [Int: Double] {
            let group = runs.filter { $0.arm == arm }
            var sums: [Int: (Double, Int)] = [:]
            for r in group { for p in r.curve(key) { let k = Int(p.x); sums[k, default: (0, 0)].0 += p.y; sums[k, default: (0, 0)].1 += 1 } }
            return sums.filter { $0.value.1 == group.count }.mapValues { $0.0 / Double($0.1) }
        }
        let a = meanCurve(arms.0), b = meanCurve(arms.1)
        let steps = Set(a.keys).intersection(b.keys).sorted()
        guard let last = steps.last, let hit = steps.first(where: { holds(a[$0]! - b[$0]!) }) else { return nil }
        return (hit, last)
    }

    static func sampleQuality(_ s: StudyRuns) -> Claim {
        let statement = "Pre-trained and random initialisation give the same image generation quality."
        let measure = "share of held-out captions whose sample is recognised as the caption (shapes: shape, colour, size, position); same if |Δ| ≤ 2·√(p₁q₁/n₁ + p₂q₂/n₂)"
        func find(_ arm: String) -> (p: Double, n: Int)? {
            for set in s.samples {
                guard let run = s.textToImageRun(of: set.runDir), run.arm == arm, let c = (set.summary["consistency"] as? [String: Any])?["all"] as? Double,
                      let n = set.summary["images"] as? Int, n > 0 else { continue }
                return (c, n)
            }
            return nil
        }
        guard let p = find("pretrained"), let r = find("random") else {
            return unmeasured("C5", "§1, Fig. 3", statement, measure, "no scored sample sets (eval sample on shapes captions) of both arms among the inputs")
        }
        let d = p.p - r.p, tol = 2 * (p.p * (1 - p.p) / Double(p.n) + r.p * (1 - r.p) / Double(r.n)).squareRoot()
        return Claim(id: "C5", source: "§1, Fig. 3", statement: statement, measure: measure,
                     measured: String(format: "pretrained %.1f %% of %d; random %.1f %% of %d; Δ = %+.1f points (tolerance %.1f)",
                                      100 * p.p, p.n, 100 * r.p, r.n, 100 * d, 100 * tol),
                     verdict: abs(d) <= tol ? .held : .notHeld)
    }

    static func freezing(_ uncond: [String: [StudyRuns.TrainingRun]]) -> Claim {
        let statement = "Freezing any part of the pre-trained model makes the image-only loss worse than full fine-tuning."
        let measure = "final held-out val_loss of each freezing preset vs the fully trainable pretrained run; worse if Δ > tolerance, for every preset"
        let presets = uncond.keys.filter { $0.hasPrefix("pretrained, trainable ") }.sorted()
        guard let full = Spread((uncond["pretrained"] ?? []).map { $0.final("val_loss") }), !presets.isEmpty else {
            return unmeasured("C7", "§3.1, Fig. 5", statement, measure, "no image-only pretrained run with and without freezing presets among the inputs")
        }
        var parts = ["full \(full.text)"], all = true
        for p in presets {
            guard let x = Spread(uncond[p]!.map { $0.final("val_loss") }) else { continue }
            let d = x.mean - full.mean, tol = tolerance(x, full)
            if d <= tol { all = false }
            parts.append("\(p.dropFirst("pretrained, trainable ".count)) \(fmt(x.mean, plus: false)) (Δ \(fmt(d)), tolerance \(fmt(tol, plus: false)))")
        }
        return Claim(id: "C7", source: "§3.1, Fig. 5", statement: statement, measure: measure,
                     measured: parts.joined(separator: "; "), verdict: all ? .held : .notHeld)
    }

    static func plateau(_ a: StudyRuns.Alignment?) -> Claim {
        let statement = "The image–text contrastive loss plateaus quickly: bag-of-words image and text tokens are hard to align."
        let measure = "share of the total drop of the training contrastive loss (batch of N pairs) reached in the first 20 % of steps; plateaued if ≥ 80 %"
        guard let a else {
            return unmeasured("C8", "§3.2, Fig. 6", statement, measure, "no alignment probe (tessera probe align) among the inputs")
        }
        // The training (batch) loss throughout: the held-out loss has no step-1 value to start from.
        let pts = a.rows.compactMap { r -> (Int, Double)? in
            guard let s = r["step"] as? Int, let v = r["loss"] as? Double else { return nil }
            return (s, v)
        }
        guard let first = pts.first?.1, let last = pts.last, pts.count >= 2 else {
            return unmeasured("C8", "§3.2, Fig. 6", statement, measure, "\(a.dir)/metrics.jsonl has fewer than two rows")
        }
        let cut = Double(last.0) * 0.2
        let early = pts.last { Double($0.0) <= cut } ?? pts[0]
        let drop = first - last.1, share = drop > 0 ? (first - early.1) / drop : 1
        let acc = a.summary["val_accuracy"] as? Double, chance = a.summary["val_batch"] as? Int
        return Claim(id: "C8", source: "§3.2, Fig. 6", statement: statement, measure: measure,
                     measured: String(format: "loss %.3f at step 1 → %.3f at step %d → %.3f at step %d: %.0f %% of the drop by 20 %% of training",
                                      first, early.1, early.0, last.1, last.0, 100 * share)
                        + (acc.map { a in String(format: "; held-out top-1 %.1f %%", 100 * a) + (chance.map { String(format: " (chance %.1f %%)", 100 / Double($0)) } ?? "") } ?? ""),
                     verdict: share >= 0.8 ? .held : .notHeld)
    }

    static func nearestTokens(_ a: StudyRuns.Alignment?) -> Claim {
        let statement = "After alignment, image codes' nearest text tokens are predominantly noisy, semantically void ones."
        let measure = "share of image codes whose nearest text token (cosine) is a word of the training captions; void if < 50 % (the share of caption words in the vocabulary is the chance level)"
        guard let a else {
            return unmeasured("C9", "§3.2", statement, measure, "no alignment probe (tessera probe align) among the inputs")
        }
        guard let share = a.summary["nearest_caption_word_share"] as? Double, let chance = a.summary["vocabulary_caption_word_share"] as? Double else {
            return unmeasured("C9", "§3.2", statement, measure, "\(a.dir)/summary.json predates the caption-word count; run probe align again")
        }
        let words = a.summary["caption_words"] as? Int
        return Claim(id: "C9", source: "§3.2", statement: statement, measure: measure,
                     measured: String(format: "%.1f %% of codes have a caption word as nearest token (chance %.2f %%, ×%.0f", 100 * share, 100 * chance, chance > 0 ? share / chance : 0)
                        + (words.map { ", \($0) caption words)" } ?? ")"),
                     verdict: share < 0.5 ? .held : .notHeld)
    }

    static func forgetting(_ s: StudyRuns) -> [Claim] {
        let ppl = "Text ability deteriorates severely after a small amount of text-to-image training."
        let pplMeasure = "held-out text perplexity of the pre-trained LM vs its text-to-image fine-tune at the first probed checkpoint; severe if ×2 or more"
        let know = "World knowledge and in-context learning (few-shot translation) are lost."
        let knowMeasure = "cloze accuracy and few-shot EN→FR accuracy before vs at the last probed checkpoint; lost if both fall to ≤ 25 % of before"
        // "Before": the probed checkpoint that is no text-to-image run; "after": the pretrained arm's.
        let rows = s.forgetting.map { r in (step: r["step"] as? Int ?? 0, arm: s.textToImageRun(of: r["checkpoint"] as? String ?? "")?.arm, row: r) }
        let before = rows.first { $0.arm == nil }
        let after = rows.filter { $0.arm == "pretrained" }.sorted { $0.step < $1.step }
        guard let before, let firstAfter = after.first, let lastAfter = after.last else {
            let why = "no forgetting probe output (probe forget --json → forgetting.jsonl) of the pre-trained LM and its text-to-image checkpoints"
            return [unmeasured("C11", "§3.1, Table 1", ppl, pplMeasure, why), unmeasured("C12", "§3.1, Table 1", know, knowMeasure, why)]
        }
        var claims: [Claim] = []
        if let p0 = before.row["val_ppl"] as? Double, let p1 = firstAfter.row["val_ppl"] as? Double {
            claims.append(Claim(id: "C11", source: "§3.1, Table 1", statement: ppl, measure: pplMeasure,
                                measured: String(format: "perplexity %.1f before → %.1f after %d steps (×%.1f)", p0, p1, firstAfter.step, p1 / p0),
                                verdict: p1 >= 2 * p0 ? .held : .notHeld))
        } else {
            claims.append(unmeasured("C11", "§3.1, Table 1", ppl, pplMeasure, "the forgetting probe ran without --corpus"))
        }
        let c0 = before.row["cloze_accuracy"] as? Double, c1 = lastAfter.row["cloze_accuracy"] as? Double
        let t0 = before.row["translation_accuracy"] as? Double, t1 = lastAfter.row["translation_accuracy"] as? Double
        if let c0, let c1, let t0, let t1 {
            let measured = String(format: "cloze %.1f %% → %.1f %%, translation %.1f %% → %.1f %% (step %d)", 100 * c0, 100 * c1, 100 * t0, 100 * t1, lastAfter.step)
            if c0 == 0 && t0 == 0 {
                claims.append(Claim(id: "C12", source: "§3.1, Table 1", statement: know, measure: knowMeasure, measured: measured,
                                    verdict: .notMeasured("the pre-trained LM answers none of the items before training: nothing to lose at this scale (use --preset smollm2)")))
            } else {
                let lost = (c0 == 0 || c1 <= 0.25 * c0) && (t0 == 0 || t1 <= 0.25 * t0)
                claims.append(Claim(id: "C12", source: "§3.1, Table 1", statement: know, measure: knowMeasure, measured: measured, verdict: lost ? .held : .notHeld))
            }
        } else {
            claims.append(unmeasured("C12", "§3.1, Table 1", know, knowMeasure, "the forgetting probe ran without --cloze and --dictionary"))
        }
        return claims
    }
}
