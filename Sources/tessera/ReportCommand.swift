import ArgumentParser
import Foundation
import TesseraCore

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports over finished runs.",
        subcommands: [ReportPage.self, ReportCompare.self],
        defaultSubcommand: ReportPage.self)
}

struct ReportPage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "page",
        abstract: "The study as a static HTML page: claims table, Figures 3–6, Table 1, samples (the default).",
        discussion: """
        Reads run directories (text-to-image, image-only, text LM), alignment probes (probe align), \
        forgetting probes (a directory with forgetting.jsonl from probe forget --json) and sample sets \
        (eval sample); a directory that is none of these is searched two levels deep, so \
        `tessera report runs/reproduce-cpu --out report` reads a whole reproduce.sh root. Writes \
        DIR/index.html (inline SVG plots, no scripts), DIR/samples.png and DIR/report.json (the claims), \
        and prints the claims table.
        """)

    @Argument(help: "Run directories, probe outputs, sample sets, or directories holding them.") var runs: [String]
    @Option(help: "Output directory (replaced when it holds an earlier report).") var out: String
    @Flag(help: "Replace --out even when it is not an earlier report.") var overwrite = false

    func run() throws {
        try guarded {
            guard !runs.isEmpty else { throw TesseraError.config("name at least one run directory") }
            let report = HTMLReport(study: try StudyRuns(paths: runs))
            try report.write(to: out, overwrite: overwrite)
            for c in report.claims {
                Console.out("\(c.id.padding(toLength: 4, withPad: " ", startingAt: 0)) \(c.verdict.text.padding(toLength: 14, withPad: " ", startingAt: 0))  \(c.statement)")
                if !c.measured.isEmpty { Console.out("      \(c.measured)") }
                if case .notMeasured(let why) = c.verdict { Console.out("      \(why)") }
            }
            Console.log("report → \((out as NSString).appendingPathComponent("index.html"))")
        }
    }
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
