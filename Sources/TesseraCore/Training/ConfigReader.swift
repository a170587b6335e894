import Foundation

/// Strict reading of a nested config (from YAML or JSON) flattened to dotted key paths.
/// Every read marks its key as known; `finish()` rejects whatever was never read, so a typo is an
/// error naming the key path, never a silently ignored setting.
public final class ConfigReader {
    public let file: String
    /// The CPU flags that settings needing this CPU (precision: bf16) are checked against: this
    /// CPU's for a config a user gives, none (no check) for a recorded config.json, so a checkpoint
    /// trained in bf16 still loads for inference on a CPU without bf16 (a resume is checked by the
    /// trainer instead).
    public var cpuFlags: Set<String>? = ConfigReader.thisCPU
    /// A config.json Tessera wrote for a run or checkpoint: a key it leaves out when it holds the
    /// old default reads as that old default, not as today's.
    public var isRecorded = false
    static let thisCPU = BLASKernel.cpuFlags()
    private var values: [String: Any]
    private var known: Set<String> = []

    public init(tree: [String: Any], file: String) {
        self.file = file
        var flat: [String: Any] = [:]
        ConfigReader.flatten(tree, prefix: "", into: &flat)
        values = flat
    }

    static func flatten(_ tree: [String: Any], prefix: String, into out: inout [String: Any]) {
        for (k, v) in tree {
            let path = prefix.isEmpty ? k : prefix + "." + k
            if let sub = v as? [String: Any] { flatten(sub, prefix: path, into: &out) } else { out[path] = v }
        }
    }

    /// Applies a `key.path=value` override; the value is already typed by the caller's parser.
    public func set(_ path: String, _ value: Any) {
        // An override replaces a whole subtree too (e.g. setting a list).
        for k in values.keys where k.hasPrefix(path + ".") { values.removeValue(forKey: k) }
        values[path] = value
    }

    /// Why this reader's CPU cannot run `precision`, nil if it can or no CPU is checked.
    func unsupported(_ precision: Precision) -> String? {
        cpuFlags.flatMap { precision.unsupported(flags: $0) }
    }

    func fail(_ path: String, _ message: String) -> TesseraError {
        .config("\(file): \(path): \(message)")
    }

    private func raw(_ path: String) -> Any? {
        known.insert(path)
        guard let v = values[path], !(v is NSNull) else { return nil }
        return v
    }

    public func has(_ path: String) -> Bool { values[path] != nil && !(values[path] is NSNull) }

    static func describe(_ v: Any) -> String {
        if let s = v as? String { return "\"\(s)\"" }
        return "\(v)"
    }

    /// `max`: the documented ceiling (SizeLimits), checked here so nothing computes with a larger value.
    public func int(_ path: String, _ def: Int? = nil, min: Int? = nil, max: Int? = nil) throws -> Int {
        guard let v = raw(path) else {
            if let def { return def }
            throw fail(path, "is required (an integer)")
        }
        let i: Int
        if let x = v as? Int, !(v is Bool) {
            i = x
        } else if let d = v as? Double, d == d.rounded(), abs(d) < 1e15 {
            i = Int(d)
        } else {
            throw fail(path, "expected an integer, got \(Self.describe(v))")
        }
        if let min, i < min { throw fail(path, "must be at least \(min), got \(i)") }
        if let max, i > max { throw fail(path, "exceeds Tessera's maximum of \(max), got \(i)") }
        return i
    }

    public func optionalInt(_ path: String, min: Int? = nil, max: Int? = nil) throws -> Int? {
        has(path)
            ? try int(path, min: min, max: max)
            : {
                known.insert(path); return nil
            }()
    }

    public func double(
        _ path: String, _ def: Double? = nil, min: Double? = nil, max: Double? = nil,
        exclusiveMin: Bool = false
    ) throws -> Double {
        guard let v = raw(path) else {
            if let def { return def }
            throw fail(path, "is required (a number)")
        }
        let d: Double
        if let x = v as? Double {
            d = x
        } else if let x = v as? Int, !(v is Bool) {
            d = Double(x)
        }
        // YAML 1.1 reads 3e-4 (no dot) as a string; accept numeric strings for numbers.
        else if let s = v as? String, let x = Double(s) {
            d = x
        } else {
            throw fail(path, "expected a number, got \(Self.describe(v))")
        }
        guard d.isFinite else { throw fail(path, "must be finite, got \(d)") }
        if let min {
            if exclusiveMin ? d <= min : d < min {
                throw fail(path, "must be \(exclusiveMin ? "greater than" : "at least") \(min), got \(d)")
            }
        }
        if let max, d > max { throw fail(path, "must be at most \(max), got \(d)") }
        return d
    }

