import ArgumentParser
import Foundation
import TesseraCore

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn text into token ids.",
        subcommands: [TokenizeEncode.self])
}

struct TokenizeEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Read lines on stdin, print each line's token ids space-separated, one output line per input line.",
        discussion: "Tokenizers: `bytes` (UTF-8 bytes as ids 0–255, what `train` uses on plain text).")

    @Option(help: "Tokenizer.") var tokenizer: String = "bytes"

    func run() throws {
        try guarded {
            guard tokenizer == "bytes" else {
                throw TesseraError.config("--tokenizer \(tokenizer): unknown tokenizer; available: bytes")
            }
            while let line = readLine(strippingNewline: true) {
                Console.out(line.utf8.map { String($0) }.joined(separator: " "))
            }
        }
    }
}
