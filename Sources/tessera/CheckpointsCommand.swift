import ArgumentParser
import Foundation
import TesseraCore

struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a run's checkpoints; with --verify, load every complete one.",
        discussion: """
        Complete checkpoints (with the COMPLETE marker) are listed newest first; incomplete ones \
        (a write a crash interrupted) are listed as ignored. --verify reads weights, optimizer state \
        and state.json of each complete checkpoint and exits 3 if any fails to load.
        """)

    @Argument(help: "Run directory.") var runDir: String
    @Flag(help: "Load every complete checkpoint fully.") var verify = false

    func run() throws {
        try guarded {
            guard FileIO.isDirectory(runDir) else { throw TesseraError.data(file: runDir, "no such run directory") }
            let complete = Checkpoint.list(runDir: runDir)
            var broken: [String] = []
            var model: Transformer?
            var adam: AdamW?
            if verify, !complete.isEmpty {
                let config = try RunDirectory.savedConfig(runDir)
                let m = Transformer(config: config.model, batch: 1, seqLen: config.data.seqLen, pool: Parallel(threads: 1))
                model = m
                adam = AdamW(store: m.params, config: config.optim.adam)
            }
            for c in complete {
                var status = "complete"
                if let model, let adam {
                    do {
                        let s = try Checkpoint.loadState(c.path)
                        guard s.step == c.step else { throw TesseraError.data(file: c.path, "state.json says step \(s.step)") }
                        try Checkpoint.loadWeights(c.path, into: model)
                        try Checkpoint.loadOptimizer(c.path, into: adam)
                        status = "verified"
                    } catch {
                        status = "BROKEN: \(error)"
                        broken.append(c.path)
                    }
                }
                Console.out("\(c.step)\t\(status)\t\(c.path)")
            }
            for p in Checkpoint.incomplete(runDir: runDir) { Console.out("-\tincomplete (ignored)\t\(p)") }
            if let first = broken.first {
                throw TesseraError.data(file: first, "\(broken.count) complete checkpoint(s) fail to load")
            }
        }
    }
}
