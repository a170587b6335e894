import ArgumentParser
import Foundation
import TesseraCore

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports over finished runs.",
        subcommands: [ReportCompare.self])
}

struct ReportCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Text and image losses of text-to-image runs side by side (first step, end, held-out); with two runs, their difference.")

    @Argument(help: "Run directories.") var runs: [String]
    @Flag(help: "One JSON line instead of the table.") var json = false

    func run() throws {
        try guarded {
            guard !runs.isEmpty else { throw TesseraError.config("name at least one run directory") }
            let c = try RunComparison(runs: runs)
            Console.out(json ? MetricsLog.line(c.json) : c.table)
        }
    }
}
