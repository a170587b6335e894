import Foundation

/// MoVQGAN's PatchGAN discriminator (taming's NLayerDiscriminator, BatchNorm, no ActNorm) under the
/// names a MoVQGAN training checkpoint gives it, `loss.discriminator.main.{i}.*`:
///   main.0  Conv 4×4 s2 p1 3 → ndf (+bias), LeakyReLU 0.2
///   then per layer n = 1 ..< nLayers:  Conv 4×4 s2 p1 (no bias), BatchNorm, LeakyReLU
///   then Conv 4×4 s1 p1 (no bias), BatchNorm, LeakyReLU;  last Conv 4×4 s1 p1 → 1 (+bias)
/// Widths ndf·min(2ⁿ, 8). Weights ~ N(0, 0.02), BatchNorm γ ~ N(1, 0.02), β = 0. BatchNorm uses
/// each call's batch statistics (training mode), as the real and fake batches are scored separately.
public final class PatchDiscriminator {
    public static let slope: Float = 0.2
    public let params: ParameterStore
    let workspace: Workspace
    let convs: [ConvBlock]
    /// Per conv after the first and before the last: BatchNorm γ/β, saved stats, running stats, output.
    struct Norm {
        let weight, bias: Param
        let mean, rstd, runningMean, runningVar: FloatBuffer
        let out: FeatureMap
    }
    let norms: [Norm]
    let acts: [FeatureMap]  // LeakyReLU outputs, one per conv but the last
    let dIn: FeatureMap
    public let maxBatch: Int
    private let registry: ParamRegistry
    /// Batches the running statistics have seen (PyTorch's num_batches_tracked).
    public var batchesTracked = 0

    public init(inChannels: Int = 3, ndf: Int, layers: Int, resolution: Int, maxBatch: Int, pool: Parallel) {
        self.maxBatch = maxBatch
        workspace = Workspace(pool: pool)
        let r = ParamRegistry()
        var convs: [ConvBlock] = [], norms: [Norm] = [], acts: [FeatureMap] = []
        var side = resolution, index = 0, cin = inChannels, width = ndf
        func conv(_ cout: Int, stride: Int, bias: Bool) -> ConvBlock {
            let c = ConvBlock(
                r, "loss.discriminator.main.\(index)", cin: cin, cout: cout,
                kernel: 4, stride: stride, padBefore: 1, padAfter: 1, height: side, width: side, maxBatch: maxBatch,
                bias: bias, initStd: 0.02)
            side = c.shape.outHeight
            cin = cout
            return c
        }
        func norm(_ c: Int) -> Norm {
            index += 1
            let n = Norm(
                weight: r.add("loss.discriminator.main.\(index).weight", [c], .normal(mean: 1, std: 0.02)),
                bias: r.add("loss.discriminator.main.\(index).bias", [c], .zeros),
                mean: FloatBuffer(count: c), rstd: FloatBuffer(count: c), runningMean: FloatBuffer(count: c),
                runningVar: FloatBuffer(count: c), out: FeatureMap(c, side, side, maxBatch: maxBatch))
            n.runningVar.pointer.update(repeating: 1, count: c)
            return n
        }
        convs.append(conv(ndf, stride: 2, bias: true))
        acts.append(FeatureMap(ndf, side, side, maxBatch: maxBatch))
        index += 2
        for n in 1...layers {
            width = ndf * min(1 << n, 8)
            convs.append(conv(width, stride: n < layers ? 2 : 1, bias: false))
            norms.append(norm(width))
            acts.append(FeatureMap(width, side, side, maxBatch: maxBatch))
            index += 2
        }
        convs.append(conv(1, stride: 1, bias: true))
        precondition(side >= 1, "the discriminator needs images of at least \(resolution) pixels")
        self.convs = convs; self.norms = norms; self.acts = acts
        dIn = FeatureMap(inChannels, resolution, resolution, maxBatch: maxBatch)
        params = r.makeStore()
        registry = r
    }

    public func initialize(seed: UInt64) {
        registry.initialize(seed: seed)
        for n in norms {
            n.runningMean.pointer.update(repeating: 0, count: n.runningMean.count)
            n.runningVar.pointer.update(repeating: 1, count: n.runningVar.count)
        }
        batchesTracked = 0
    }

    /// Logits per patch, [batch, 1, s, s].
    public var logits: FeatureMap { convs.last!.out }
    public var logitCount: Int { logits.size }

    /// Scores `batch` images in [−1, 1]; updates the running statistics.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        let ws = workspace, pool = ws.pool
        var h = convs[0].forward(ws, x, batch: batch)
        LeakyReLU.forward(pool, x: h.p, y: acts[0].p, count: acts[0].count(batch), slope: Self.slope)
        for (i, n) in norms.enumerated() {
            h = convs[i + 1].forward(ws, acts[i].p, batch: batch)
            BatchNorm.forward(
                pool, x: h.p, batch: batch, channels: h.channels, spatial: h.height * h.width, eps: 1e-5,
                weight: n.weight.value, bias: n.bias.value, y: n.out.p, mean: n.mean.pointer, rstd: n.rstd.pointer,
                runningMean: n.runningMean.pointer, runningVar: n.runningVar.pointer)
            LeakyReLU.forward(pool, x: n.out.p, y: acts[i + 1].p, count: acts[i + 1].count(batch), slope: Self.slope)
        }
        batchesTracked += 1
        return convs.last!.forward(ws, acts[norms.count].p, batch: batch)
    }

    /// Backward from ∂L/∂logits: parameter gradients accumulate; returns ∂L/∂images (own buffer).
    @discardableResult
    public func backward(dLogits: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        let ws = workspace, pool = ws.pool
        var g = ws.scratch(.blockGradA, acts[norms.count].count(batch))
        g.update(repeating: 0, count: acts[norms.count].count(batch))
        convs.last!.backward(ws, dLogits, dx: g, batch: batch)
        for i in stride(from: norms.count - 1, through: 0, by: -1) {
            let n = norms[i], a = acts[i + 1], count = a.count(batch)
            LeakyReLU.backward(pool, x: n.out.p, dy: g, dx: g, count: count, slope: Self.slope)
            let dConv = ws.scratch(.blockGradB, count)
            BatchNorm.backward(
                pool, x: convs[i + 1].out.p, batch: batch, channels: a.channels, spatial: a.height * a.width,
                weight: n.weight.value, mean: n.mean.pointer, rstd: n.rstd.pointer, dy: g, dx: dConv,
                dWeight: n.weight.grad, dBias: n.bias.grad)
            // g has been consumed into dConv, so its slot takes the next gradient.
            let next = ws.scratch(.blockGradA, acts[i].count(batch))
            next.update(repeating: 0, count: acts[i].count(batch))
            convs[i + 1].backward(ws, dConv, dx: next, batch: batch)
            g = next
        }
        LeakyReLU.backward(pool, x: convs[0].out.p, dy: g, dx: g, count: acts[0].count(batch), slope: Self.slope)
        dIn.p.update(repeating: 0, count: dIn.count(batch))
        convs[0].backward(ws, g, dx: dIn.p, batch: batch)
        return dIn
    }

    /// Running statistics under PyTorch's buffer names, for checkpoints.
    public var buffers: [(name: String, values: FloatBuffer)] {
        norms.flatMap { n -> [(String, FloatBuffer)] in
            let base = String(n.weight.name.dropLast(".weight".count))
            return [(base + ".running_mean", n.runningMean), (base + ".running_var", n.runningVar)]
        }
    }
}
