import Foundation
import TesseraCore

/// C8–C10: the contrastive alignment probe and the aligned initialisation.
extension PaperClaims {
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
}
