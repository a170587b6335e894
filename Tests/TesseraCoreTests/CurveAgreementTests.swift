import Foundation
import TesseraCore
import Testing

/// `report agree`, the bf16 numerics rule: a candidate's held-out loss within a relative gap of the
/// reference's at every evaluation — shown to hold, to fail, and to refuse runs that cannot be compared.
@Suite struct CurveAgreementTests {
    /// A run directory whose metrics.jsonl has training rows at every step and held-out rows at `evals`.
    func run(_ evals: [Int: Double], steps: Int = 6) -> String {
        let dir = tempDirectory("agree")
        var lines: [String] = []
        for step in 1...steps {
            var row = TrainingStepRow(
                step: step, tokens: 64 * step, lr: 1e-3, loss: 5, gradNorm: 1, tokensPerSecond: 100,
                elapsedSeconds: Double(step))
            if let v = evals[step] { row.heldOut = HeldOutLoss(mean: v) }
            lines.append(MetricsLog.line(row))
        }
        try! (lines.joined(separator: "\n") + "\n").write(
            toFile: dir + "/metrics.jsonl", atomically: true, encoding: .utf8)
        return dir
    }

    let reference = [2: 5.0, 4: 4.0, 6: 3.5]

    @Test func aGapWithinTheRuleHolds() throws {
        let a = try CurveAgreement(
            reference: run(reference), candidate: run([2: 5.02, 4: 3.97, 6: 3.5]), maxRelativeGap: 0.01)
        #expect(a.held)
        #expect(a.points.map(\.step) == [2, 4, 6])
        #expect(abs(a.worst.relativeGap - 0.0075) < 1e-12 && a.worst.step == 4)
    }

    @Test func oneEvaluationPastTheGapFailsTheRule() throws {
        // 1.2 % at the last evaluation only: the rule is "at every evaluation", not on average.
        let a = try CurveAgreement(
            reference: run(reference), candidate: run([2: 5.0, 4: 4.0, 6: 3.542]), maxRelativeGap: 0.01)
        #expect(!a.held)
        #expect(a.worst.step == 6)
        #expect(a.verdict.hasSuffix("not held"))
    }

    @Test func aNonFiniteCandidateNeverHolds() throws {
        let a = try CurveAgreement(
            reference: run(reference), candidate: run([2: 5.0, 4: .nan, 6: 3.5]), maxRelativeGap: 0.5)
        #expect(!a.held && a.worst.step == 4 && a.worst.relativeGap == .infinity)
    }

    @Test func runsThatEvaluatedAtOtherStepsAreADataError() throws {
        let candidate = run([2: 5.0, 4: 4.0])  // stopped before its last evaluation
        #expect(throws: TesseraError.self) {
            try CurveAgreement(reference: run(reference), candidate: candidate, maxRelativeGap: 0.01)
        }
        #expect(throws: TesseraError.self) {
            try CurveAgreement(reference: run(reference), candidate: run([:]), maxRelativeGap: 0.01)
        }
    }

    @Test func theCommandExitsSixWhenTheRuleFails() throws {
        let ref = run(reference)
        let ok = try runTessera(
            ["report", "agree", ref, run([2: 5.01, 4: 4.0, 6: 3.5]), "--max-relative-gap", "0.01", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let row = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as! [String: Any]
        #expect(row["held"] as? Bool == true && (row["points"] as? [Any])?.count == 3)
        let bad = try runTessera(["report", "agree", ref, run([2: 5.2, 4: 4.0, 6: 3.5]), "--max-relative-gap", "0.01"])
        #expect(bad.status == 6, "\(bad.stdout) \(bad.stderr)")
        #expect(bad.stdout.contains("not held"))
        let short = try runTessera(["report", "agree", ref, run([2: 5.0]), "--max-relative-gap", "0.01"])
        #expect(short.status == 3 && short.stderr.contains("metrics.jsonl"), "\(short.stderr)")
        let series = try runTessera(
            ["report", "agree", ref, ref, "--max-relative-gap", "0.01", "--series", "loss"])
        #expect(series.status == 2 && series.stderr.contains("--series"), "\(series.stderr)")
    }
}
