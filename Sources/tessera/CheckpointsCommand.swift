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
        guard FileIO.isDirectory(runDir) else { throw TesseraError.data(file: runDir, "no such run directory") }
        let complete = Checkpoint.list(runDir: runDir)
        var broken: [String] = []
        // Loads one checkpoint's weights (and EMA weights) and optimizer state into a model of the run's shape.
        var load: ((String) throws -> Void)?
        if verify, !complete.isEmpty {
            switch try RunConfig.saved(runDir) {
            case .lm(let config):
                let m = Transformer(
                    config: config.model, batch: 1, seqLen: config.data.seqLen, pool: Parallel(threads: 1))
                let adam = AdamW(store: m.params, config: config.optim.adam)
                load = {
                    try Checkpoint.loadWeights($0, into: m); try Checkpoint.loadOptimizer($0, into: adam)
                }
            case .vq(let config):
                let m = MoVQModel(config: config.model, maxBatch: 1, pool: Parallel(threads: 1))
                let adam = AdamW(store: m.params, config: config.optim.adam)
                load = { path in
                    func at(_ f: String) -> String { path.appendingPathComponent(f) }
                    if config.emaDecay > 0 {
                        try Checkpoint.loadParameters(file: at("ema.safetensors"), into: m.params)
                    }
                    try Checkpoint.loadParameters(file: at("model.safetensors"), into: m.params)
                    try Checkpoint.loadOptimizer(path, into: adam)
                }
            }
        }
        for c in complete {
            var status = "complete"
            if let load {
                do {
                    let s = try Checkpoint.loadState(c.path)
                    guard s.step == c.step else {
                        throw TesseraError.data(file: c.path, "state.json says step \(s.step)")
                    }
                    // The tensor files are checked as they are loaded; the rest here.
                    let loaded: Set<String> = ["model.safetensors", "optimizer.safetensors", "ema.safetensors"]
                    try Checkpoint.verifyChecksums(
                        c.path,
                        files: (try Checkpoint.recordedChecksums(c.path) ?? [:]).keys.filter { !loaded.contains($0) }
                            .sorted())
                    try load(c.path)
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
