import ArgumentParser
import Foundation
import TesseraCore
import Yams

/// Options shared by every command that reads a training config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "YAML (or JSON) config file.")
    var config: String?

    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("Override one key, e.g. --set optim.lr=1e-3 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: "Worker threads (overrides the config's `threads`).")
    var threads: Int?

    /// Reads, overrides and validates a config. Every problem is a TesseraError naming the key.
    func load() throws -> TrainConfig {
        guard let config else { throw TesseraError.config("--config FILE is required") }
        return try ConfigFile.load(config, overrides: overrides, threads: threads)
    }
}

/// A config of either kind of run, told apart by its `task` key.
enum RunConfig {
    case lm(TrainConfig)
    case vq(VQTrainConfig)

    var json: Data { switch self { case .lm(let c): c.json; case .vq(let c): c.json } }
    var hash: String { switch self { case .lm(let c): c.hash; case .vq(let c): c.hash } }
    var task: String { switch self { case .lm: "lm"; case .vq: "vq" } }

    /// The config a run directory was started with.
    static func saved(_ dir: String) throws -> RunConfig {
        if try RunDirectory.savedTask(dir) == "vq" { return .vq(try VQTrainConfig.load(json: RunDirectory.configPath(dir))) }
        return .lm(try RunDirectory.savedConfig(dir))
    }

    static func load(_ path: String, overrides: [String] = [], threads: Int? = nil) throws -> RunConfig {
        let r = try ConfigFile.reader(path, overrides: overrides, threads: threads)
        switch try r.string("task", "lm") {
        case "lm": return .lm(try TrainConfig(reader: r))
        case "vq": return .vq(try VQTrainConfig(reader: r))
        case let t: throw TesseraError.config("\(path): task: \"\(t)\" is not lm (language model) or vq (image tokenizer)")
        }
    }

    func with(threads: Int?) -> RunConfig {
        guard let threads else { return self }
        switch self {
        case .lm(var c): c.threads = threads; return .lm(c)
        case .vq(var c): c.threads = threads; return .vq(c)
        }
    }
}

extension ConfigOptions {
    /// A config of either task (`task: lm`, the default, or `task: vq`).
    func loadRun() throws -> RunConfig {
        guard let config else { throw TesseraError.config("--config FILE is required") }
        return try RunConfig.load(config, overrides: overrides, threads: threads)
    }
}

enum ConfigFile {
    static func load(_ path: String, overrides: [String], threads: Int?) throws -> TrainConfig {
        let r = try reader(path, overrides: overrides, threads: threads)
        if try r.string("task", "lm") != "lm" { throw TesseraError.config("\(path): this command needs a language-model config (task: lm)") }
        return try TrainConfig(reader: r)
    }

    static func reader(_ path: String, overrides: [String], threads: Int?) throws -> ConfigReader {
        let data = try FileIO.read(path)
        guard let text = String(data: data, encoding: .utf8) else { throw TesseraError.config("\(path): not UTF-8 text") }
        let parsed: Any?
        do { parsed = try Yams.load(yaml: text) }
        catch { throw TesseraError.config("\(path): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")") }
        let tree: [String: Any]
        if parsed == nil { tree = [:] } else {
            guard let t = normalise(parsed!) as? [String: Any] else { throw TesseraError.config("\(path): the top level must be a mapping of keys") }
            tree = t
        }
        let reader = ConfigReader(tree: tree, file: path)
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw TesseraError.config("--set \(o): expected key.path=value")
            }
            let key = String(o[..<eq]), raw = String(o[o.index(after: eq)...])
            let value = (try? Yams.load(yaml: raw)).flatMap { $0 }.map(normalise) ?? raw
            reader.set(key, value)
        }
        if let threads { reader.set("threads", threads) }
        return reader
    }

    /// Yams gives [AnyHashable: Any] mappings; the reader wants [String: Any].
    static func normalise(_ v: Any) -> Any {
        if let m = v as? [AnyHashable: Any] {
            var out: [String: Any] = [:]
            for (k, x) in m { out["\(k.base)"] = normalise(x) }
            return out
        }
        if let m = v as? [String: Any] { return m.mapValues(normalise) }
        if let a = v as? [Any] { return a.map(normalise) }
        return v
    }
}
