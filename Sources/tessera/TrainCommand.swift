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
        do {
            // Under mpirun the machine's threads are split between the ranks on it: a config's or
            // --threads' count is the machine's, and the run's config.json records a rank's. The
            // split comes before the resume check, which then compares a rank's count with the
            // saved one (after it, a resume would halve the saved count again, unchecked).
            let ranks = mpi?.size ?? 1
            func perRank(_ n: Int) -> Int { mpi?.threads(forConfigured: n) ?? n }
            var config: RunConfig
            var dir: String
            if resume {
                guard let runDir else { throw TesseraError.config("--resume needs --run-dir DIR") }
                guard options.config != nil || options.overrides.isEmpty else {
                    throw TesseraError.config(
                        "--set needs --config with --resume (the run's own config.json is used otherwise)")
                }
                let given = try options.config == nil ? nil : options.loadRun()
                config = try RunConfig.forResume(
                    runDir, given: given.map { $0.with(threads: perRank($0.threads)) },
                    threads: options.threads.map(perRank), allowChange: allowConfigChange)
                dir = runDir
            } else {
                config = try options.loadRun()
                config = config.with(threads: perRank(config.threads))
                dir = runDir ?? RunDirectory.defaultPath(configFile: options.config ?? "run")
            }
            if ranks > 1 {
                guard case .lm = config else {
                    throw TesseraError.config(
                        "data-parallel training (mpirun) covers task lm; train the image tokenizer with one process")
                }
                dir = comm.broadcast(dir)  // the default name holds the time: rank 0's counts
            }
            let session = try TrainingSession(
                config: config, dir: dir, resume: resume, overwrite: overwrite,
                allowConfigChange: allowConfigChange, comm: comm)
            session.log = { Console.log($0) }
            session.progress = Console.isTerminal ? { Console.live($0) } : nil
            session.stopRequested = { Signals.received != 0 ? Signals.received : nil }
            session.directoryReady = { Signals.prepareSummary(dir: $0) }
            _ = try session.run()
            comm.barrier()
            mpi?.finalize()
        } catch {
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
