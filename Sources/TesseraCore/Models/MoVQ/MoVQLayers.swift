import Foundation

/// Building blocks of the MoVQ encoder and decoder. Each block owns its output and input-gradient
/// maps, sized for the largest batch it will see, and remembers what forward saw so backward can
/// run without recomputation. Parameters live in one `ParameterStore` under SBER-MoVQGAN's names;
/// a block holds `Param` handles that are bound to the store's memory once it exists.

/// A named tensor in the store, resolved after the whole network has been declared.
public final class Param {
    public let name: String
    public let shape: [Int]
    public enum Init { case uniform(Float), normal(mean: Float, std: Float), ones, zeros }
    let initializer: Init
    var value: UnsafeMutablePointer<Float>!
    var grad: UnsafeMutablePointer<Float>!
    init(_ name: String, _ shape: [Int], _ initializer: Init) {
        self.name = name; self.shape = shape; self.initializer = initializer
    }
    var count: Int { shape.reduce(1, *) }
}

/// Collects parameter declarations in order, then makes the store and binds every handle to it.
public final class ParamRegistry {
    private(set) var params: [Param] = []
    /// Multiply-adds ×2 per image of every convolution and attention product, by module path
    /// (for benchmarks' GFLOP/s).
    var flops: [(name: String, perImage: Double)] = []
    /// Every convolution's shape at the model's largest batch, by module path (`bench conv`).
    var convolutions: [(name: String, shape: Conv2dShape)] = []
    func add(_ name: String, _ shape: [Int], _ initializer: Param.Init) -> Param {
        let p = Param(name, shape, initializer)
        params.append(p)
        return p
    }
    /// Draws every parameter from its initializer, each tensor from its own named stream.
    func initialize(seed: UInt64) {
        for p in params {
            let v = p.value!
            switch p.initializer {
            case .ones: v.update(repeating: 1, count: p.count)
            case .zeros: v.update(repeating: 0, count: p.count)
            case .uniform(let bound):
                var rng = RandomStream(seed: seed, name: "init/" + p.name)
                for i in 0..<p.count { v[i] = (rng.uniform() * 2 - 1) * bound }
            case .normal(let mean, let std):
                var rng = RandomStream(seed: seed, name: "init/" + p.name)
                for i in 0..<p.count { v[i] = mean + std * rng.normal() }
            }
        }
    }

    func makeStore() -> ParameterStore {
        let store = ParameterStore(shapes: params.map { ($0.name, $0.shape) })
        for p in params { p.value = store.value(p.name); p.grad = store.grad(p.name) }
        return store
    }
}

/// Shared scratch space and the thread pool; grows on first use, then never allocates.
public final class Workspace {
    /// Who owns each scratch slot. A slot is live from `scratch(_:_:)` until its owner's last read;
    /// a caller may hold a slot across a call only if no callee takes the same one. The nesting
    /// below (outer owners hold their slot while inner ones run) is why each has its own:
    ///   MoVQModel.backward (encoderGrad) → Encoder/Decoder.backward (coderGrad)
    ///     → ResnetBlock (blockGradA, blockGradB), AttentionBlock (blockGradA, attentionProbs),
    ///       UpsampleBlock (blockGradA) → NormLayer (normScale, normShift) → ConvBlock (convColumns).
    /// The category classifier's backward holds blockGradA (∂L/∂conv output) while its norm and
    /// convolution run.
    enum Slot: Int, CaseIterable {
        /// im2col columns of the convolution running now (ConvBlock forward and backward).
        case convColumns
        /// SpatialNorm backward: ∂L/∂scale and ∂L/∂shift on the z_q grid, until the two 1×1
        /// convolutions that made them have taken them back (NormLayer.backward).
        case normScale, normShift
        /// One block's backward: the gradient in flight (ResnetBlock's tA, AttentionBlock's ∂L/∂norm
        /// output, UpsampleBlock's ∂L/∂upsampled, PatchDiscriminator's running ∂L/∂activation)…
        case blockGradA
        /// …and the second one a block needs at once (ResnetBlock's tB, the discriminator's ∂L/∂conv).
        case blockGradB
        /// SpatialAttention backward: one positions × positions probability block per worker.
        case attentionProbs
        /// Encoder/Decoder backward: ∂L/∂(the last stage's output), while the stages run backward.
        case coderGrad
        /// MoVQModel backward: ∂L/∂(encoder output), while the encoder runs backward.
        case encoderGrad
    }

    public let pool: Parallel
    /// Who runs the convolutions (per shape the faster measured engine by default).
    public var convolutions: ConvolutionEngine = .auto
    /// Wall time by kind of work (`tessera bench vq --profile`); nil costs nothing.
    public var timer: PhaseTimer?
    private var buffers: [FloatBuffer] = Slot.allCases.map { _ in FloatBuffer(count: 16) }
    public init(pool: Parallel) { self.pool = pool }

    /// Slot `slot` with at least `count` floats (contents undefined). Growing replaces the buffer,
    /// so a pointer taken earlier from the same slot is no longer valid.
    func scratch(_ slot: Slot, _ count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if buffers[i].count < count { buffers[i] = FloatBuffer(count: count) }
        return buffers[i].pointer
    }
}

