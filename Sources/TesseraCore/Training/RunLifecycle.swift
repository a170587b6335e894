import Foundation

/// What a trainer supplies to `RunLifecycle`: one optimizer step at a time, held-out evaluation,
/// checkpoints and its summary. The loop around them is the driver's.
public protocol LifecycleTrainer: AnyObject {
    associatedtype Row: Encodable
    /// Optimizer steps done (a resumed run starts past 0) and to do in all.
    var step: Int { get }
    var totalSteps: Int { get }
    /// Wall seconds of the run so far, and of the part before this process resumed it.
    var elapsed: Double { get }
    var elapsedBefore: Double { get }
    var cadence: RunLifecycle.Cadence { get }
    /// Whether this process writes metrics (rank 0 of a data-parallel job).
    var writesMetrics: Bool { get }
    /// The stop signal every process agrees on (a data-parallel job stops at the same step on all
    /// ranks, whichever received it), given this process's own.
    func agreedStop(_ local: Int32?) -> Int32?
    /// What the run is, for the first lines of its log.
    var preamble: [String] { get }
    /// One optimizer step: its metrics row and progress text ("step 12/200  loss …").
    func advance() throws -> (row: Row, text: String)
    /// Held-out evaluation into `row`; the text it adds to the progress line (nil: not evaluated here).
    func evaluate(into row: inout Row) throws -> String?
    /// Writes a checkpoint (and prunes old ones); its path, or nil when this process writes none.
    @discardableResult func saveCheckpoint() throws -> String?
    func summary(status: String, reason: String, code: Int32) -> TrainSummary
}

extension LifecycleTrainer {
    public var writesMetrics: Bool { true }
    public var preamble: [String] { [] }
    public func agreedStop(_ local: Int32?) -> Int32? { local }
}

/// The life of a training run, the same for every trainer: before each step the stop check
/// (a signal saves a checkpoint and ends the run as interrupted); after it the metrics row,
/// evaluation and checkpoints on their cadence and at the last step, and a progress line with
/// the ETA. `summary.json` is written on every ending that leaves the process alive: completed,
/// diverged, interrupted, failed — including a trainer that fails while it is being built.
public final class RunLifecycle {
    /// Every how many steps to evaluate, checkpoint and log (0: only at the end).
    public struct Cadence {
        public var evalEvery, checkpointEvery, logEvery: Int
        /// Whether the last step saves a checkpoint (a signal always does).
        public var checkpointAtEnd: Bool
        public init(evalEvery: Int, checkpointEvery: Int, logEvery: Int, checkpointAtEnd: Bool = true) {
            self.evalEvery = evalEvery; self.checkpointEvery = checkpointEvery; self.logEvery = logEvery
            self.checkpointAtEnd = checkpointAtEnd
        }
        func due(_ every: Int, _ step: Int) -> Bool { every > 0 && step % every == 0 }
    }

    /// The run directory (metrics.jsonl, summary.json); nil for a process that writes neither.
    public let runDir: String?
    public var log: (String) -> Void
    /// A live line that may be overwritten (a terminal); nil logs the cadence's lines instead.
    public var progress: ((String) -> Void)?
    public var stopRequested: () -> Int32?
    /// False for a trainer that writes a summary.json of its own (the alignment probe's).
    public let writesSummary: Bool

    public init(
        runDir: String?, log: @escaping (String) -> Void = { _ in }, progress: ((String) -> Void)? = nil,
        stopRequested: @escaping () -> Int32? = { nil }, writesSummary: Bool = true
    ) {
        self.runDir = runDir; self.log = log; self.progress = progress; self.stopRequested = stopRequested
        self.writesSummary = writesSummary
    }

    /// Builds the trainer and runs it to its last step; summary.json records how it ended.
    public func run<T: LifecycleTrainer>(_ build: () throws -> T) throws -> TrainSummary {
        var trainer: T?
        do {
            let t = try build()
            trainer = t
            let summary = try loop(t)
            write(summary)
            return summary
        } catch {
            let (status, code) = Self.ending(of: error)
            // A TesseraError's one line; a Foundation error as its cause (errno name), not its raw dump.
            let reason = error is TesseraError ? "\(error)" : FileIO.describe(error)
            write(
                trainer?.summary(status: status, reason: reason, code: code)
                    ?? TrainSummary(status: status, exitReason: reason, exitCode: code))
            throw error
        }
    }

    /// The status and exit code summary.json records for a run that ended with `error`.
    public static func ending(of error: Error) -> (status: String, code: Int32) {
        let e = error as? TesseraError
        switch e {
        case .divergence: return ("diverged", e!.exitCode)
        case .interrupted: return ("interrupted", e!.exitCode)
        default: return ("failed", e?.exitCode ?? 1)
        }
    }

    func write(_ summary: TrainSummary) {
        if writesSummary, let runDir, FileIO.isDirectory(runDir) { RunDirectory.writeSummary(runDir, summary) }
    }

    func loop<T: LifecycleTrainer>(_ t: T) throws -> TrainSummary {
        let metrics =
            t.writesMetrics
            ? try runDir.map { try FileIO.LineWriter(path: $0.appendingPathComponent("metrics.jsonl")) } : nil
        let firstStep = t.step, c = t.cadence
        t.preamble.forEach(log)
        while t.step < t.totalSteps {
            if let signal = t.agreedStop(stopRequested()), signal != 0 {
                if let path = try t.saveCheckpoint() {
                    log("stopped by signal \(signal) at step \(t.step); checkpoint \(path)")
                }
                throw TesseraError.interrupted(signal: signal)
            }
            var (row, text) = try t.advance()
            let isLast = t.step == t.totalSteps
            let evalText = c.due(c.evalEvery, t.step) || isLast ? try t.evaluate(into: &row) : nil
            metrics?.write(MetricsLog.line(row))
            let remaining =
                Double(t.totalSteps - t.step) * (t.elapsed - t.elapsedBefore) / Double(max(1, t.step - firstStep))
            let line = text + (evalText ?? "") + "  eta " + Self.duration(remaining)
            if let progress, evalText == nil {
                progress(line)
            } else if c.due(c.logEvery, t.step) || isLast || evalText != nil {
                log(line)
            }
            if c.due(c.checkpointEvery, t.step) || (isLast && c.checkpointAtEnd) { try t.saveCheckpoint() }
        }
        return t.summary(status: "completed", reason: "reached optim.steps = \(t.totalSteps)", code: 0)
    }

    /// "4m05s", "1h02m".
    public static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600
            ? String(format: "%dh%02dm", t / 3600, t % 3600 / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
