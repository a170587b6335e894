import Foundation

/// One `tessera train`, start to end, whatever the task: the trainer is built first (inputs read,
/// sizes checked: a bad corpus leaves no run directory behind), then the run directory is made
/// (or the resumed one locked), train.log opened, and the run driven by `RunLifecycle`, which
/// records summary.json however it ends. Under data parallelism only rank 0 writes.
public final class TrainingSession {
    public let config: RunConfig
    public let dir: String
    public let resume: Bool
    public let overwrite: Bool
    public let allowConfigChange: Bool
    public let comm: Communicator
    /// Lines for the console (train.log gets them too).
    public var log: (String) -> Void = { _ in }
    /// A live, overwritable line (a terminal), or nil.
    public var progress: ((String) -> Void)?
    public var stopRequested: () -> Int32? = { nil }
    /// Called with the run directory once it exists, before training starts (the CLI prepares its
    /// second-signal summary there).
    public var directoryReady: (String) -> Void = { _ in }

    /// Checks what can be checked before anything is read: a new run's directory must be creatable,
    /// a resumed one must not be in use (the lock is held from here to the end).
    public init(
        config: RunConfig, dir: String, resume: Bool, overwrite: Bool, allowConfigChange: Bool,
        comm: Communicator = SingleProcess()
    ) throws {
        self.config = config; self.dir = dir; self.resume = resume; self.overwrite = overwrite
        self.allowConfigChange = allowConfigChange; self.comm = comm
        if comm.isRoot {
            if resume {
                lock = try DirectoryLock(dir)
            } else {
                try RunDirectory.checkCreatable(dir, overwrite: overwrite)
            }
        }
    }

    /// Held while this process trains in the run directory (rank 0, which writes it).
    private var lock: DirectoryLock?

    public func run() throws -> TrainSummary {
        var pending: [String] = []
        let collect: (String) -> Void = { pending.append($0) }
        switch config {
        case .lm(let c):
            let t = try Trainer(
                config: c, runDir: dir, resume: resume, allowConfigChange: allowConfigChange, comm: comm, log: collect)
            return try drive(t, pending: { pending })
        case .vq(let c):
            let t = try VQTrainer(
                config: c, runDir: dir, resume: resume, allowConfigChange: allowConfigChange, log: collect)
            return try drive(t, pending: { pending })
        }
    }

    func drive<T: LifecycleTrainer & LoggingTrainer>(_ trainer: T, pending: () -> [String]) throws -> TrainSummary {
        guard comm.isRoot else {
            // Other ranks compute and communicate; rank 0 writes and prints.
            return try RunLifecycle(runDir: nil, stopRequested: stopRequested).run { trainer }
        }
        if !resume {
            try RunDirectory.create(dir, configJSON: config.json, overwrite: overwrite)
            lock = try DirectoryLock(dir)
        }
        directoryReady(dir)
        // From here on the lifecycle writes summary.json however the run ends.
        let lifecycle = RunLifecycle(runDir: dir, progress: progress, stopRequested: stopRequested)
        let console = log
        let summary = try lifecycle.run { () throws -> T in
            let file = try FileIO.LineWriter(path: dir.appendingPathComponent("train.log"))
            let log: (String) -> Void = {
                console($0); file.write($0)
            }
            lifecycle.log = log
            trainer.log = log
            log("run directory: \(dir)")
            pending().forEach(log)
            return trainer
        }
        var done = "done: step \(summary.step), loss \(summary.final.loss.map { String(format: "%.4f", $0) } ?? "-")"
        if let v = summary.final.valLoss { done += String(format: ", val loss %.4f (ppl %.2f)", v, Foundation.exp(v)) }
        if let r = summary.final.reconstruction {
            done += String(
                format: ", val PSNR %.2f dB, SSIM %.3f, codes used %.1f%%", r.psnr, r.ssim, 100 * r.codeUsage)
        }
        lifecycle.log(done + String(format: ", %.1f s", summary.wallSeconds))
        return summary
    }
}

/// A trainer whose own messages (initialisation, restarts, resumes) go to a settable log.
public protocol LoggingTrainer: AnyObject {
    var log: (String) -> Void { get set }
}

extension Trainer: LoggingTrainer {}
extension VQTrainer: LoggingTrainer {}
