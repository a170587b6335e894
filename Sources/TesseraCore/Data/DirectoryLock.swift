import Foundation

/// An exclusive advisory lock on a directory (flock on DIR/.lock) held while a process works in
/// it: a second `train --resume` of the same run, or an `--overwrite` of a live one, is refused
/// with exit 5 instead of two writers interleaving checkpoints or one deleting the other's files.
/// The kernel drops the lock when the process ends however it ends, so a crash leaves none behind.
public final class DirectoryLock {
    public static let fileName = ".lock"
    let fd: Int32
    public let dir: String

    /// Takes the lock or throws a run-state error naming the holder's pid.
    public init(_ dir: String) throws {
        let path = dir.appendingPathComponent(Self.fileName)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TesseraError.runState("cannot open \(path): \(FileIO.errnoText())") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.readPid(fd)
            close(fd)
            throw TesseraError.runState(
                "\(dir) is in use by another process\(holder.map { " (pid \($0))" } ?? ""); wait for it or stop it")
        }
        // Record our pid for the message another process will print.
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
        self.dir = dir
    }

    deinit { flock(fd, LOCK_UN); close(fd) }

    /// "pid N" when another process holds `dir`'s lock; nil when nobody does (or there is no lock file).
    public static func holder(_ dir: String) -> String? {
        let path = dir.appendingPathComponent(fileName)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        return readPid(fd).map { "pid \($0)" } ?? "unknown pid"
    }

    static func readPid(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 16)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 15, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
