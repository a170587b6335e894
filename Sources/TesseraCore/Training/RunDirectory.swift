import Foundation

/// A run's directory: config.json (resolved), metrics.jsonl, train.log, checkpoints/, summary.json.
/// A new run refuses an existing non-empty directory unless told to overwrite it; a resume
/// requires the directory and its config.json.
public enum RunDirectory {
    public static func configPath(_ dir: String) -> String { dir.appendingPathComponent("config.json") }

    /// Default name: runs/<config file stem>-<UTC timestamp>.
    public static func defaultPath(configFile: String, root: String = "runs") -> String {
        let stem = configFile.lastPathComponent.deletingPathExtension
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return root.appendingPathComponent("\(stem)-\(f.string(from: Date()))")
    }

    /// Fails if `dir` exists with content and `overwrite` is not set, or when `overwrite` would
    /// delete a directory Tessera did not make or a run another process holds; writes nothing.
    public static func checkCreatable(_ dir: String, overwrite: Bool) throws {
        if FileIO.exists(dir) && !FileIO.isDirectory(dir) {
            throw TesseraError.runState("run directory \(dir) is a file; choose another --run-dir")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        guard !contents.isEmpty else { return }
        if !overwrite {
            throw TesseraError.runState(
                "run directory \(dir) already exists; pass --resume to continue it or --overwrite to replace it")
        }
        if !FileIO.replaceable(dir) {
            throw TesseraError.runState(
                "\(dir) was not made by Tessera (no \(FileIO.ownerMarker) marker); not deleting it — choose another --run-dir or remove it yourself"
            )
        }
        if let holder = DirectoryLock.holder(dir) {
            throw TesseraError.runState(
                "run directory \(dir) is in use by another process (\(holder)); not replacing it")
        }
    }

    public static func create(_ dir: String, config: TrainConfig, overwrite: Bool) throws {
        try create(dir, configJSON: config.json, overwrite: overwrite)
    }

    public static func create(_ dir: String, configJSON: Data, overwrite: Bool) throws {
        let fm = FileManager.default
        try checkCreatable(dir, overwrite: overwrite)
        if fm.fileExists(atPath: dir) {
            let contents = (try? fm.contentsOfDirectory(atPath: dir)) ?? []
            if !contents.isEmpty { try FileIO.removeOwned(dir) }
        }
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw TesseraError.runState("cannot create run directory \(dir): \(FileIO.describe(error))")
        }
        try FileIO.markOwned(dir, kind: "run")
        try FileIO.writeAtomically(configPath(dir), data: configJSON)
    }

    /// The config a run was started with.
    public static func savedConfig(_ dir: String) throws -> TrainConfig {
        guard FileIO.isDirectory(dir) else { throw TesseraError.runState("no run directory \(dir) to resume") }
        let path = configPath(dir)
        guard FileIO.exists(path) else {
            throw TesseraError.runState("\(dir) has no config.json; it is not a Tessera run directory")
        }
        return try TrainConfig.load(json: path)
    }

    /// What a run trains: "vq" for the image tokenizer, "lm" (or no `task` key) for the language model.
    public static func savedTask(_ dir: String) throws -> String {
        let path = configPath(dir)
        guard FileIO.exists(path) else {
            throw TesseraError.runState("\(dir) has no config.json; it is not a Tessera run directory")
        }
        guard let o = (try? JSONSerialization.jsonObject(with: try FileIO.read(path))) as? [String: Any] else {
            throw TesseraError.data(file: path, "not a JSON object")
        }
        return o["task"] as? String ?? "lm"
    }

    public static func writeSummary(_ dir: String, _ s: TrainSummary) {
        try? FileIO.writeAtomically(dir.appendingPathComponent("summary.json"), data: s.json)
    }
}
