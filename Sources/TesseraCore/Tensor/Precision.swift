import Foundation

/// The arithmetic of a model's products: `fp32` on OpenBLAS (the default and the oracle path), or
/// `bf16` — bf16 operands, fp32 accumulation, on oneDNN (`MixedPrecision`).
public enum Precision: String, CaseIterable, Sendable, Codable {
    case fp32, bf16

    /// Set to 1, this environment variable lets bf16 run on a CPU without bf16 instructions:
    /// emulated (oneDNN's own emulation on avx512_core, `BF16Emulation` below it), the same
    /// arithmetic, never faster than fp32 (every operand is widened or converted per product) — a
    /// run says so on its first lines. For checking bf16's numerics on any machine, not for speed.
    public static let emulationVariable = "TESSERA_BF16_EMULATION"

    /// Whether this process was asked to emulate bf16 (`emulationVariable` set to 1).
    public static var emulationAllowed: Bool { ProcessInfo.processInfo.environment[emulationVariable] == "1" }

    /// What a run in `self` says on its first lines when it will be emulated (nil: it will not).
    public var emulationNote: String? {
        guard self == .bf16, !DNNL.nativeBF16 else { return nil }
        return
            "note: precision bf16 is emulated on this CPU, which has no bf16 instructions (\(Self.emulationVariable)=1): bf16's arithmetic, for checking its numerics, never faster than fp32"
    }

    /// Why this machine cannot run `self`, nil if it can. bf16 without native instructions would
    /// run emulated, slower than fp32: refused rather than a silent slowdown, unless asked for.
    public func unsupported(
        flags: Set<String> = BLASKernel.cpuFlags(), allowEmulation: Bool = Precision.emulationAllowed
    ) -> String? {
        guard self == .bf16, DNNL.bf16Instructions(flags: flags) == nil, !allowEmulation else { return nil }
        return
            "bf16 needs the avx512_bf16 (or amx_bf16) instructions, which this CPU lacks; use fp32 (or \(Self.emulationVariable)=1 to emulate it, never faster than fp32)"
    }
}
