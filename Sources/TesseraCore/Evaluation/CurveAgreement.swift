import Foundation

/// Whether a candidate run's held-out loss follows a reference run's, evaluation by evaluation:
/// held when, at every step both runs evaluated, |candidate − reference| / reference ≤ the allowed
/// relative gap. The bf16 numerics rule is this with fp32 as the reference, bf16 as the candidate
/// and 1 %: bf16 keeps 8 significant bits (relative rounding 2⁻⁹ ≈ 0.2 % per product operand), so
/// a mixed-precision run that drifts further than 1 % from fp32 in held-out loss has lost more than
/// rounding. The rule is fixed before the runs; a run that evaluated at other steps, or not at all,
/// is a data error rather than a verdict, and a non-finite candidate loss never holds.
public struct CurveAgreement: Sendable, Encodable {
    public struct Point: Codable, Sendable, Equatable {
        public let step: Int
        public let reference: Double
        public let candidate: Double
        /// |candidate − reference| / |reference|; +∞ when the candidate is not finite.
        public let relativeGap: Double

        enum CodingKeys: String, CodingKey {
            case step, reference, candidate
            case relativeGap = "relative_gap"
        }
    }

    public let series: TrainingStepRow.Series
    public let maxRelativeGap: Double
    public let points: [Point]

    /// The evaluation with the largest relative gap.
    public var worst: Point { points.max { $0.relativeGap < $1.relativeGap }! }
    public var held: Bool { points.allSatisfy { $0.relativeGap <= maxRelativeGap } }

    /// Reads `metrics.jsonl` of both run directories; the last row of a step wins (a resumed run
    /// rewrites the steps after its checkpoint).
    public init(
        reference: String, candidate: String, series: TrainingStepRow.Series = .valLoss, maxRelativeGap: Double
    ) throws {
        guard series.isHeldOut else {
            throw TesseraError.config("series \(series.name) is a training loss; compare a held-out one")
        }
        guard maxRelativeGap.isFinite, maxRelativeGap >= 0 else {
            throw TesseraError.config("the allowed relative gap must be finite and ≥ 0, not \(maxRelativeGap)")
        }
        func evaluations(_ dir: String) throws -> [Int: Double] {
            let path = dir.appendingPathComponent("metrics.jsonl")
            var byStep: [Int: Double] = [:]
            for row in try MetricsLog.rows(path, as: TrainingStepRow.self) {
                if let v = series.value(in: row) { byStep[row.step] = v }
            }
            guard !byStep.isEmpty else { throw TesseraError.data(file: path, "has no \(series.name) evaluations") }
            return byStep
        }
        let a = try evaluations(reference), b = try evaluations(candidate)
        guard Set(a.keys) == Set(b.keys) else {
            throw TesseraError.data(
                file: candidate.appendingPathComponent("metrics.jsonl"),
                "evaluated \(series.name) at steps \(b.keys.sorted()), the reference at \(a.keys.sorted())")
        }
        points = try a.keys.sorted().map { step in
            let r = a[step]!, c = b[step]!
            guard r.isFinite, r != 0 else {
                throw TesseraError.data(
                    file: reference.appendingPathComponent("metrics.jsonl"),
                    "\(series.name) at step \(step) is \(r); a reference needs a finite, non-zero loss")
            }
            let gap = c.isFinite ? abs(c - r) / abs(r) : .infinity
            return Point(step: step, reference: r, candidate: c, relativeGap: gap)
        }
        self.series = series
        self.maxRelativeGap = maxRelativeGap
    }

    enum CodingKeys: String, CodingKey {
        case series, held, points
        case maxRelativeGap = "max_relative_gap"
    }

    /// The JSON line of `report agree --json`: the series' key, the rule, the verdict, every point.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(series.name, forKey: .series)
        try c.encode(maxRelativeGap, forKey: .maxRelativeGap)
        try c.encode(held, forKey: .held)
        try c.encode(points, forKey: .points)
    }

    /// One line per evaluation and the verdict.
    public var table: String {
        func f(_ x: Double, _ width: Int, _ digits: Int) -> String {
            String(format: "%\(width).\(digits)f", x)
        }
        var lines = ["  step  reference  candidate  rel. gap"]
        for p in points {
            lines.append(
                "\(String(format: "%6d", p.step)) \(f(p.reference, 10, 4)) \(f(p.candidate, 10, 4)) \(f(100 * p.relativeGap, 8, 3)) %"
            )
        }
        lines.append(verdict)
        return lines.joined(separator: "\n")
    }

    public var verdict: String {
        let w = worst
        return
            "\(series.name): largest relative gap \(String(format: "%.3f", 100 * w.relativeGap)) % at step \(w.step) over \(points.count) evaluations (rule: ≤ \(String(format: "%g", 100 * maxRelativeGap)) % at every one): \(held ? "held" : "not held")"
    }
}
