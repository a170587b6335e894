import ArgumentParser
import Foundation
import TesseraCore

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Probe what a trained model knows.",
        subcommands: [ProbeComplete.self])
}

struct ProbeComplete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete",
        abstract: "Greedy completion of prompts by a checkpoint (what the model says, as in the paper's Table 1).",
        discussion: "Each --prompt is completed separately; the completion goes to stdout, one per line.")

    @Option(help: "Checkpoint directory, or a run directory.") var checkpoint: String
    @Option(help: "Prompt text (repeatable).") var prompt: [String]
    @Option(help: "Tokens to generate per prompt.") var maxNewTokens: Int = 64
    @Option(help: "Worker threads.") var threads: Int = 2

    func run() throws {
        try guarded {
            guard maxNewTokens >= 1, threads >= 1 else { throw TesseraError.config("--max-new-tokens and --threads must be ≥ 1") }
            guard !prompt.isEmpty else { throw TesseraError.config("give at least one --prompt") }
            let loaded = try LoadedCheckpoint(path: checkpoint, batch: 1, threads: threads, seqLen: 1)
            let session = InferenceSession(config: loaded.config.model, params: loaded.model.params,
                                           maxLength: loaded.config.model.maxSeqLen, pool: loaded.model.pool)
            for p in prompt {
                var greedy = Sampler()
                let promptIDs = Array(loaded.encode(p).suffix(loaded.config.model.maxSeqLen - 1))
                let n = min(maxNewTokens, loaded.config.model.maxSeqLen - promptIDs.count)
                let ids = session.generate(prompt: promptIDs, maxNewTokens: n, sampler: &greedy)
                Console.out(loaded.decode(ids))
            }
        }
    }
}
