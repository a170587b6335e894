/// The arithmetic of a model's products: `fp32` on OpenBLAS (the default and the oracle path), or
/// `bf16` — bf16 operands, fp32 accumulation, on oneDNN (`MixedPrecision`).
public enum Precision: String, CaseIterable, Sendable, Codable {
    case fp32, bf16

    /// Why this machine cannot run `self`, nil if it can. bf16 without native instructions would
    /// run oneDNN's emulation, slower than fp32: refused rather than a silent slowdown.
    public func unsupported(flags: Set<String> = BLASKernel.cpuFlags()) -> String? {
        guard self == .bf16, DNNL.bf16Instructions(flags: flags) == nil else { return nil }
        return
            "bf16 needs the avx512_bf16 (or amx_bf16) instructions, which this CPU lacks; use fp32"
    }
}
