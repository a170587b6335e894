import ArgumentParser
import Foundation
import TesseraCore

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a config; writes a run directory.",
        discussion: """
        The run directory (default runs/<config>-<UTC time>) receives config.json (resolved), \
        metrics.jsonl (one row per step: step, tokens, lr, loss, grad_norm, tokens_per_s, elapsed_s, \
        and val_loss/val_ppl when evaluated), train.log, checkpoints/step_N/ and summary.json, \
        which is written however the run ends. An existing directory is never overwritten \
        unless --overwrite is given. --resume continues from the newest complete checkpoint \
        with the run's own config.json, to the same losses bit for bit.
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
        var dirForSummary: String?
        var trainer: Trainer?
        do {
            let config: TrainConfig
            let dir: String
            if resume {
                guard let runDir else { throw TesseraError.config("--resume needs --run-dir DIR") }
                let saved = try RunDirectory.savedConfig(runDir)
                if options.config != nil {
                    let given = try options.load()
                    guard given.hash == saved.hash || allowConfigChange else {
                        throw TesseraError.runState("--config differs from \(runDir)/config.json (hash \(given.hash) vs \(saved.hash)); pass --allow-config-change to use it")
                    }
                    config = given
                } else {
                    var c = saved
                    if let t = options.threads { c.threads = t }
                    config = c
                }
                dir = runDir
            } else {
                config = try options.load()
                dir = runDir ?? RunDirectory.defaultPath(configFile: options.config ?? "run")
                try RunDirectory.checkCreatable(dir, overwrite: overwrite)
            }
            // Inputs are read and checked before anything is written: a bad corpus leaves no run behind.
            var pending: [String] = []
            let t = try Trainer(config: config, runDir: dir, resume: resume, allowConfigChange: allowConfigChange,
                                log: { pending.append($0) })
            if !resume { try RunDirectory.create(dir, config: config, overwrite: overwrite) }
            dirForSummary = dir
            trainer = t
            let logFile = try FileIO.LineWriter(path: (dir as NSString).appendingPathComponent("train.log"))
            let log: (String) -> Void = { line in
                Console.log(line)
                logFile.write(line)
            }
            t.log = log
            log("run directory: \(dir)")
            pending.forEach(log)
            if Console.isTerminal { t.progress = { Console.live($0) } }
            t.stopRequested = { Signals.received != 0 ? Signals.received : nil }
            let summary = try t.run()
            RunDirectory.writeSummary(dir, summary)
            log("done: step \(summary.step), loss \(summary.finalLoss.map { String(format: "%.4f", $0) } ?? "-")"
                + (summary.finalValLoss.map { String(format: ", val loss %.4f (ppl %.2f)", $0, Foundation.exp($0)) } ?? "")
                + String(format: ", %.1f s", summary.wallSeconds))
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
                let s = trainer?.summary(status: status, reason: "\(error)", code: code)
                    ?? TrainSummary(status: status, exitReason: "\(error)", exitCode: code)
                if FileIO.isDirectory(dir) { RunDirectory.writeSummary(dir, s) }
            }
            throw report(error)
        }
    }
}
