import Foundation
import TesseraCore

/// C11, C12 and, beyond the paper, R1–R3: what the LM forgets, and what text replay keeps.
extension PaperClaims {
    // MARK: forgetting

    static func forgetting(_ c: Context) -> [Claim] {
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
}
