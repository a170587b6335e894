import ArgumentParser
import Foundation
import TesseraCore
import TesseraMPI

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a config; writes a run directory.",
        discussion: """
            `task: lm` (the default) trains the language model, `task: vq` the MoVQ image tokenizer. \
            The run directory (default runs/<config>-<UTC time>) receives config.json (resolved), \
            metrics.jsonl (one row per step: step, tokens, lr, loss, grad_norm, tokens_per_s, elapsed_s, \
            and val_loss/val_ppl when evaluated), train.log, checkpoints/step_N/ and summary.json, \
            which is written however the run ends. An existing directory is never overwritten \
            unless --overwrite is given. --resume continues from the newest complete checkpoint \
            with the run's own config.json, to the same losses bit for bit. Under mpirun (task lm) \
            the ranks train data-parallel: each computes its share of every step's micro-batches, \
            gradients are summed with MPI_Allreduce, rank 0 alone writes the run directory, and the \
            machine's threads are split between the ranks on it.
            """)

    @OptionGroup var options: ConfigOptions

    @Option(help: "Run directory.")
    var runDir: String?

    @Flag(help: "Continue the run in --run-dir from its newest complete checkpoint.")
    var resume = false

    @Flag(help: "Replace an existing run directory.")
    var overwrite = false

    @Flag(help: "With --resume: accept a --config whose hash differs from the run's.")
    var allowConfigChange = false

    func run() throws {
        Signals.install()
        // Under mpirun: one communicator for the job; otherwise no MPI at all.
        let mpi = MPICommunicator.fromEnvironment()
        let comm: Communicator = mpi ?? SingleProcess()
        let root = comm.isRoot
        var dirForSummary: String?
        var summarise: ((String, String, Int32) -> TrainSummary)?
        // Held while this process trains in the run directory (rank 0, which writes it).
        var lock: DirectoryLock?
        do {
            var config: RunConfig
            var dir: String
            if resume {
                guard let runDir else { throw TesseraError.config("--resume needs --run-dir DIR") }
                let saved = try RunConfig.saved(runDir)
                if root { lock = try DirectoryLock(runDir) }
                if options.config != nil {
                    let given = try options.loadRun()
                    guard given.task == saved.task else {
                        throw TesseraError.runState(
                            "--config is a \(given.task) config but \(runDir) is a \(saved.task) run")
                    }
                    guard given.hash == saved.hash || allowConfigChange else {
                        throw TesseraError.runState(
                            "--config differs from \(runDir)/config.json (hash \(given.hash) vs \(saved.hash)); pass --allow-config-change to use it"
                        )
                    }
                    config = given
                } else {
                    guard options.overrides.isEmpty else {
                        throw TesseraError.config(
                            "--set needs --config with --resume (the run's own config.json is used otherwise)")
                    }
                    config = saved.with(threads: options.threads)
                }
                dir = runDir
            } else {
                config = try options.loadRun()
                dir = runDir ?? RunDirectory.defaultPath(configFile: options.config ?? "run")
                if root { try RunDirectory.checkCreatable(dir, overwrite: overwrite) }
            }
            if let mpi, mpi.size > 1 {
                guard case .lm(var c) = config else {
                    throw TesseraError.config(
                        "data-parallel training (mpirun) covers task lm; train the image tokenizer with one process")
                }
                dir = comm.broadcast(dir)  // the default name holds the time: rank 0's counts
                c.threads = mpi.threads(forConfigured: c.threads)
                config = .lm(c)
            }
            // Inputs are read and checked before anything is written: a bad corpus leaves no run behind.
            var pending: [String] = []
            let collect: (String) -> Void = { pending.append($0) }
            let start: () throws -> TrainSummary
            let setUp:
                (_ log: @escaping (String) -> Void, _ progress: ((String) -> Void)?, _ stop: @escaping () -> Int32?) ->
                    Void
            switch config {
            case .lm(let c):
                let t = try Trainer(
                    config: c, runDir: dir, resume: resume, allowConfigChange: allowConfigChange, comm: comm,
                    log: collect)
                summarise = { t.summary(status: $0, reason: $1, code: $2) }
                setUp = {
                    t.log = $0; t.progress = $1; t.stopRequested = $2
                }
                start = { try t.run() }
            case .vq(let c):
                let t = try VQTrainer(
                    config: c, runDir: dir, resume: resume, allowConfigChange: allowConfigChange, log: collect)
                summarise = { t.summary(status: $0, reason: $1, code: $2) }
                setUp = {
                    t.log = $0; t.progress = $1; t.stopRequested = $2
                }
                start = { try t.run() }
            }
            guard root else {
                // Other ranks compute and communicate; rank 0 writes and prints.
                setUp({ _ in }, nil, { Signals.received != 0 ? Signals.received : nil })
                _ = try start()
                comm.barrier()
                mpi?.finalize()
                return
            }
            if !resume {
                try RunDirectory.create(dir, configJSON: config.json, overwrite: overwrite)
                lock = try DirectoryLock(dir)
            }
            dirForSummary = dir
            Signals.prepareSummary(dir: dir)
            let logFile = try FileIO.LineWriter(path: (dir as NSString).appendingPathComponent("train.log"))
            let log: (String) -> Void = { line in
                Console.log(line)
                logFile.write(line)
            }
            log("run directory: \(dir)")
            pending.forEach(log)
            setUp(
                log, Console.isTerminal ? { Console.live($0) } : nil, { Signals.received != 0 ? Signals.received : nil }
            )
            let summary = try start()
            RunDirectory.writeSummary(dir, summary)
            var done = "done: step \(summary.step), loss \(summary.finalLoss.map { String(format: "%.4f", $0) } ?? "-")"
            if let v = summary.finalValLoss {
                done += String(format: ", val loss %.4f (ppl %.2f)", v, Foundation.exp(v))
            }
            if let p = summary.finalMetrics["val_psnr"] {
                done += String(
                    format: ", val PSNR %.2f dB, SSIM %.3f, codes used %.1f%%", p,
                    summary.finalMetrics["val_ssim"] ?? 0,
                    100 * (summary.finalMetrics["val_code_usage"] ?? 0))
            }
            log(done + String(format: ", %.1f s", summary.wallSeconds))
            withExtendedLifetime(lock) {}
            comm.barrier()
            mpi?.finalize()
        } catch {
            if let dir = dirForSummary {
                let e = error as? TesseraError
                let status: String
                switch e {
                case .divergence: status = "diverged"
                case .interrupted: status = "interrupted"
                default: status = "failed"
                }
                let code = e?.exitCode ?? 1
                let s =
                    summarise?(status, "\(error)", code)
                    ?? TrainSummary(status: status, exitReason: "\(error)", exitCode: code)
                if FileIO.isDirectory(dir) { RunDirectory.writeSummary(dir, s) }
            }
            guard let mpi, mpi.size > 1 else { mpi?.finalize(); throw report(error) }
            // A stop every rank agreed on ends normally; any other failure takes the whole job down
            // rather than leave the other ranks waiting in a collective.
            let code = (error as? TesseraError)?.exitCode ?? 1
            var interrupted = false
            if case .interrupted? = error as? TesseraError { interrupted = true }
            if root || !interrupted { Console.error("tessera: rank \(mpi.rank) of \(mpi.size): \(error)") }
            if interrupted {
                mpi.barrier()
                mpi.finalize()
                throw ExitCode(code)
            }
            mpi.abort(code: code)
        }
    }
}