/// A [batch, C, H, W] map in a flat buffer allocated for `maxBatch` images.
public final class FeatureMap {
    public let channels, height, width, maxBatch: Int
    public let buffer: FloatBuffer
    public init(_ c: Int, _ h: Int, _ w: Int, maxBatch: Int) {
        channels = c; height = h; width = w; self.maxBatch = maxBatch
        buffer = FloatBuffer(count: max(1, c * h * w * maxBatch))
    }
    public var size: Int { channels * height * width }
    public var p: UnsafeMutablePointer<Float> { buffer.pointer }
    func count(_ batch: Int) -> Int { size * batch }
}

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

/// GroupNorm (`name.weight`, `name.bias`) or, when `zqChannels` is set, MoVQ's SpatialNorm:
/// GN(f)·conv_y(zq↑) + conv_b(zq↑) under `name.norm_layer.*`, `name.conv_y.*`, `name.conv_b.*`.
/// A 1×1 convolution commutes with nearest upsampling, so conv_y and conv_b run at the code grid's
/// resolution and are upsampled after: the same values for (H·W)/(h·w) times less work.
final class NormBlock {
    let weight, bias: Param
    let gn: GroupNormShape
    let out: FeatureMap
    let normed: FeatureMap?  // GN(f), kept for SpatialNorm's backward
    let convY, convB: ConvBlock?
    let dNormed: FeatureMap?
    let zqHeight, zqWidth: Int
    private let mean, rstd: FloatBuffer
    private var input: UnsafePointer<Float>!
    init(
        _ r: ParamRegistry, _ name: String, channels: Int, height: Int, width: Int, groups: Int, eps: Float,
        zq: (channels: Int, height: Int, width: Int)?, maxBatch: Int
    ) {
        let prefix = zq == nil ? name : name + ".norm_layer"
        weight = r.add(prefix + ".weight", [channels], .ones)
        bias = r.add(prefix + ".bias", [channels], .zeros)
        gn = GroupNormShape(batch: maxBatch, channels: channels, spatial: height * width, groups: groups, eps: eps)
        out = FeatureMap(channels, height, width, maxBatch: maxBatch)
        mean = FloatBuffer(count: gn.stats)
        rstd = FloatBuffer(count: gn.stats)
        if let zq {
            normed = FeatureMap(channels, height, width, maxBatch: maxBatch)
            dNormed = FeatureMap(channels, height, width, maxBatch: maxBatch)
            convY = ConvBlock(
                r, name + ".conv_y", cin: zq.channels, cout: channels, kernel: 1, height: zq.height, width: zq.width,
                maxBatch: maxBatch)
            convB = ConvBlock(
                r, name + ".conv_b", cin: zq.channels, cout: channels, kernel: 1, height: zq.height, width: zq.width,
                maxBatch: maxBatch)
            zqHeight = zq.height; zqWidth = zq.width
        } else {
            normed = nil; dNormed = nil; convY = nil; convB = nil; zqHeight = 0; zqWidth = 0
        }
    }

    func shape(_ batch: Int) -> GroupNormShape {
        GroupNormShape(batch: batch, channels: gn.channels, spatial: gn.spatial, groups: gn.groups, eps: gn.eps)
    }

    @discardableResult
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        input = x
        guard let normed, let convY, let convB, let zq else {
            ws.timer.measure("norm forward") {
                GroupNorm.forward(
                    ws.pool, shape(batch), x: x, weight: weight.value, bias: bias.value, y: out.p, mean: mean.pointer,
                    rstd: rstd.pointer)
            }
            return out
        }
        ws.timer.measure("norm forward") {
            GroupNorm.forward(
                ws.pool, shape(batch), x: x, weight: weight.value, bias: bias.value, y: normed.p, mean: mean.pointer,
                rstd: rstd.pointer)
        }
        let a = convY.forward(ws, zq, batch: batch).p, b = convB.forward(ws, zq, batch: batch).p
        ws.timer.measure("norm forward") {
            SpatialNorm.forward(
                ws.pool, normed: normed.p, scale: a, shift: b, out: out.p, planes: batch * out.channels,
                height: out.height, width: out.width, gridHeight: zqHeight, gridWidth: zqWidth)
        }
        return out
    }

    /// dx (+)= ∂L/∂x; for SpatialNorm also dzq += ∂L/∂zq. Parameter gradients accumulate.
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, accumulate: Bool,
        dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) {
        guard let normed, let dNormed, let convY, let convB else {
            ws.timer.measure("norm backward") {
                GroupNorm.backward(
                    ws.pool, shape(batch), x: input, weight: weight.value, mean: mean.pointer, rstd: rstd.pointer,
                    dy: dy, dx: dx, accumulate: accumulate, dWeight: weight.grad, dBias: bias.grad)
            }
            return
        }
        let lo = batch * out.channels * zqHeight * zqWidth
        let dA = ws.scratch(.normScale, lo), dB = ws.scratch(.normShift, lo)
        ws.timer.measure("norm backward") {
            SpatialNorm.backward(
                ws.pool, normed: normed.p, scale: convY.out.p, dy: dy, dNormed: dNormed.p, dScale: dA, dShift: dB,
                planes: batch * out.channels, height: out.height, width: out.width, gridHeight: zqHeight,
                gridWidth: zqWidth)
            GroupNorm.backward(
                ws.pool, shape(batch), x: input, weight: weight.value, mean: mean.pointer, rstd: rstd.pointer,
                dy: dNormed.p, dx: dx, accumulate: accumulate, dWeight: weight.grad, dBias: bias.grad)
        }
        convY.backward(ws, dA, dx: dzq, batch: batch)
        convB.backward(ws, dB, dx: dzq, batch: batch)
    }
}
