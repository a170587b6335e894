import Foundation
import TesseraCore
import Testing

/// The MoVQ fixture's shape, read from the metadata its script wrote (scripts/reference/make_movq_fixture.py).
func movqFixtureConfig(_ st: SafetensorsFile) throws -> MoVQConfig {
    let j = try JSONSerialization.jsonObject(with: Data(st.metadata["config"]!.utf8)) as! [String: Any]
    var c = MoVQConfig()
    c.resolution = j["resolution"] as! Int
    c.ch = j["ch"] as! Int
    c.chMult = j["ch_mult"] as! [Int]
    c.numResBlocks = j["num_res_blocks"] as! Int
    c.attnResolutions = j["attn_resolutions"] as! [Int]
    c.zChannels = j["z_channels"] as! Int
    c.embedDim = j["embed_dim"] as! Int
    c.nEmbed = j["n_embed"] as! Int
    c.normGroups = j["norm_groups"] as! Int
    c.beta = Float(j["beta"] as! Double)
    return c
}

@Suite struct MoVQTests {
    /// Whole-model forward and backward against PyTorch (MoVQGAN's modules rebuilt), loaded by
    /// MoVQGAN's names, on the im2col oracle path and on the default per-shape engines.
    @Test(arguments: [1, 2], [ConvolutionEngine.im2col, .auto])
    func matchesPyTorch(threads: Int, convolutions: ConvolutionEngine) throws {
        let weights = try SafetensorsFile(path: Fixtures.path("movq_weights.safetensors"))
        let out = try SafetensorsFile(path: Fixtures.path("movq_outputs.safetensors"))
        let config = try movqFixtureConfig(weights)
        let model = MoVQModel(config: config, maxBatch: 2, pool: Parallel(threads: threads))
        model.workspace.convolutions = convolutions
        #expect(Set(model.params.names) == Set(weights.names), "parameter names differ from MoVQGAN's")
        try Checkpoint.loadParameters(file: weights.path, into: model.params)
        let x = try out.floats("x")
        let (recon, vq) = x.withUnsafeBufferPointer { model.reconstruct($0.baseAddress!, batch: 2) }
        let n = x.count
        let got = Array(UnsafeBufferPointer(start: recon.p, count: n))
        #expect(relativeError(got, try out.floats("recon")) < 1e-4)
        #expect(Array(model.indices.prefix(2 * config.tokensPerImage)) == (try out.int32s("indices")))
        var mse = 0.0
        for i in 0..<n { let d = Double(got[i] - x[i]); mse += d * d }
        mse /= Double(n)
        #expect(abs(vq - Double(try out.floats("vq_loss")[0])) < 1e-4 * abs(vq))
        #expect(abs(mse + vq - Double(try out.floats("loss")[0])) < 1e-4)

        let dRecon = (0..<n).map { 2 * (got[$0] - x[$0]) / Float(n) }
        model.params.zeroGrads()
        dRecon.withUnsafeBufferPointer { model.backward(dRecon: $0.baseAddress!, vqScale: 1, batch: 2) }
        // Relative to each tensor's largest gradient, floored at 1e-3 of the largest overall: the
        // keys' biases have an exactly-zero true gradient (softmax is shift-invariant per row).
        var expected: [String: [Float]] = [:]
        for s in model.params.slots { expected[s.name] = try out.floats("grad." + s.name) }
        let globalMax = expected.values.map { $0.map(abs).max()! }.max()!
        var worst = ("", 0.0)
        for s in model.params.slots {
            let g = Array(UnsafeBufferPointer(start: model.params.grads.pointer + s.offset, count: s.count))
            let want = expected[s.name]!
            let diff = zip(g, want).map { Double(abs($0 - $1)) }.max()!
            let e = diff / max(Double(want.map(abs).max()!), 1e-3 * Double(globalMax))
            if e > worst.1 { worst = (s.name, e) }
        }
        #expect(worst.1 < 1e-4, "largest gradient error \(worst.1) in \(worst.0)")
    }

