import Foundation

/// stderr for logs and progress, stdout for results. A live progress line only on a terminal.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) == 1
    nonisolated(unsafe) static var liveLine = false

    static func error(_ s: String) {
        if liveLine { writeAll(STDERR_FILENO, "\n"); liveLine = false }
        writeAll(STDERR_FILENO, s + "\n")
    }

    /// write(2) until done; a closed or full stream (EPIPE, ENOSPC) loses the text, never the run:
    /// SIGPIPE is ignored, and a log line is not worth a crash.
    static func writeAll(_ fd: Int32, _ s: String) {
        var bytes = Array(s.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            off += n
        }
    }

    static func log(_ s: String) { error(s) }

    static func live(_ s: String) {
        writeAll(STDERR_FILENO, "\r\u{1B}[K" + s)
        liveLine = true
    }

    static func out(_ s: String) { print(s); fflush(stdout) }

    /// Raw bytes to stdout (decoded text that need not be UTF-8).
    static func outBytes(_ b: [UInt8]) {
        fflush(stdout)
        _ = b.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stdout) }
        fflush(stdout)
    }
}

/// SIGINT/SIGTERM: the first asks the run to checkpoint and stop after the current step;
/// a second one exits at once (files are only ever renamed into place, so nothing is corrupted).
enum Signals {
    nonisolated(unsafe) static var received: Int32 = 0

    /// summary.json and its temporary name as C strings, made before any signal can arrive, so the
    /// handler itself allocates nothing.
    nonisolated(unsafe) static var summaryPath: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var summaryTmp: UnsafeMutablePointer<CChar>?

    /// Where a second signal records the ending (the run directory, once it exists).
    static func prepareSummary(dir: String) {
        let path = dir.appendingPathComponent("summary.json")
        summaryPath = strdup(path)
        summaryTmp = strdup(path + ".tmp-signal")
    }

    /// A second signal does not wait for the checkpoint under way: it writes summary.json
    /// ({"status": "interrupted", …}) with async-signal-safe calls only — open, write, fsync,
    /// rename — and exits 128 + signal. Files are only ever renamed into place, so nothing that
    /// was being written is left half-written.
    static let handler: @convention(c) (Int32) -> Void = { sig in
        if Signals.received != 0 {
            if let tmp = Signals.summaryTmp, let path = Signals.summaryPath {
                var buf = [CChar](repeating: 0, count: 256)
                var n = 0
                func put(_ s: StaticString) {
                    s.withUTF8Buffer { for b in $0 where n < 250 { buf[n] = CChar(bitPattern: b); n += 1 } }
                }
                func putInt(_ v: Int32) {
                    var digits: [CChar] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
                    var k = 0, x = v
                    repeat { digits[k] = CChar(48 + x % 10); x /= 10; k += 1 } while x > 0 && k < 10
                    while k > 0 && n < 250 { k -= 1; buf[n] = digits[k]; n += 1 }
                }
                put("{\"status\": \"interrupted\", \"exit_code\": "); putInt(128 + sig)
                put(", \"exit_reason\": \"a second signal "); putInt(sig);
                put(" stopped the run before its checkpoint finished\"}\n")
                let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                if fd >= 0 {
                    _ = buf.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, n) }
                    fsync(fd); close(fd)
                    rename(tmp, path)
                }
            }
            _exit(128 + sig)
        }
        Signals.received = sig
    }

    static func install() {
        let handler = Signals.handler
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGPIPE, SIG_IGN)
        // A launcher may start us with these blocked (the mask is inherited across exec); a
        // blocked stop request would only arrive as the final SIGKILL.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
