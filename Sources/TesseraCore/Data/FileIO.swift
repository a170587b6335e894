import Foundation

/// Crash-safe file writing: data goes to a temporary file in the same directory, is fsynced,
/// then renamed over the target, and the directory entry is fsynced. A reader sees either the
/// old file or the whole new one, never a half-written file.
public enum FileIO {
    public static func writeAtomically(_ path: String, _ body: (UnsafeMutablePointer<FILE>) throws -> Void) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw TesseraError.data(file: path, "cannot create \(tmp): \(errnoText())")
        }
        do {
            try body(f)
            guard fflush(f) == 0, fsync(fileno(f)) == 0 else {
                throw TesseraError.data(file: path, "write failed: \(errnoText())")
            }
            fclose(f)
        } catch {
            fclose(f)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let e = errnoText()
            unlink(tmp)
            throw TesseraError.data(file: path, "rename failed: \(e)")
        }
        fsyncDirectory(of: path)
    }

    public static func writeAtomically(_ path: String, data: Data) throws {
        try writeAtomically(path) { f in try write(f, data, path: path) }
    }

    public static func write(_ f: UnsafeMutablePointer<FILE>, _ data: Data, path: String) throws {
        let n = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard n == data.count else { throw TesseraError.data(file: path, "write failed: \(errnoText())") }
    }

    public static func write(_ f: UnsafeMutablePointer<FILE>, _ p: UnsafeRawPointer, bytes: Int, path: String) throws {
        guard fwrite(p, 1, bytes, f) == bytes else {
            throw TesseraError.data(file: path, "write failed: \(errnoText())")
        }
    }

    /// The C library's text for `code` with its symbolic name where the cause is the machine's,
    /// not the data's: "No space left on device (ENOSPC)", "Read-only file system (EROFS)".
    public static func errnoText(_ code: Int32 = errno) -> String {
        let names: [Int32: String] = [
            ENOSPC: "ENOSPC", EROFS: "EROFS", EDQUOT: "EDQUOT", EACCES: "EACCES", EPERM: "EPERM",
            EIO: "EIO", EMFILE: "EMFILE", ENOENT: "ENOENT", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        ]
        let text = String(cString: strerror(code))
        return names[code].map { "\(text) (\($0))" } ?? text
    }

    /// A Foundation error as the machine's cause when it carries a POSIX code (errnoText), else its
    /// description: errno itself is not reliable after a Foundation call.
    public static func describe(_ error: Error) -> String {
        let e = error as NSError
        for candidate in [e, e.userInfo[NSUnderlyingErrorKey] as? NSError].compactMap({ $0 })
        where candidate.domain == NSPOSIXErrorDomain {
            return errnoText(Int32(candidate.code))
        }
        return e.localizedDescription
    }

    /// The file that marks a directory as one Tessera made (a run, a data set, a probe, a report):
    /// `--overwrite` replaces only such directories, never a user's folder.
    public static let ownerMarker = ".tessera"

    /// Writes the marker into `dir`, naming what made it.
    public static func markOwned(_ dir: String, kind: String) throws {
        try writeAtomically(dir.appendingPathComponent(ownerMarker), data: Data("made by tessera: \(kind)\n".utf8))
    }

    /// Whether `dir` holds nothing, or was made by Tessera; `--overwrite` may remove only these.
    public static func replaceable(_ dir: String) -> Bool {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return contents.isEmpty || exists(dir.appendingPathComponent(ownerMarker))
    }

    /// Removes `dir` for `--overwrite`: only a directory Tessera made (its marker) and no process
    /// holds (its lock); otherwise a run-state error (exit 5) naming it, and nothing is deleted.
    public static func removeOwned(_ dir: String) throws {
        guard isDirectory(dir) else {
            if exists(dir) {
                throw TesseraError.runState("\(dir) is a file, not a directory Tessera made; not replacing it")
            }
            return
        }
        guard replaceable(dir) else {
            throw TesseraError.runState(
                "\(dir) was not made by Tessera (no \(ownerMarker) marker); not deleting it — choose another path or remove it yourself"
            )
        }
        if let holder = DirectoryLock.holder(dir) {
            throw TesseraError.runState("\(dir) is in use by another process (\(holder)); not deleting it")
        }
        do { try FileManager.default.removeItem(atPath: dir) } catch {
            throw TesseraError.runState("cannot remove \(dir): \(describe(error))")
        }
    }

    public static func fsyncDirectory(of path: String) {
        let dir = path.deletingLastPathComponent
        fsyncPath(dir.isEmpty ? "." : dir)
    }

    public static func fsyncPath(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Readies an output directory that a command fills: an existing non-empty one is refused
    /// unless `overwrite`, in which case it is removed. Writes nothing else.
    public static func prepareOutputDirectory(_ path: String, overwrite: Bool) throws {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        guard !existing.isEmpty else { return }
        guard overwrite else { throw TesseraError.runState("\(path) already exists; pass --overwrite to replace it") }
        try removeOwned(path)
    }

    /// Fills a whole output directory crash-safely: `body` writes into a hidden sibling, which
    /// replaces `path` only when it returns; on an error it is removed. An existing non-empty
    /// `path` is refused unless `overwrite`, and then replaced only if Tessera made it. The new
    /// directory carries the ownership marker.
    public static func buildDirectory<T>(_ path: String, overwrite: Bool, _ body: (String) throws -> T) throws -> T {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if !existing.isEmpty && !overwrite {
            throw TesseraError.runState("\(path) already exists; pass --overwrite to replace it")
        }
        if !existing.isEmpty && !replaceable(path) {
            throw TesseraError.runState(
                "\(path) was not made by Tessera (no \(ownerMarker) marker); not deleting it — choose another path or remove it yourself"
            )
        }
        let parent = path.deletingLastPathComponent
        let tmp = (parent.isEmpty ? "." : parent).appendingPathComponent(".tmp-\(path.lastPathComponent)-\(getpid())")
        let fm = FileManager.default
        try? fm.removeItem(atPath: tmp)
        try createDirectories(tmp)
        do {
            let result = try body(tmp)
            try markOwned(tmp, kind: "output")
            sync()  // one flush for every file written (an fsync each would cost a disk round trip per image)
            if fm.fileExists(atPath: path) { try removeOwned(path) }
            guard rename(tmp, path) == 0 else {
                throw TesseraError.runState("cannot move \(tmp) to \(path): \(String(cString: strerror(errno)))")
            }
            fsyncDirectory(of: path)
            return result
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
    }

    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// `mkdir -p` through mkdir(2), so a failure names its errno (Foundation reports a read-only
    /// volume as a Cocoa error without one). Exit 5: the place, not the data, is wrong.
    public static func createDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = path.deletingLastPathComponent
        if !parent.isEmpty && parent != path && !isDirectory(parent) { try createDirectories(parent) }
        guard mkdir(path, 0o755) == 0 || (errno == EEXIST && isDirectory(path)) else {
            throw TesseraError.runState("cannot create \(path): \(errnoText())")
        }
    }

    /// Size in bytes of a file, nil when it cannot be stat'ed.
    public static func fileSize(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    public static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// Reads a whole file, mapping it when possible; missing or unreadable files are data errors.
    public static func read(_ path: String) throws -> Data {
        guard exists(path) else { throw TesseraError.data(file: path, "no such file") }
        guard !isDirectory(path) else { throw TesseraError.data(file: path, "is a directory, expected a file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw TesseraError.data(file: path, "cannot read: \(describe(error))")
        }
    }

    /// Appends one line and flushes (metrics, logs).
    public final class LineWriter {
        let f: UnsafeMutablePointer<FILE>
        public init(path: String) throws {
            guard let f = fopen(path, "a") else {
                throw TesseraError.data(file: path, "cannot open for append: \(errnoText())")
            }
            self.f = f
        }
        public func write(_ line: String) {
            fputs(line + "\n", f)
            fflush(f)
        }
        deinit { fclose(f) }
    }
}
