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
            64 command-line usage; 130/143 interrupted by SIGINT/SIGTERM after saving; 1 internal error.
            """,
        subcommands: [
            Tokenize.self, Train.self, Eval.self, Probe.self, Report.self, Import.self, DataCommand.self, Inspect.self,
            Bench.self, Checkpoints.self,
        ])

    /// A closed stdout or stderr (`tessera … | head`, a log reader that went away) makes writes
    /// fail with EPIPE instead of killing the process, so a run still records how it ended.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        main(nil)
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

/// Runs a command body, turning Tessera errors into one-line messages and exit codes.
func guarded(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch { throw report(error) }
}
