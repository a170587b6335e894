import Foundation
import TesseraCore
import Testing

/// The kernel advice: only for a generic fallback, only when the user set nothing, and only a set
/// the CPU's flags support.
@Suite struct BLASKernelTests {
    static let avx512: Set<String> = ["sse3", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]

    @Test func adviceOnlyForGenericFallbacks() {
        #expect(BLASKernel.advice(core: "Prescott", flags: Self.avx512, environment: [:]) == "SkylakeX")
        #expect(BLASKernel.advice(core: "Prescott", flags: ["sse3", "avx2", "fma"], environment: [:]) == "Haswell")
        // AVX-512 F alone, no AVX2: nothing fits
        #expect(BLASKernel.advice(core: "Prescott", flags: ["sse3", "avx512f"], environment: [:]) == nil)
        // a specific set: keep it
        #expect(BLASKernel.advice(core: "SkylakeX", flags: Self.avx512, environment: [:]) == nil)
        #expect(
            BLASKernel.advice(core: "Prescott", flags: Self.avx512, environment: ["OPENBLAS_CORETYPE": "Prescott"])
                == nil)  // the user chose
    }

    @Test func cpuFlagsAreRead() throws {
        let dir = tempDirectory("cpuinfo")
        try FileIO.writeAtomically(
            dir + "/cpuinfo", data: Data("processor\t: 0\nflags\t\t: fpu sse3 avx2 fma\n\nflags\t: other\n".utf8))
        #expect(BLASKernel.cpuFlags(cpuinfo: dir + "/cpuinfo") == ["fpu", "sse3", "avx2", "fma"])
        #expect(BLASKernel.cpuFlags(cpuinfo: dir + "/missing").isEmpty)
    }
}
