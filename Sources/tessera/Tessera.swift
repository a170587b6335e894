import ArgumentParser
import Foundation
import TesseraCore

@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Experiment runner for auto-regressive text-to-image language models.",
        discussion: """
            Exit codes: 0 success; 2 config error; 3 data error (missing or malformed input);
            4 diverged (non-finite loss or gradient norm); 5 run-directory state (exists, nothing to resume);
            6 a check's rule did not hold (report agree);
            64 command-line usage; 130/143 interrupted by SIGINT/SIGTERM after saving; 1 internal error.
            """,
        subcommands: [
            Tokenize.self, Train.self, Eval.self, Probe.self, Report.self, Import.self, DataCommand.self, Inspect.self,
            Bench.self, Checkpoints.self,
        ])

    /// A closed stdout or stderr (`tessera … | head`, a log reader that went away) makes writes
    /// fail with EPIPE instead of killing the process, so a run still records how it ended.
    ///
    /// Errors have one mapper: a Tessera error (from a command's `validate()` or its work) prints
    /// one line and exits with its code (`report`); command-line usage errors, --help and explicit
    /// exit codes are ArgumentParser's.
    static func main() {
        // oneDNN's OpenMP workers must sleep, not spin, between convolutions (OpenMPWaitPolicy);
        // libgomp has read the environment already, so set it and start again (same process id,
        // same arguments). execv returns only if it failed: then run as we are.
        if let v = OpenMPWaitPolicy.missing(in: ProcessInfo.processInfo.environment) {
            setenv(v.name, v.value, 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
        }
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            // A Tessera error — thrown by a command's work or by its validate(), where
            // ArgumentParser wraps it — is one line and its exit code; usage errors, --help and
            // explicit exit codes are ArgumentParser's; anything else is an internal error.
            if let e = tesseraError(in: error) { exit(withError: report(e)) }
            if error is CleanExit || error is ExitCode || error is ValidationError
                || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
            {
                exit(withError: error)
            }
            exit(withError: report(error))
        }
    }

    /// The TesseraError inside `error` (itself, or the payload ArgumentParser wrapped it in).
    static func tesseraError(in error: Any, depth: Int = 0) -> TesseraError? {
        if let e = error as? TesseraError { return e }
        guard depth < 4 else { return nil }
        for child in Mirror(reflecting: error).children {
            if let e = tesseraError(in: child.value, depth: depth + 1) { return e }
        }
        return nil
    }
}

/// Prints a one-line error for a Tessera failure and maps it to its exit code.
func report(_ error: Error) -> ExitCode {
    if let e = error as? TesseraError {
        Console.error("tessera: \(e)")
        return ExitCode(e.exitCode)
    }
    Console.error("tessera: internal error: \(error)")
    return ExitCode(1)
}
