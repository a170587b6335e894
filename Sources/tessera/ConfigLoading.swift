import ArgumentParser
import Foundation
import TesseraCore
import Yams

/// Options shared by every command that reads a training config.
struct ConfigOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "YAML (or JSON) config file.")
    var config: String?

    @Option(
        name: .customLong("set"), parsing: .singleValue,
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

extension ConfigOptions {
    /// A config of either task (`task: lm`, the default, or `task: vq`).
    func loadRun() throws -> RunConfig {
        guard let config else { throw TesseraError.config("--config FILE is required") }
        return try RunConfig(reader: try ConfigFile.reader(config, overrides: overrides, threads: threads))
    }
}

enum ConfigFile {
    static func load(_ path: String, overrides: [String], threads: Int?) throws -> TrainConfig {
        let r = try reader(path, overrides: overrides, threads: threads)
        if try r.string("task", "lm") != "lm" {
            throw TesseraError.config("\(path): this command needs a language-model config (task: lm)")
        }
        return try TrainConfig(reader: r)
    }

    static func reader(_ path: String, overrides: [String], threads: Int?) throws -> ConfigReader {
        let reader = ConfigReader(tree: try mapping(path), file: path)
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

    /// Nodes a config may expand to, aliases counted every time they are used: a YAML alias bomb
    /// ("billion laughs") is refused before it is expanded.
    static let maxNodes = 200_000
    static let maxBytes = 16 << 20

    /// A YAML (or JSON) file's top-level mapping, with its size bounded before anything is built.
    static func mapping(_ path: String) throws -> [String: Any] {
        let data = try FileIO.read(path)
        guard data.count <= maxBytes else {
            throw TesseraError.config("\(path): \(data.count) bytes, over the \(maxBytes)-byte limit for a config")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TesseraError.config("\(path): not UTF-8 text")
        }
        func yamlError(_ error: Error) -> TesseraError {
            .config("\(path): not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw yamlError(error) }
        guard let node else { return [:] }
        var budget = maxNodes
        func walk(_ n: Node) throws {
            budget -= 1
            if budget < 0 {
                throw TesseraError.config(
                    "\(path): expands to more than \(maxNodes) YAML nodes (aliases counted where used); refusing it")
            }
            switch n {
            case .mapping(let m): for (k, v) in m { try walk(k); try walk(v) }
            case .sequence(let q): for x in q { try walk(x) }
            default: break
            }
        }
        try walk(node)
        let parsed: Any?
        do { parsed = try Yams.load(yaml: text) } catch { throw yamlError(error) }
        guard let t = parsed.map(normalise) as? [String: Any] else {
            throw TesseraError.config("\(path): the top level must be a mapping of keys")
        }
        return t
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
