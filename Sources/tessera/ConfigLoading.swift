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

enum ConfigFile {
    static func load(_ path: String, overrides: [String], threads: Int?) throws -> TrainConfig {
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
        return try TrainConfig(reader: reader)
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
