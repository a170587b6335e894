/// Building blocks of the MoVQ encoder and decoder (this one, `NormBlock`, `ResnetBlock`,
/// `AttnBlock`, `DownsampleBlock`, `UpsampleBlock`). Each block owns its output and input-gradient
/// maps, sized for the largest batch it will see, and remembers what forward saw so backward can
/// run without recomputation.

/// Conv2d with bias under `name.weight` [Cout, Cin, k, k] and `name.bias` [Cout].
final class ConvBlock {
    let weight: Param
    let bias: Param?
    let shape: Conv2dShape
    let out: FeatureMap
    private var input: UnsafePointer<Float>!
    /// The input as oneDNN's forward reordered it, for the weight gradient (oneDNN engines only).
    private let keptInput = DNNLConvolution.KeptInput()
    /// `initStd` set: weights ~ N(0, std) (the discriminator's init); otherwise PyTorch's default.
    init(
        _ r: ParamRegistry, _ name: String, cin: Int, cout: Int, kernel: Int, stride: Int = 1, padBefore: Int,
        padAfter: Int,
        height: Int, width: Int, maxBatch: Int, bias hasBias: Bool = true, initStd: Float? = nil
    ) {
        let bound = 1 / Float(cin * kernel * kernel).squareRoot()  // PyTorch's default (kaiming_uniform, a = √5)
        weight = r.add(
            name + ".weight", [cout, cin, kernel, kernel], initStd.map { .normal(mean: 0, std: $0) } ?? .uniform(bound))
        bias = hasBias ? r.add(name + ".bias", [cout], .uniform(bound)) : nil
        shape = Conv2dShape(
            batch: maxBatch, inChannels: cin, outChannels: cout, height: height, width: width, kernel: kernel,
            stride: stride, padBefore: padBefore, padAfter: padAfter)
        out = FeatureMap(cout, shape.outHeight, shape.outWidth, maxBatch: maxBatch)
        r.flops.append((name, 2 * Double(shape.patch * cout * shape.outHeight * shape.outWidth)))
        r.convolutions.append((name, shape))
    }
    convenience init(
        _ r: ParamRegistry, _ name: String, cin: Int, cout: Int, kernel: Int, height: Int, width: Int, maxBatch: Int
    ) {
        self.init(
            r, name, cin: cin, cout: cout, kernel: kernel, padBefore: kernel / 2, padAfter: kernel / 2,
            height: height, width: width, maxBatch: maxBatch)
    }

    @discardableResult
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        input = x
        let s = shape.with(batch: batch)
        ws.timer.measure(phase("forward", ws)) {
            ws.convolutions.forward(
                ws.pool, s, x: x, weight: weight.value, bias: bias?.value, y: out.p,
                columns: { ws.scratch(.convColumns, s.scratch) }, keep: keptInput)
        }
        return out
    }

    /// dx += ∂L/∂x (when dx is given; dx = ∂L/∂x unless `accumulate`); parameter gradients accumulate.
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, batch: Int,
        accumulate: Bool = true
    ) {
        let s = shape.with(batch: batch)
        ws.timer.measure(phase("backward", ws)) {
            ws.convolutions.backward(
                ws.pool, s, x: input, weight: weight.value, dy: dy, dx: dx, dWeight: weight.grad, dBias: bias?.grad,
                columns: { ws.scratch(.convColumns, s.scratch) }, kept: keptInput, accumulateDx: accumulate)
        }
    }

    /// The profile's name for this convolution's pass: "conv 3×3 backward (onednn)".
    private func phase(_ pass: String, _ ws: Workspace) -> String {
        guard ws.timer != nil else { return "" }
        return "conv \(shape.kernel)×\(shape.kernel) \(pass) (\(ws.convolutions.engine(for: shape).rawValue))"
    }
}
