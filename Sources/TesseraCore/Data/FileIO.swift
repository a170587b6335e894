import Foundation

/// Crash-safe file writing: data goes to a temporary file in the same directory, is fsynced,
/// then renamed over the target, and the directory entry is fsynced. A reader sees either the
/// old file or the whole new one, never a half-written file.
public enum FileIO {
    public static func writeAtomically(_ path: String, _ body: (UnsafeMutablePointer<FILE>) throws -> Void) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw TesseraError.data(file: path, "cannot create \(tmp): \(String(cString: strerror(errno)))")
        }
        do {
            try body(f)
            guard fflush(f) == 0, fsync(fileno(f)) == 0 else {
                throw TesseraError.data(file: path, "write failed: \(String(cString: strerror(errno)))")
            }
            fclose(f)
        } catch {
            fclose(f)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let e = String(cString: strerror(errno))
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
        guard n == data.count else { throw TesseraError.data(file: path, "short write") }
    }

    public static func write(_ f: UnsafeMutablePointer<FILE>, _ p: UnsafeRawPointer, bytes: Int, path: String) throws {
        guard fwrite(p, 1, bytes, f) == bytes else { throw TesseraError.data(file: path, "short write") }
    }

    public static func fsyncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
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
        try FileManager.default.removeItem(atPath: path)
    }

    /// Fills a whole output directory crash-safely: `body` writes into a hidden sibling, which
    /// replaces `path` only when it returns; on an error it is removed. An existing non-empty
    /// `path` is refused unless `overwrite`.
    public static func buildDirectory<T>(_ path: String, overwrite: Bool, _ body: (String) throws -> T) throws -> T {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if !existing.isEmpty && !overwrite { throw TesseraError.runState("\(path) already exists; pass --overwrite to replace it") }
        let parent = (path as NSString).deletingLastPathComponent
        let tmp = ((parent.isEmpty ? "." : parent) as NSString)
            .appendingPathComponent(".tmp-\((path as NSString).lastPathComponent)-\(getpid())")
        let fm = FileManager.default
        try? fm.removeItem(atPath: tmp)
        do { try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true) }
        catch { throw TesseraError.runState("cannot create \(tmp): \(error.localizedDescription)") }
        do {
            let result = try body(tmp)
            sync()   // one flush for every file written (an fsync each would cost a disk round trip per image)
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
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

    public static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    /// Reads a whole file, mapping it when possible; missing or unreadable files are data errors.
    public static func read(_ path: String) throws -> Data {
        guard exists(path) else { throw TesseraError.data(file: path, "no such file") }
        guard !isDirectory(path) else { throw TesseraError.data(file: path, "is a directory, expected a file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) }
        catch { throw TesseraError.data(file: path, "cannot read: \(error.localizedDescription)") }
    }

    /// Appends one line and flushes (metrics, logs).
    public final class LineWriter {
        let f: UnsafeMutablePointer<FILE>
        public init(path: String) throws {
            guard let f = fopen(path, "a") else {
                throw TesseraError.data(file: path, "cannot open for append: \(String(cString: strerror(errno)))")
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