    public func bool(_ path: String, _ def: Bool) throws -> Bool {
        guard let v = raw(path) else { return def }
        guard let b = v as? Bool else { throw fail(path, "expected true or false, got \(Self.describe(v))") }
        return b
    }

    public func string(_ path: String, _ def: String? = nil) throws -> String {
        guard let v = raw(path) else {
            if let def { return def }
            throw fail(path, "is required (a string)")
        }
        guard let s = v as? String else { throw fail(path, "expected a string, got \(Self.describe(v))") }
        return s
    }

    public func optionalString(_ path: String) throws -> String? {
        has(path)
            ? try string(path)
            : {
                known.insert(path); return nil
            }()
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ path: String, _ def: T) throws -> T
    where T.RawValue == String {
        let s = try string(path, def.rawValue)
        guard let v = T(rawValue: s) else {
            throw fail(
                path, "unknown value \"\(s)\"; expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return v
    }

    public func strings(_ path: String, _ def: [String]) throws -> [String] {
        guard let v = raw(path) else { return def }
        if let s = v as? String { return [s] }
        guard let a = v as? [Any] else { throw fail(path, "expected a list of strings, got \(Self.describe(v))") }
        return try a.map {
            guard let s = $0 as? String else {
                throw fail(path, "expected a list of strings, found \(Self.describe($0))")
            }
            return s
        }
    }

    public func ints(_ path: String, _ def: [Int], min: Int? = nil) throws -> [Int] {
        guard let v = raw(path) else { return def }
        let items: [Any] = (v as? [Any]) ?? [v]
        return try items.map {
            guard let i = ($0 as? Int) ?? (($0 as? Double).flatMap { $0 == $0.rounded() ? Int(exactly: $0) : nil })
            else {
                throw fail(path, "expected a list of integers, found \(Self.describe($0))")
            }
            if let min, i < min { throw fail(path, "entries must be ≥ \(min), got \(i)") }
            return i
        }
    }

    /// A resolved `config.json` (a run's or a checkpoint's) read by `make`; a problem in it is a data
    /// error about that file, not a config error of the user's.
    public static func fromJSON<T>(_ path: String, _ make: (ConfigReader) throws -> T) throws -> T {
        guard let tree = (try? JSONSerialization.jsonObject(with: try FileIO.read(path))) as? [String: Any] else {
            throw TesseraError.data(file: path, "not a JSON object")
        }
        let reader = ConfigReader(tree: tree, file: path)
        reader.cpuFlags = nil
        reader.isRecorded = true
        do { return try make(reader) } catch TesseraError.config(let m) {
            throw TesseraError.data(file: path, m.hasPrefix(path + ": ") ? String(m.dropFirst(path.count + 2)) : m)
        }
    }

    /// Adam(W) hyperparameters under `optim.*`, with the task's defaults.
    func adam(beta1: Double, beta2: Double, weightDecay: Double) throws -> AdamWConfig {
        AdamWConfig(
            beta1: try double("optim.beta1", beta1, min: 0, max: 0.999999),
            beta2: try double("optim.beta2", beta2, min: 0, max: 0.999999),
            eps: try double("optim.eps", 1e-8, min: 0, exclusiveMin: true),
            weightDecay: try double("optim.weight_decay", weightDecay, min: 0))
    }

    func checkpointSection() throws -> TrainConfig.CheckpointSection {
        var c = TrainConfig.CheckpointSection()
        c.every = try int("checkpoint.every", 0, min: 0)
        // At least 2: the newest may be the one a crash interrupted.
        c.keepLast = try int("checkpoint.keep_last", 2, min: 2)
        c.milestoneEvery = try int("checkpoint.milestone_every", 0, min: 0)
        c.final = try bool("checkpoint.final", true)
        return c
    }

    /// Rejects keys that no reader asked for.
    public func finish() throws {
        let unknown = values.keys.filter { !known.contains($0) }.sorted()
        if let first = unknown.first {
            let hint = ConfigReader.closest(first, among: Array(known))
            throw fail(first, "unknown key" + (hint.map { " (did you mean \($0)?)" } ?? ""))
        }
    }

    static func closest(_ key: String, among candidates: [String]) -> String? {
        func distance(_ a: String, _ b: String) -> Int {
            let a = Array(a), b = Array(b)
            var prev = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var cur = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                prev = cur
            }
            return prev[b.count]
        }
        let best = candidates.map { ($0, distance(key, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, key.count / 4) else { return nil }
        return best.0
    }
}
