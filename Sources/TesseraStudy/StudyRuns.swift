import Foundation
import TesseraCore

/// Everything `tessera report` reads, found by content rather than by name: training runs
/// (text-to-image, image-only, text LM), contrastive alignment probes, forgetting probe outputs and
/// sample sets. A named directory that is none of these is searched (two levels deep) for them, so
/// a whole `scripts/reproduce.sh` root can be passed as one argument.
public struct StudyRuns {
    public enum Modality: String { case textToImage = "text-to-image", imageOnly = "image-only", text = "text" }

    public struct TrainingRun {
        public let dir: String
        public let modality: Modality
        /// "random", "pretrained", "aligned", "pretrained, norm-matched", "pretrained, text replay 0.25"
        /// or "<init>, trainable <preset>".
        public let arm: String
        public let seed: Int
        /// Peak learning rate (optim.lr).
        public let lr: Double
        public let pretrained: String?
        /// One row per logged step; evaluation steps carry the held-out figures.
        public let rows: [TrainingStepRow]
        public let completed: Bool

        public typealias Series = TrainingStepRow.Series
        public var steps: Int { rows.last?.step ?? 0 }
        /// Rows that measure `series`: every step, or the evaluation steps for a held-out series.
        func measuring(_ series: Series) -> [TrainingStepRow] {
            series.isHeldOut ? rows.filter { $0.heldOut != nil } : rows
        }
        /// (step, value) of `series`.
        public func curve(_ series: Series) -> [(x: Double, y: Double)] {
            measuring(series).compactMap { r in series.value(in: r).flatMap { $0.isFinite ? (Double(r.step), $0) : nil }
            }
        }
        /// Training targets by kind summed over the run's steps: caption text, image codes and
        /// replayed plain text (nil when its rows predate the counts).
        public var targetsSeen: (text: Int, image: Int, replay: Int)? {
            guard rows.contains(where: { $0.targetsImage != nil }) else { return nil }
            return rows.reduce((0, 0, 0)) {
                ($0.0 + ($1.targetsText ?? 0), $0.1 + ($1.targetsImage ?? 0), $0.2 + ($1.targetsReplay ?? 0))
            }
        }
        public func first(_ series: Series) -> Double? { rows.first.flatMap { series.value(in: $0) } }
        public func final(_ series: Series) -> Double? { measuring(series).last.flatMap { series.value(in: $0) } }
    }

    public struct Alignment {
        public let dir: String
        public var seed: Int { summary.seed }
        /// A control probe: trained on captions shuffled across images.
        public var control: Bool { summary.shuffledCaptions }
        public let rows: [AlignmentStepRow]
        public let summary: AlignmentSummary
        /// nearest.tsv: per image code, its nearest text tokens (with cosines).
        public let nearest: [(code: Int, tokens: [(String, Double)])]
    }

    public struct SampleSet {
        public let dir: String
        public let summary: SampleSetSummary
        /// (caption, image path relative to `dir`) of the first samples.
        public let entries: [(caption: String, file: String)]
        /// The run directory of the checkpoint that drew them.
        public var runDir: String { StudyRuns.runDir(ofCheckpoint: summary.checkpoint) }
    }

    public private(set) var textToImage: [TrainingRun] = []
    public private(set) var imageOnly: [TrainingRun] = []
    public private(set) var textLMs: [TrainingRun] = []
    public private(set) var alignments: [Alignment] = []
    /// One row per checkpoint probed by `tessera probe forget --json`, in file order.
    public private(set) var forgetting: [ForgettingRow] = []
    public private(set) var samples: [SampleSet] = []
    /// The rules written into a study root before its runs (study-rules.json), if any.
    public private(set) var rules: StudyRules?

    public init(paths: [String]) throws {
        for p in paths {
            guard FileIO.isDirectory(p) else {
                throw TesseraError.config(
                    "\(p): not a directory (name run directories, probe outputs or a reproduce.sh root)")
            }
            if try !add(p, depth: 0) {
                throw TesseraError.data(
                    file: p, "holds no training run, alignment probe, forgetting probe or sample set")
            }
        }
    }

