import Foundation
import TesseraCore
import Testing

/// A trainer of known steps for the lifecycle: losses 1/step, a held-out figure on evaluation
/// steps, checkpoints recorded; it diverges at `divergeAt` when set.
final class CountingTrainer: LifecycleTrainer {
    struct Row: Encodable { var step: Int; var loss: Double; var val: Double? }
    var step = 0
    let totalSteps: Int
    let cadence: RunLifecycle.Cadence
    var divergeAt: Int?
    var checkpoints: [Int] = []
    var evaluations: [Int] = []
    let elapsedBefore = 0.0
    var elapsed: Double { Double(step) }

    init(steps: Int, cadence: RunLifecycle.Cadence, divergeAt: Int? = nil) {
        totalSteps = steps; self.cadence = cadence; self.divergeAt = divergeAt
    }

    func advance() throws -> (row: Row, text: String) {
        step += 1
        if step == divergeAt { throw TesseraError.divergence("step \(step): loss nan") }
        return (Row(step: step, loss: 1 / Double(step)), "step \(step)")
    }

    func evaluate(into row: inout Row) throws -> String? {
        evaluations.append(step)
        row.val = 2 / Double(step)
        return "  val"
    }

    func saveCheckpoint() throws -> String? { checkpoints.append(step); return "ckpt-\(step)" }

    func summary(status: String, reason: String, code: Int32) -> TrainSummary {
        var s = TrainSummary(status: status, exitReason: reason, exitCode: code, step: step, wallSeconds: elapsed)
        s.final = .init(loss: step > 0 ? 1 / Double(step) : nil)
        return s
    }
}

@Suite struct RunLifecycleTests {
    static func summary(_ dir: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: try FileIO.read(dir + "/summary.json")) as? [String: Any])
    }

    @Test func cadenceAndLastStep() throws {
        let dir = tempDirectory("lifecycle")
        var lines: [String] = []
        let t = CountingTrainer(steps: 7, cadence: .init(evalEvery: 3, checkpointEvery: 5, logEvery: 2))
        let s = try RunLifecycle(runDir: dir, log: { lines.append($0) }).run { t }
        #expect(s.status == "completed" && s.step == 7)
        #expect(t.evaluations == [3, 6, 7] && t.checkpoints == [5, 7])
        let rows = try MetricsLog.rows(dir + "/metrics.jsonl", as: [String: Double?].self)
        #expect(rows.count == 7 && rows.filter { $0["val"] != nil }.count == 3)
        // Logged: every second step, evaluation steps and the last.
        #expect(
            lines.map { $0.split(separator: " ").prefix(2).joined(separator: " ") } == [
                "step 2", "step 3", "step 4", "step 6", "step 7",
            ])
        #expect(try Self.summary(dir)["status"] as? String == "completed")
        // checkpoint.final: false — the periodic checkpoints only, none at the last step.
        let noFinal = CountingTrainer(
            steps: 7, cadence: .init(evalEvery: 3, checkpointEvery: 5, logEvery: 2, checkpointAtEnd: false))
        _ = try RunLifecycle(runDir: tempDirectory("lifecycle")).run { noFinal }
        #expect(noFinal.checkpoints == [5])
    }

    /// summary.json records every ending: divergence, a signal (after a checkpoint), a trainer
    /// that fails while it is built.
    @Test func everyEndingLeavesASummary() throws {
        let diverged = tempDirectory("diverged")
        #expect(throws: TesseraError.self) {
            try RunLifecycle(runDir: diverged).run {
                CountingTrainer(steps: 10, cadence: .init(evalEvery: 0, checkpointEvery: 0, logEvery: 1), divergeAt: 4)
            }
        }
        let d = try Self.summary(diverged)
        #expect(d["status"] as? String == "diverged" && d["exit_code"] as? Int == 4 && d["step"] as? Int == 4)

        let stopped = tempDirectory("stopped")
        let t = CountingTrainer(steps: 10, cadence: .init(evalEvery: 0, checkpointEvery: 0, logEvery: 1))
        let life = RunLifecycle(runDir: stopped, stopRequested: { t.step == 3 ? SIGTERM : nil })
        #expect(throws: TesseraError.self) { try life.run { t } }
        #expect(t.checkpoints == [3])
        let i = try Self.summary(stopped)
        #expect(i["status"] as? String == "interrupted" && i["exit_code"] as? Int == 128 + Int(SIGTERM))

        let failed = tempDirectory("failed")
        #expect(throws: TesseraError.self) {
            try RunLifecycle(runDir: failed).run { () throws -> CountingTrainer in
                throw TesseraError.data(file: "corpus.txt", "is empty")
            }
        }
        let f = try Self.summary(failed)
        #expect(f["status"] as? String == "failed" && f["exit_code"] as? Int == 3)
    }
}
