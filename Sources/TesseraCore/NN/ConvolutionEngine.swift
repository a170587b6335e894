/// Which library runs a convolution, with `Conv2d`'s contract either way (y overwritten; dx, dW,
/// dB accumulated): Tessera's im2col + OpenBLAS GEMM (`Conv2d`, the oracle the PyTorch fixtures
/// and finite differences check) or oneDNN's convolution primitives (`DNNLConvolution`), with fp32
/// operands or bf16 ones (fp32 results) — or, by default, `auto`: per shape, the fp32 engine that
/// `tessera bench conv` measured faster on each MoVQ shape class.
public enum ConvolutionEngine: String, Sendable, CaseIterable {
    case im2col
    case onednn
    case onednnBF16 = "onednn-bf16"
    case auto

    /// The engine that runs shape `s`; for `auto` a fixed rule of the shape alone (never a timing
    /// taken at run time, which would make a run's bits depend on the machine's load):
    ///
    ///   k × k, k > 1 (every 3×3, stride 1 or 2)   → oneDNN   2.1–4.1× faster forward, 1.5–4.2×
    ///                                                         backward (bench conv, vq-emoji, batch 8)
    ///   1 × 1 with C_in · C_out ≤ 128 (4→4, 4→32)  → im2col   a GEMM of ≤ 128 multiply-adds per
    ///                                                         pixel; the im2col copy is the input
    ///                                                         itself and oneDNN's reorders dominate
    ///                                                         (0.09–0.10 against 0.10–0.12 ms)
    ///   1 × 1 over more (4→64, 64→64, 32→64, …)    → oneDNN   4→64: 0.19 against 0.21 ms; the
    ///                                                         wider ones by 1.4–2.5× backward
    /// A 2-thread training pass of the same network with every convolution on oneDNN was within
    /// the rounds' spread of this rule's first version, which also put 4→64 on im2col (24.1
    /// against 22.9 and 23.6 images/s).
    public func engine(for s: Conv2dShape) -> ConvolutionEngine {
        guard self == .auto else { return self }
        return s.kernel == 1 && s.inChannels * s.outChannels <= 128 ? .im2col : .onednn
    }

    /// y = conv(x, w) + b. `columns` gives the im2col scratch (only that engine asks for it);
    /// `keep`, the layer's copy of x in oneDNN's layout for its backward pass (only oneDNN's).
    public func forward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, columns: () -> UnsafeMutablePointer<Float>,
        keep: DNNLConvolution.KeptInput? = nil
    ) {
        switch engine(for: s) {
        case .im2col, .auto: Conv2d.forward(pool, s, x: x, weight: weight, bias: bias, y: y, cols: columns())
        case .onednn, .onednnBF16:
            DNNLConvolution.shared.forward(
                threads: pool.threads, s, bf16: engine(for: s) == .onednnBF16, x: x, weight: weight, bias: bias, y: y,
                keep: keep)
        }
    }

    /// dx += ∂L/∂x (when given; dx = ∂L/∂x unless `accumulateDx`), dWeight += ∂L/∂w,
    /// dBias += ∂L/∂b. `kept`: what `forward` kept of this same x.
    public func backward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, columns: () -> UnsafeMutablePointer<Float>,
        kept: DNNLConvolution.KeptInput? = nil, accumulateDx: Bool = true
    ) {
        let e = engine(for: s)
        switch e {
        case .im2col, .auto:
            Conv2d.backward(
                pool, s, x: x, weight: weight, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias, cols: columns(),
                accumulateDx: accumulateDx)
        case .onednn, .onednnBF16:
            DNNLConvolution.shared.backward(
                threads: pool.threads, s, bf16: e == .onednnBF16, x: x, weight: weight, dy: dy, dx: dx,
                dWeight: dWeight, dBias: dBias, kept: kept, accumulateDx: accumulateDx)
        }
    }
}