    /// The same model with every convolution in bf16 (`precision: bf16`: operands rounded to 8
    /// significand bits, fp32 sums) against the fp32 oracle path, on the fixture's weights and
    /// images: the same codes, and a reconstruction and gradients near fp32's yet visibly rounded.
    /// Each product errs by about 2u relative (u = 2⁻⁸, both operands rounded); the reconstruction
    /// passes the encoder's and decoder's products in series and a gradient passes them twice, so
    /// the bounds are 8u and 16u — twice what was measured (Zen, emulated: 4.0u, and 7.6u at worst,
    /// in encoder.down.2.block.0.norm1.weight).
    @Test func bf16ConvolutionsAgreeWithFP32() throws {
        let weights = try SafetensorsFile(path: Fixtures.path("movq_weights.safetensors"))
        let out = try SafetensorsFile(path: Fixtures.path("movq_outputs.safetensors"))
        let config = try movqFixtureConfig(weights)
        let x = try out.floats("x")
        func run(_ engine: ConvolutionEngine) throws -> (recon: [Float], indices: [Int32], grads: [String: [Float]]) {
            let model = MoVQModel(config: config, maxBatch: 2, pool: Parallel(threads: 2))
            model.workspace.convolutions = engine
            try Checkpoint.loadParameters(file: weights.path, into: model.params)
            let (recon, _) = x.withUnsafeBufferPointer { model.reconstruct($0.baseAddress!, batch: 2) }
            let got = Array(UnsafeBufferPointer(start: recon.p, count: x.count))
            let dRecon = (0..<x.count).map { 2 * (got[$0] - x[$0]) / Float(x.count) }
            model.params.zeroGrads()
            dRecon.withUnsafeBufferPointer { model.backward(dRecon: $0.baseAddress!, vqScale: 1, batch: 2) }
            var grads: [String: [Float]] = [:]
            for s in model.params.slots {
                grads[s.name] = Array(UnsafeBufferPointer(start: model.params.grads.pointer + s.offset, count: s.count))
            }
            return (got, Array(model.indices.prefix(2 * config.tokensPerImage)), grads)
        }
        let fp32 = try run(.im2col), bf16 = try run(.onednnBF16)
        let u = BFloat16.unitRoundoff
        #expect(bf16.indices == fp32.indices)
        let r = relativeError(bf16.recon, fp32.recon)
        #expect(r > u / 64 && r < 8 * u, "reconstruction: relative error \(r)")
        // Each tensor's error relative to its norm, floored at 1e-3 of the largest tensor's norm:
        // the keys' biases have an exactly-zero true gradient (softmax is shift-invariant per row).
        func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let floor = 1e-3 * fp32.grads.values.map(norm).max()!
        var worst = ("", 0.0)
        for (name, g32) in fp32.grads {
            let e = norm(zip(bf16.grads[name]!, g32).map { $0 - $1 }) / max(norm(g32), floor)
            if e > worst.1 { worst = (name, e) }
        }
        #expect(worst.1 < 16 * u, "largest relative gradient error \(worst.1) in \(worst.0)")
    }

    /// VQ-T64 of architecture.md §8.1 has the parameter count derived there.
    @Test func parameterCount() {
        var c = MoVQConfig()
        c.resolution = 64; c.ch = 32; c.chMult = [1, 2, 2]; c.numResBlocks = 1; c.attnResolutions = [16];
        c.nEmbed = 1024
        let m = MoVQModel(config: c, maxBatch: 1, pool: Parallel(threads: 1))
        #expect(m.params.parameterCount == 1_018_127)
        #expect(m.tokensPerImage == 256)
    }
}

@Suite struct PatchDiscriminatorTests {
    /// NLayerDiscriminator (BatchNorm, training mode) against PyTorch: logits, running statistics,
    /// parameter and input gradients (scripts/reference/make_discriminator_fixture.py).
    @Test func matchesPyTorch() throws {
        let f = try SafetensorsFile(path: Fixtures.path("discriminator.safetensors"))
        let d = PatchDiscriminator(ndf: 8, layers: 2, resolution: 16, maxBatch: 3, pool: Parallel(threads: 2))
        for s in d.params.slots { try f.read(s.name, into: d.params.values.pointer + s.offset, count: s.count) }
        let x = try f.floats("x")
        let logits = x.withUnsafeBufferPointer { d.forward($0.baseAddress!, batch: 3) }
        let want = try f.floats("logits")
        #expect(relativeError(Array(UnsafeBufferPointer(start: logits.p, count: want.count)), want) < 1e-4)
        for (name, buf) in d.buffers {
            #expect(relativeError(buf.toArray(), try f.floats(name)) < 1e-4, "\(name)")
        }
        let r = try f.floats("r")
        d.params.zeroGrads()
        let dx = r.withUnsafeBufferPointer { d.backward(dLogits: $0.baseAddress!, batch: 3) }
        #expect(relativeError(Array(UnsafeBufferPointer(start: dx.p, count: x.count)), try f.floats("grad.x")) < 1e-4)
        for s in d.params.slots {
            let g = Array(UnsafeBufferPointer(start: d.params.grads.pointer + s.offset, count: s.count))
            #expect(relativeError(g, try f.floats("grad." + s.name)) < 1e-4, "\(s.name)")
        }
    }
}
