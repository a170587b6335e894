import Foundation

/// The one place that bounds sizes read from inputs (configs, checkpoints, imported models,
/// manifests, flags) before anything is allocated from them. Each dimension has a documented
/// maximum far above any model Tessera trains on a CPU, and the memory a structure implies is
/// compared with what the machine has available (MemAvailable), so a hostile or mistyped number
/// ends in a one-line error (exit 2 for a config, 3 for a file) instead of a trap or the OOM killer.
public enum SizeLimits {
    public static let maxDModel = 65_536
    public static let maxLayers = 1_024
    public static let maxHeads = 4_096
    public static let maxVocabulary = 1 << 24
    public static let maxFFNHidden = 1 << 20
    public static let maxSequenceLength = 1 << 20
    /// Rows (batch × sequence) of one forward pass.
    public static let maxRows = 1 << 24
    /// Worker threads of one process (configs and --threads).
    public static let maxThreads = 1_024

    /// Bytes this process may allocate now: MemAvailable from /proc/meminfo (else physical memory),
    /// capped by the process's address-space limit (`ulimit -v`) and by TESSERA_MAX_MEMORY_MB when
    /// set (a budget on a shared machine; the fuzzers run under one, below libFuzzer's RSS limit).
    public static func availableMemory(
        meminfo path: String = "/proc/meminfo", environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Int {
        var available = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
            let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
        {
            available = kb * 1024
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
            limit.rlim_cur < UInt64(Int.max)
        {
            available = min(available, Int(limit.rlim_cur))
        }
        if let cap = environment["TESSERA_MAX_MEMORY_MB"].flatMap({ Int($0) }), cap > 0, cap < Int.max >> 20 {
            available = min(available, cap << 20)
        }
        return available
    }

    /// `count` × `bytesEach`, or nil when the product overflows.
    public static func bytes(_ count: Int, _ bytesEach: Int) -> Int? {
        let (p, o) = count.multipliedReportingOverflow(by: bytesEach)
        return o || count < 0 ? nil : p
    }

    /// Nil when `bytes` fits in the available memory, else the sentence saying why not.
    public static func memoryProblem(_ bytes: Int?, _ what: String, available: Int = availableMemory()) -> String? {
        guard let bytes else { return "\(what) needs more bytes than a 64-bit count holds" }
        guard bytes <= available else {
            return "\(what) needs \(gib(bytes)) but this machine has \(gib(available)) available"
        }
        return nil
    }

    static func gib(_ b: Int) -> String { String(format: "%.2f GiB", Double(b) / Double(1 << 30)) }
}
