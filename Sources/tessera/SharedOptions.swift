import ArgumentParser
import Foundation
import TesseraCore

/// --threads of every command that computes, with one default: this machine's cores.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Worker threads (default: this machine's cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard (1...SizeLimits.maxThreads).contains(threads) else {
            throw TesseraError.config("--threads must be 1…\(SizeLimits.maxThreads), got \(threads)")
        }
    }
}

/// --precision of the commands that run a trained model: fp32 (OpenBLAS), or bf16 products with
/// fp32 accumulation (oneDNN), refused on a CPU without bf16 instructions.
struct PrecisionOption: ParsableArguments {
    @Option(help: "Arithmetic of the products: fp32 or bf16 (bf16 operands, fp32 accumulation; needs avx512_bf16).")
    var precision: Precision = .fp32

    func validate() throws {
        if let why = precision.unsupported() { throw TesseraError.config("--precision bf16: \(why)") }
    }
}

extension Precision: ExpressibleByArgument {}
extension ConvolutionEngine: ExpressibleByArgument {}

/// How the next token is drawn: greedy at temperature 0, else softmax(logits / T) within the
/// top k and the top-p nucleus, from a seeded stream (`Sampler`). Shared by `eval generate` (text,
/// greedy by default) and `eval sample` (image codes, T = 1 by default).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0: greedy; default: greedy for text, 1 for image codes).") var temperature:
        Float?
    @Option(help: "Keep the k most likely tokens (0: all).") var topK: Int = 0
    @Option(help: "Keep the smallest set of tokens whose probability reaches p.") var topP: Float = 1
    @Option(help: "Seed of the sampling streams.") var seed: UInt64 = 0

    func validate() throws {
        guard (temperature ?? 0) >= 0, (temperature ?? 0).isFinite, topK >= 0, topP > 0, topP <= 1 else {
            throw TesseraError.config("--temperature ≥ 0, --top-k ≥ 0 and 0 < --top-p ≤ 1 are required")
        }
    }
}
