import CZlib
import Foundation

/// Checkpoint directories `checkpoints/step_NNNNNNNN/` holding model.safetensors (weights),
/// optimizer.safetensors (AdamW moments `m.<name>`, `v.<name>` of trainable tensors),
/// state.json, config.json, tokenizer.json (when the data was tokenized), and the marker
/// `COMPLETE`, written last.
///
/// Writing: everything goes into a hidden temp directory, each file fsynced, the directory
/// renamed into place and fsynced, then the marker written and fsynced. Discovery ignores any
/// directory without the marker, so a crash at any moment leaves the previous checkpoints usable.
public enum Checkpoint {
    public static let marker = "COMPLETE"

    public static func name(step: Int) -> String { String(format: "step_%08d", step) }

    public static func directory(runDir: String) -> String { runDir.appendingPathComponent("checkpoints") }

    /// Complete checkpoints of a run, newest first.
    public static func list(runDir: String) -> [(step: Int, path: String)] {
        let dir = directory(runDir: runDir)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.compactMap { n -> (Int, String)? in
            guard n.hasPrefix("step_"), let s = Int(n.dropFirst(5)) else { return nil }
            let p = dir.appendingPathComponent(n)
            return FileIO.exists(p.appendingPathComponent(marker)) ? (s, p) : nil
        }.sorted { $0.0 > $1.0 }
    }

    /// Directories under checkpoints/ that look like checkpoints but lack the marker.
    public static func incomplete(runDir: String) -> [String] {
        let dir = directory(runDir: runDir)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.filter { n in
            let p = dir.appendingPathComponent(n)
            return n.hasPrefix(".tmp-") || (n.hasPrefix("step_") && !FileIO.exists(p.appendingPathComponent(marker)))
        }.map { dir.appendingPathComponent($0) }
    }

    public static func save(
        runDir: String, model: Transformer, adam: AdamW, state: TrainState, config: TrainConfig,
        tokenizer: String? = nil, layout: VocabularyLayout? = nil
    ) throws -> String {
        let files =
            layout.map {
                [
                    "layout.json": try! JSONSerialization.data(
                        withJSONObject: $0.json, options: [.prettyPrinted, .sortedKeys])
                ]
            } ?? [:]
        return try save(
            runDir: runDir, params: model.params, adam: adam, state: state, configJSON: config.json,
            tokenizer: tokenizer, files: files)
    }

