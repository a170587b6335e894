/// Which library runs a convolution, with `Conv2d`'s contract either way (y overwritten; dx, dW,
/// dB accumulated): Tessera's im2col + OpenBLAS GEMM (`Conv2d`, the oracle the PyTorch fixtures
/// and finite differences check) or oneDNN's convolution primitives (`DNNLConvolution`), with fp32
/// operands or bf16 ones (fp32 results).
public enum ConvolutionEngine: String, Sendable, CaseIterable {
    case im2col
    case onednn
    case onednnBF16 = "onednn-bf16"

    /// y = conv(x, w) + b. `columns` gives the im2col scratch (only that engine asks for it).
    public func forward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, columns: () -> UnsafeMutablePointer<Float>
    ) {
        switch self {
        case .im2col: Conv2d.forward(pool, s, x: x, weight: weight, bias: bias, y: y, cols: columns())
        case .onednn, .onednnBF16:
            DNNLConvolution.shared.forward(
                threads: pool.threads, s, bf16: self == .onednnBF16, x: x, weight: weight, bias: bias, y: y)
        }
    }

    /// dx += ∂L/∂x (when given), dWeight += ∂L/∂w, dBias += ∂L/∂b.
    public func backward(
        _ pool: Parallel, _ s: Conv2dShape, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>?, columns: () -> UnsafeMutablePointer<Float>
    ) {
        switch self {
        case .im2col:
            Conv2d.backward(
                pool, s, x: x, weight: weight, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias, cols: columns())
        case .onednn, .onednnBF16:
            let bf16 = self == .onednnBF16, c = DNNLConvolution.shared
            if let dx { c.backwardData(threads: pool.threads, s, bf16: bf16, weight: weight, dy: dy, dx: dx) }
            c.backwardWeights(threads: pool.threads, s, bf16: bf16, x: x, dy: dy, dWeight: dWeight, dBias: dBias)
        }
    }
}
