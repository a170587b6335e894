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
            let loaded = try LoadedCheckpoint(path: checkpoint, batch: 1, threads: threads)
            for p in prompt {
                let ids = Generation.greedy(model: loaded.model, prompt: loaded.encode(p), maxNewTokens: maxNewTokens)
                Console.out(loaded.decode(ids))
            }
        }
    }
}