    /// Writes checkpoints/step_N/ (model.safetensors, optimizer.safetensors, state.json,
    /// config.json, optional tokenizer.json and `extra` safetensors files such as ema.safetensors)
    /// into a temp directory, renames it into place and only then writes the COMPLETE marker.
    public static func save(
        runDir: String, params p: ParameterStore, adam: AdamW, state: TrainState, configJSON: Data,
        tokenizer: String? = nil, extra: [String: SafetensorsPayload] = [:], files: [String: Data] = [:]
    ) throws -> String {
        let dir = directory(runDir: runDir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let final = dir.appendingPathComponent(name(step: state.step))
        let tmp = dir.appendingPathComponent(".tmp-\(name(step: state.step))-\(getpid())")
        try? FileManager.default.removeItem(atPath: tmp)
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        func at(_ f: String) -> String { tmp.appendingPathComponent(f) }

        try SafetensorsWriter.write(
            path: at("model.safetensors"),
            tensors: p.slots.map {
                SafetensorsTensor(name: $0.name, shape: $0.shape, f32: p.values.pointer + $0.offset)
            },
            metadata: ["format": "tessera", "config_hash": state.configHash])
        let opt = optimizerPayload(adam)
        try SafetensorsWriter.write(path: at("optimizer.safetensors"), tensors: opt.tensors, metadata: opt.metadata)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileIO.writeAtomically(at("state.json"), data: try enc.encode(state))
        try FileIO.writeAtomically(at("config.json"), data: configJSON)
        for (name, e) in extra.sorted(by: { $0.key < $1.key }) {
            try SafetensorsWriter.write(path: at(name), tensors: e.tensors, metadata: e.metadata)
        }
        for (name, data) in files.sorted(by: { $0.key < $1.key }) { try FileIO.writeAtomically(at(name), data: data) }
        if let tokenizer { try FileIO.writeAtomically(at("tokenizer.json"), data: try FileIO.read(tokenizer)) }
        FileIO.fsyncPath(tmp)
        if FileIO.exists(final) { try FileManager.default.removeItem(atPath: final) }
        guard rename(tmp, final) == 0 else {
            throw TesseraError.data(
                file: final, "cannot rename checkpoint into place: \(String(cString: strerror(errno)))")
        }
        FileIO.fsyncPath(dir)
        // The marker, written last, records a CRC-32 of every file, so a flipped bit is caught on load.
        let sums = try checksums(final)
        let json = try JSONSerialization.data(withJSONObject: ["crc32": sums], options: [.prettyPrinted, .sortedKeys])
        try FileIO.writeAtomically(final.appendingPathComponent(marker), data: json)
        return final
    }

    /// CRC-32 (zlib's) of a file's bytes, as 8 hex digits.
    public static func crc32(file: String) throws -> String {
        let data = try FileIO.read(file)
        var c: uLong = 0
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = min(raw.count - off, 1 << 30)
                c = CZlib.crc32(c, raw.baseAddress!.assumingMemoryBound(to: Bytef.self) + off, uInt(n))
                off += n
            }
        }
        return String(format: "%08x", UInt32(truncatingIfNeeded: c))
    }

    /// CRC-32 of every regular file in a checkpoint directory but the marker.
    static func checksums(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where name != marker && !name.hasPrefix(".") {
            let path = dir.appendingPathComponent(name)
            guard !FileIO.isDirectory(path) else { continue }
            out[name] = try crc32(file: path)
        }
        return out
    }

    /// The checksums a checkpoint's marker records (nil for a marker written before checksums: "ok").
    public static func recordedChecksums(_ dir: String) throws -> [String: String]? {
        let path = dir.appendingPathComponent(marker)
        let data = try FileIO.read(path)
        if data.starts(with: Data("ok".utf8)) { return nil }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let sums = o["crc32"] as? [String: String]
        else {
            throw TesseraError.data(file: path, "is neither \"ok\" nor a JSON object with crc32 checksums")
        }
        return sums
    }

    /// Compares `files` (all recorded ones when nil) of a checkpoint with the checksums its marker
    /// recorded; a mismatch or a missing file is a data error naming the file.
    public static func verifyChecksums(_ dir: String, files: [String]? = nil) throws {
        guard let sums = try recordedChecksums(dir) else { return }
        for name in (files ?? sums.keys.sorted()) {
            guard let want = sums[name] else { continue }
            let path = dir.appendingPathComponent(name)
            guard FileIO.exists(path) else {
                throw TesseraError.data(file: path, "is missing from its checkpoint (its checksum is recorded)")
            }
            let have = try crc32(file: path)
            guard have == want else {
                throw TesseraError.data(
                    file: path,
                    "checksum mismatch (CRC-32 \(have), recorded \(want)): the file changed after the checkpoint was written"
                )
            }
        }
    }

    public static func loadState(_ path: String) throws -> TrainState {
        let file = path.appendingPathComponent("state.json")
        let data = try FileIO.read(file)
        do {
            let s = try JSONDecoder().decode(TrainState.self, from: data)
            guard s.formatVersion == TrainState.formatVersion else {
                throw TesseraError.data(
                    file: file,
                    "format_version \(s.formatVersion) is not supported (expected \(TrainState.formatVersion))")
            }
            return s
        } catch let e as TesseraError { throw e } catch {
            throw TesseraError.data(file: file, "malformed state: \(error)")
        }
    }

    /// Loads weights into `model` by name; every parameter must be present with its exact shape,
    /// and no tensor may be left unused.
    public static func loadWeights(_ path: String, into model: Transformer) throws {
        try loadParameters(file: path.appendingPathComponent("model.safetensors"), into: model.params)
    }

    /// Reads every parameter of `store` from a safetensors file by name and shape. Tensors the
    /// store lacks are an error unless `ignore` accepts their name (e.g. a MoVQGAN training
    /// checkpoint's `loss.*` and `ema_*` entries).
    /// A file inside a checkpoint directory is first checked against the marker's checksum, and
    /// non-finite values are refused: NaN weights would otherwise evaluate silently.
    public static func loadParameters(
        file: String, into p: ParameterStore, ignore: (String) -> Bool = { _ in false }
    ) throws {
        let dir = file.deletingLastPathComponent
        if FileIO.exists(dir.appendingPathComponent(marker)) {
            try verifyChecksums(dir, files: [file.lastPathComponent])
        }
        let st = try SafetensorsFile(path: file)
        for s in p.slots {
            guard let e = st.entries[s.name] else {
                throw TesseraError.data(file: file, "missing tensor \"\(s.name)\"")
            }
            guard e.shape == s.shape else {
                throw TesseraError.data(
                    file: file, "tensor \"\(s.name)\" has shape \(e.shape), the model expects \(s.shape)")
            }
            try st.read(s.name, into: p.values.pointer + s.offset, count: s.count)
            let v = UnsafeBufferPointer(start: p.values.pointer + s.offset, count: s.count)
            if let i = v.firstIndex(where: { !$0.isFinite }) {
                throw TesseraError.data(
                    file: file, "tensor \"\(s.name)\" holds a non-finite value (\(v[i]) at index \(i))")
            }
        }
        let unused = Set(st.entries.keys).subtracting(p.names).filter { !ignore($0) }
        if let u = unused.sorted().first {
            throw TesseraError.data(file: file, "tensor \"\(u)\" matches no model parameter")
        }
    }

    /// AdamW moments `m.<name>`, `v.<name>` and the step count, as a safetensors file holds them.
    public static func optimizerPayload(_ adam: AdamW) -> SafetensorsPayload {
        var moments: [SafetensorsTensor] = []
        for g in adam.groups {
            moments.append(
                SafetensorsTensor(name: "m." + g.slot.name, shape: g.slot.shape, f32: adam.m.pointer + g.momentOffset))
            moments.append(
                SafetensorsTensor(name: "v." + g.slot.name, shape: g.slot.shape, f32: adam.v.pointer + g.momentOffset))
        }
        return SafetensorsPayload(tensors: moments, metadata: ["adam_step": String(adam.step)])
    }

    public static func loadOptimizer(_ path: String, into adam: AdamW) throws {
        try loadOptimizer(file: path.appendingPathComponent("optimizer.safetensors"), into: adam)
    }

    public static func loadOptimizer(file: String, into adam: AdamW) throws {
        let dir = file.deletingLastPathComponent
        if FileIO.exists(dir.appendingPathComponent(marker)) {
            try verifyChecksums(dir, files: [file.lastPathComponent])
        }
        let st = try SafetensorsFile(path: file)
        for g in adam.groups {
            for (prefix, buf) in [("m.", adam.m), ("v.", adam.v)] {
                let n = prefix + g.slot.name
                guard let e = st.entries[n] else { throw TesseraError.data(file: file, "missing tensor \"\(n)\"") }
                guard e.shape == g.slot.shape else {
                    throw TesseraError.data(
                        file: file, "tensor \"\(n)\" has shape \(e.shape), expected \(g.slot.shape)")
                }
                try st.read(n, into: buf.pointer + g.momentOffset, count: g.slot.count)
            }
        }
        guard st.entries.count == 2 * adam.groups.count else {
            throw TesseraError.data(
                file: file,
                "holds \(st.entries.count) tensors, expected \(2 * adam.groups.count) (trainable set changed?)")
        }
        guard let s = st.metadata["adam_step"], let step = Int(s) else {
            throw TesseraError.data(file: file, "metadata adam_step is missing")
        }
        adam.step = step
    }

    /// A resume: removes incomplete checkpoints, then tries the complete ones newest first,
    /// calling `load` with each one's directory and state until one loads. Returns nil when there
    /// is none yet; throws rather than silently starting over when some exist but none loads.
    /// `writes: false` (every MPI rank but 0) only reads: the removal and the metrics cut are rank 0's.
    public static func resumeNewest(
        runDir: String, configHash: String, allowConfigChange: Bool, writes: Bool = true, log: (String) -> Void,
        load: (_ path: String, _ state: TrainState) throws -> Void
    ) throws -> TrainState? {
        if writes { for p in removeIncomplete(runDir: runDir) { log("resume: removed incomplete checkpoint \(p)") } }
        let found = list(runDir: runDir)
        if found.isEmpty {
            log("resume: no complete checkpoint in \(runDir) yet; starting from step 0")
            // Rows an attempt logged before its first checkpoint belong to no state; drop them.
            if writes { try MetricsLog.truncate(runDir: runDir, afterStep: 0) }
            return nil
        }
        var failures: [String] = []
        for c in found {
            do {
                let s = try loadState(c.path)
                guard s.configHash == configHash || allowConfigChange else {
                    throw TesseraError.runState(
                        "\(c.path): config hash \(s.configHash) differs from this config's \(configHash); the run's config.json decides a resume"
                    )
                }
                try load(c.path, s)
                for f in failures { log("resume: skipped unloadable checkpoint: \(f)") }
                log("resume: continuing from \(c.path) at step \(s.step)")
                if writes { try MetricsLog.truncate(runDir: runDir, afterStep: s.step) }
                return s
            } catch {
                failures.append(error is TesseraError ? "\(error)" : FileIO.describe(error))
            }
        }
        throw TesseraError.runState(
            "\(runDir): \(found.count) checkpoint(s) exist but none loads; refusing to start over. First error: \(failures[0])"
        )
    }

    /// Removes what interrupted writes left behind (temp directories, directories without the
    /// marker); returns their paths. Only ever called by the run that owns the directory.
    @discardableResult
    public static func removeIncomplete(runDir: String) -> [String] {
        let leftovers = incomplete(runDir: runDir)
        for p in leftovers { try? FileManager.default.removeItem(atPath: p) }
        return leftovers
    }

    /// Deletes checkpoints beyond the newest `keepLast`, sparing milestones.
    public static func prune(runDir: String, keepLast: Int, milestoneEvery: Int) {
        for (i, c) in list(runDir: runDir).enumerated() where i >= keepLast {
            if milestoneEvery > 0 && c.step % milestoneEvery == 0 { continue }
            // Remove the marker first: a crash mid-delete leaves an incomplete (ignored) directory.
            unlink(c.path.appendingPathComponent(marker))
            try? FileManager.default.removeItem(atPath: c.path)
        }
    }
}

extension Checkpoint {
    /// The vocabulary layout a text-to-image checkpoint was trained with (nil for text-only ones).
    public static func layout(_ path: String) throws -> VocabularyLayout? {
        let file = path.appendingPathComponent("layout.json")
        guard FileIO.exists(file) else { return nil }
        return try VocabularyLayout(json: try JSONSerialization.jsonObject(with: try FileIO.read(file)), file: file)
    }
}

extension Checkpoint {
    /// A checkpoint directory as given, or a run directory's newest complete checkpoint; `role`
    /// names the path in the error (e.g. "init.from").
    public static func resolve(_ path: String, role: String) throws -> String {
        if FileIO.exists(path.appendingPathComponent("model.safetensors")) { return path }
        guard let newest = list(runDir: path).first else {
            throw TesseraError.data(
                file: path,
                "\(role) is neither a checkpoint (model.safetensors) nor a run directory with a complete checkpoint")
        }
        return newest.path
    }
}
