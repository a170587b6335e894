/// Every failure Tessera reports to a user: a one-line message naming the file, key or value,
/// and an exit code by kind so scripts can tell a bad config from a diverged run.
public enum TesseraError: Error, CustomStringConvertible, Equatable {
    /// A config key, value or combination of options is wrong. Exit 2.
    case config(String)
    /// An input file is missing, unreadable or malformed. Exit 3.
    case data(file: String, String)
    /// Loss or gradient norm became non-finite; the update was not applied. Exit 4.
    case divergence(String)
    /// The run directory is in a state that forbids the request (exists, no loadable checkpoint). Exit 5.
    case runState(String)
    /// Stopped by a signal after saving. Exit 130 (SIGINT) or 143 (SIGTERM).
    case interrupted(signal: Int32)

    public var exitCode: Int32 {
        switch self {
        case .config: return 2
        case .data: return 3
        case .divergence: return 4
        case .runState: return 5
        case .interrupted(let s): return 128 + s
        }
    }

    public var description: String {
        switch self {
        case .config(let m): return "config error: \(m)"
        case .data(let f, let m): return "data error: \(f): \(m)"
        case .divergence(let m): return "diverged: \(m)"
        case .runState(let m): return "run error: \(m)"
        case .interrupted(let s): return "interrupted by signal \(s)"
        }
    }
}