    /// Adds what `dir` is, or what it holds; false when nothing was found.
    private mutating func add(_ dir: String, depth: Int) throws -> Bool {
        func has(_ f: String) -> Bool { FileIO.exists(dir.appendingPathComponent(f)) }
        func path(_ f: String) -> String { dir.appendingPathComponent(f) }
        if has("forgetting.jsonl") {
            forgetting += try MetricsLog.rows(path("forgetting.jsonl"), as: ForgettingRow.self)
            return true
        }
        if has("nearest.tsv") && has("metrics.jsonl") {
            alignments.append(
                Alignment(
                    dir: dir, rows: try MetricsLog.rows(path("metrics.jsonl"), as: AlignmentStepRow.self),
                    summary: try MetricsLog.read(path("summary.json"), as: AlignmentSummary.self),
                    nearest: try Self.nearest(path("nearest.tsv"))))
            return true
        }
        if has("samples.jsonl") && has("summary.json") {
            let entries = try MetricsLog.rows(path("samples.jsonl"), as: SampleRow.self).map { ($0.caption, $0.file) }
            samples.append(
                SampleSet(
                    dir: dir, summary: try MetricsLog.read(path("summary.json"), as: SampleSetSummary.self),
                    entries: entries))
            return true
        }
        if has("metrics.jsonl") && has("config.json") {
            let config = try Self.json(path("config.json"))
            if config["task"] as? String == "vq" { return true }  // the image tokenizer: nothing to plot here
            let rows = try MetricsLog.rows(path("metrics.jsonl"), as: TrainingStepRow.self)
            let modality: Modality =
                rows.contains { $0.lossText != nil }
                ? .textToImage
                : rows.contains { $0.lossImage != nil } ? .imageOnly : .text
            let initSection = config["init"] as? [String: Any]
            let from = (initSection?["from"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            var arm = from == nil ? "random" : "pretrained"
            if initSection?["aligned"] as? String != nil {
                arm = "aligned"
            } else if initSection?["match_norm"] as? Bool == true {
                arm += ", norm-matched"
            }
            if let f = (config["data"] as? [String: Any])?["text_replay"] as? Double, f > 0 {
                arm += String(format: ", text replay %g", f)
            }
            if let trainable = (config["optim"] as? [String: Any])?["trainable"] as? [String], !trainable.isEmpty {
                arm += ", trainable " + trainable.joined(separator: "+")
            }
            let summary = (try? Self.json(path("summary.json"))) ?? [:]
            let lr = (config["optim"] as? [String: Any])?["lr"] as? Double ?? 0
            let run = TrainingRun(
                dir: dir, modality: modality, arm: arm, seed: config["seed"] as? Int ?? 0, lr: lr, pretrained: from,
                rows: rows, completed: summary["status"] as? String == "completed")
            switch modality {
            case .textToImage: textToImage.append(run)
            case .imageOnly: imageOnly.append(run)
            case .text: textLMs.append(run)
            }
            return true
        }
        if has(StudyRules.fileName) && rules == nil {
            rules = try StudyRules.load(
                json: try FileIO.read(path(StudyRules.fileName)), file: path(StudyRules.fileName))
        }
        guard depth < 2 else { return false }
        let children = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        var found = false
        for c in children where !c.hasPrefix(".") && c != "checkpoints" && c != "report" {
            let child = path(c)
            if FileIO.isDirectory(child), try add(child, depth: depth + 1) { found = true }
        }
        return found
    }

    /// Training runs of one modality grouped by arm (pretrained, random, aligned, then the rest
    /// alphabetically), seeds ascending.
    public static func byArm(_ runs: [TrainingRun]) -> [(arm: String, runs: [TrainingRun])] {
        let groups = Dictionary(grouping: runs, by: \.arm)
        return groups.keys.sorted { (armRank($0), $0) < (armRank($1), $1) }.map {
            ($0, groups[$0]!.sorted { $0.seed < $1.seed })
        }
    }

    /// The paper's order: pretrained, random, aligned, then anything else.
    public static func armRank(_ arm: String) -> Int { ["pretrained": 0, "random": 1, "aligned": 2][arm] ?? 3 }

    /// The text-to-image run that `path` (its directory or one of its checkpoints) belongs to.
    public func textToImageRun(of path: String) -> TrainingRun? {
        let dir = Self.runDir(ofCheckpoint: path).standardizingPath
        return textToImage.first { $0.dir.standardizingPath == dir }
    }

    /// `RUN/checkpoints/step_N` → `RUN`; anything else unchanged.
    public static func runDir(ofCheckpoint path: String) -> String {
        let parent = path.deletingLastPathComponent
        return parent.lastPathComponent == "checkpoints" ? parent.deletingLastPathComponent : path
    }

    static func json(_ path: String) throws -> [String: Any] {
        guard let o = try JSONSerialization.jsonObject(with: try FileIO.read(path)) as? [String: Any] else {
            throw TesseraError.data(file: path, "is not a JSON object")
        }
        return o
    }

    static func nearest(_ path: String) throws -> [(code: Int, tokens: [(String, Double)])] {
        let lines = String(decoding: try FileIO.read(path), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: true)
        return lines.dropFirst().compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let code = Int(f.first ?? "") else { return nil }
            var tokens: [(String, Double)] = []
            var i = 1
            while i + 1 < f.count, let c = Double(f[i + 1]) { tokens.append((f[i], c)); i += 2 }
            return (code, tokens)
        }
    }
}
