import Foundation

/// Which OpenBLAS kernel set runs the GEMMs, and whether a better one fits this CPU. OpenBLAS picks
/// its kernels from the CPU model at load time; a model newer than the library (Debian 12 ships
/// 0.3.21) falls back to a generic SSE3 set ("Prescott") even on AVX-512 hardware, about 2.7× slower
/// on the text-to-image study here. The choice can only be changed through OPENBLAS_CORETYPE before
/// the library loads, so Tessera reports it and says what to set; it never changes it by itself.
public enum BLASKernel {
    /// OpenBLAS's names for its generic x86 fallbacks.
    static let generic: Set<String> = [
        "Prescott", "Core2", "Katmai", "Coppermine", "Northwood", "Banias", "Penryn", "Dunnington", "Nehalem", "Atom",
    ]

    /// The kernel set this CPU's instruction sets support best, from the flags of /proc/cpuinfo:
    /// AVX-512 F, BW, DQ, VL and CD → SkylakeX; AVX2 and FMA → Haswell; nil otherwise.
    public static func supported(flags: Set<String>) -> String? {
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The CPU flags of the first processor in /proc/cpuinfo (empty where there is none).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// A better kernel set when OpenBLAS fell back to a generic one on a CPU that supports more,
    /// and OPENBLAS_CORETYPE was not set by the user; nil otherwise.
    public static func advice(
        core: String = Gemm.coreName, flags: Set<String> = cpuFlags(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, generic.contains(core) else { return nil }
        return supported(flags: flags)
    }
}
