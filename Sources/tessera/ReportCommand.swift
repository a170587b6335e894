import ArgumentParser
import Foundation
import TesseraCore
import TesseraStudy

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reports over finished runs.",
        subcommands: [ReportPage.self, ReportRules.self, ReportCompare.self, ReportAgree.self],
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
    @Option(
        help:
            "Study rules (YAML or JSON, as configs/reproduce/study.yaml); default: the study-rules.json of the inputs, else built-in defaults."
    )
    var rules: String?
    @Flag(help: "Replace --out even when it is not an earlier report.") var overwrite = false

    func validate() throws {
        guard !runs.isEmpty else { throw TesseraError.config("name at least one run directory") }
    }

    func run() throws {
        let given = try rules.map { try ReportRules.read($0) }
        let report = HTMLReport(study: try StudyRuns(paths: runs), rules: given)
        try report.write(to: out, overwrite: overwrite)
        let width = max(5, report.claims.map(\.id.count).max() ?? 0)
        for c in report.claims {
            Console.out(
                "\(c.id.padding(toLength: width, withPad: " ", startingAt: 0)) \(c.verdict.text.padding(toLength: 16, withPad: " ", startingAt: 0))  \(c.statement)"
            )
            if !c.measured.isEmpty { Console.out("      \(c.measured)") }
            if !c.verdict.reason.isEmpty { Console.out("      \(c.verdict.reason)") }
        }
        Console.log("report → \(out.appendingPathComponent("index.html"))")
    }
}

struct ReportRules: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Fix a study's rules before its runs: check a rules file and write it as ROOT/study-rules.json.",
        discussion: """
            The margins, interval level, primary learning rate and untestable claims the report judges by \
            (configs/reproduce/study.yaml). An existing study-rules.json with other content is refused: \
            rules are written before the runs and not changed after them.
            """)

    @Argument(help: "Rules file (YAML or JSON).") var file: String
    @Option(help: "Study root directory (created if missing).") var root: String

    static func read(_ path: String) throws -> StudyRules {
        let tree = try ConfigFile.mapping(path)
        return try StudyRules.load(json: try JSONSerialization.data(withJSONObject: tree), file: path)
    }

    func run() throws {
        let rules = try Self.read(file)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(rules)
        let target = root.appendingPathComponent(StudyRules.fileName)
        if FileIO.exists(target) {
            let existing = try StudyRules.load(json: try FileIO.read(target), file: target)
            guard existing == rules else {
                throw TesseraError.data(
                    file: target,
                    "holds other rules than \(file); rules are fixed before the runs (remove it to start a new study)")
            }
            Console.log("rules unchanged: \(target)")
            return
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileIO.writeAtomically(target, data: data)
        Console.log("rules → \(target)")
    }
}

struct ReportCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract:
            "Text and image losses of text-to-image runs side by side (first step, end, held-out); with two runs, their difference."
    )

    @Argument(help: "Run directories.") var runs: [String]
    @Flag(help: "One JSON line instead of the table.") var json = false

    func validate() throws {
        guard !runs.isEmpty else { throw TesseraError.config("name at least one run directory") }
    }

    func run() throws {
        let c = try RunComparison(runs: runs)
        Console.out(json ? MetricsLog.line(c.json) : c.table)
    }
}

struct ReportAgree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agree",
        abstract: "Whether a run's held-out loss stays within a relative gap of a reference run's at every evaluation.",
        discussion: """
            The bf16 numerics rule (scripts/bench/bf16-numerics.sh): `tessera report agree FP32_RUN BF16_RUN \
            --max-relative-gap 0.01`. Prints each evaluation and the verdict; exits 6 when the rule does not \
            hold, 3 when the runs evaluated at different steps or not at all.
            """)

    @Argument(help: "The reference run directory (fp32).") var reference: String
    @Argument(help: "The run judged against it (bf16).") var candidate: String
    @Option(help: "Allowed |candidate − reference| / reference at every evaluation.") var maxRelativeGap: Double
    @Option(help: "Held-out series: val_loss, val_loss_text or val_loss_image.") var series = "val_loss"
    @Flag(help: "One JSON line instead of the table.") var json = false

    func validate() throws {
        guard maxRelativeGap.isFinite, maxRelativeGap >= 0, maxRelativeGap < 1 else {
            throw TesseraError.config("--max-relative-gap must be in [0, 1), not \(maxRelativeGap)")
        }
        guard heldOutSeries != nil else {
            let names = TrainingStepRow.Series.allCases.filter(\.isHeldOut).map(\.name)
            throw TesseraError.config("--series: \"\(series)\" is not one of \(names.joined(separator: ", "))")
        }
    }

    var heldOutSeries: TrainingStepRow.Series? {
        TrainingStepRow.Series.allCases.first { $0.isHeldOut && $0.name == series }
    }

    func run() throws {
        let a = try CurveAgreement(
            reference: reference, candidate: candidate, series: heldOutSeries!, maxRelativeGap: maxRelativeGap)
        Console.out(json ? MetricsLog.line(a) : a.table)
        if !a.held { throw ExitCode(6) }
    }
}
