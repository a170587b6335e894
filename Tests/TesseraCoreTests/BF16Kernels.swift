import TesseraCore
import Testing

extension Trait where Self == ConditionTrait {
    /// For a test of oneDNN's bf16 kernels: skipped, with the reason in the log, on a CPU where
    /// oneDNN has none (AVX2-only), where `precision: bf16` is a config error anyway.
    static var bf16Kernels: Self {
        .enabled(if: DNNL.hasBF16Kernels, "oneDNN has no bf16 kernels on this CPU (ISA \(DNNL.isaName))")
    }
}
