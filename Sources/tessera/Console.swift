import Foundation

/// stderr for logs and progress, stdout for results. A live progress line only on a terminal.
enum Console {
    static let isTerminal = isatty(STDERR_FILENO) == 1
    nonisolated(unsafe) static var liveLine = false

    static func error(_ s: String) {
        if liveLine { FileHandle.standardError.write(Data("\n".utf8)); liveLine = false }
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    static func log(_ s: String) { error(s) }

    static func live(_ s: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + s).utf8))
        liveLine = true
    }

    static func out(_ s: String) { print(s); fflush(stdout) }
}

/// SIGINT/SIGTERM: the first asks the run to checkpoint and stop after the current step;
/// a second one exits at once (files are only ever renamed into place, so nothing is corrupted).
enum Signals {
    nonisolated(unsafe) static var received: Int32 = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Signals.received != 0 { _exit(128 + sig) }
            Signals.received = sig
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A launcher may start us with these blocked (the mask is inherited across exec); a
        // blocked stop request would only arrive as the final SIGKILL.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
