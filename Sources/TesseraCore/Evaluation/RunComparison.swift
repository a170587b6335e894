import Foundation

/// The figures that compare text-to-image runs (paper Fig. 1): text and image losses at the first
/// step (the initial weights on the first batch), at the end (EMA of the training loss), and on the
/// held-out set at the first and last evaluation. Read from a run's metrics.jsonl and config.json.
public struct RunComparison {
    public struct Run {
        public let dir: String
        /// init.from (and init.aligned, and the trainable preset when not all), or "random".
        public let initialisation: String
        public let steps: Int
        public let figures: [(name: String, value: Double?)]
    }

    /// Which row of a run a figure is read from.
    enum Which: String { case first, last, firstVal, lastVal }

    /// Row names, in print order, with the metrics row and series they come from.
    static let rows: [(name: String, which: Which, series: TrainingStepRow.Series)] = [
        ("train loss_text @ step 1", .first, .lossText),
        ("train loss_image @ step 1", .first, .lossImage),
        ("train loss_text final (EMA)", .last, .lossTextEMA),
        ("train loss_image final (EMA)", .last, .lossImageEMA),
        ("val loss_text first eval", .firstVal, .valLossText),
        ("val loss_image first eval", .firstVal, .valLossImage),
        ("val loss_text final", .lastVal, .valLossText),
        ("val loss_image final", .lastVal, .valLossImage),
        ("val loss final", .lastVal, .valLoss),
    ]

    public let runs: [Run]

    public init(runs dirs: [String]) throws {
        runs = try dirs.map { dir in
            let metrics = try MetricsLog.rows(dir.appendingPathComponent("metrics.jsonl"), as: TrainingStepRow.self)
            guard let first = metrics.first, let last = metrics.last, first.lossImage != nil else {
                throw TesseraError.data(
                    file: dir + "/metrics.jsonl",
                    "has no text-to-image rows (loss_image); is this a `tokenize pairs` run?")
            }
            let evals = metrics.filter { $0.heldOut != nil }
            let config =
                try JSONSerialization.jsonObject(with: try FileIO.read(dir.appendingPathComponent("config.json")))
                as? [String: Any]
            let initSection = config?["init"] as? [String: Any]
            var initFrom = (initSection?["from"] as? String) ?? "random"
            if let aligned = initSection?["aligned"] as? String { initFrom += " + aligned rows \(aligned)" }
            if let trainable = (config?["optim"] as? [String: Any])?["trainable"] as? [String] {
                initFrom += ", trainable \(trainable.joined(separator: ","))"
            }
            func pick(_ w: Which) -> TrainingStepRow? {
                switch w {
                case .first: return first
                case .last: return last
                case .firstVal: return evals.first
                case .lastVal: return evals.last
                }
            }
            let figures = Self.rows.map { r in (r.name, pick(r.which).flatMap { r.series.value(in: $0) }) }
            return Run(dir: dir, initialisation: initFrom, steps: last.step, figures: figures)
        }
    }

    /// A fixed-width table; with two runs, a last column of first − second.
    public var table: String {
        var lines = [
            "runs: "
                + runs.enumerated().map {
                    "[\($0.offset + 1)] \($0.element.dir) (init \($0.element.initialisation), \($0.element.steps) steps)"
                }.joined(separator: "; ")
        ]
        var header = "metric".padding(toLength: 30, withPad: " ", startingAt: 0)
        for i in runs.indices { header += Self.right("[\(i + 1)]") }
        if runs.count == 2 { header += Self.right("[1]-[2]") }
        lines.append(header)
        for (k, r) in Self.rows.enumerated() {
            var line = r.name.padding(toLength: 30, withPad: " ", startingAt: 0)
            let values = runs.map { $0.figures[k].value }
            for v in values { line += v.map { String(format: "%12.4f", $0) } ?? Self.right("-") }
            if runs.count == 2, let a = values[0], let b = values[1] { line += String(format: "%+12.4f", a - b) }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    static func right(_ s: String, width: Int = 12) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    public var json: [String: Any] {
        [
            "runs": runs.map { run -> [String: Any] in
                var f: [String: Any] = ["dir": run.dir, "init": run.initialisation, "steps": run.steps]
                for (k, r) in Self.rows.enumerated() {
                    if let v = run.figures[k].value { f["\(r.which.rawValue).\(r.series.name)"] = v }
                }
                return f
            }
        ]
    }
}
