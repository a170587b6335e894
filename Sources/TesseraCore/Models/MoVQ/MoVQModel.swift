import Foundation

/// The MoVQ image tokenizer (SBER-MoVQGAN's `MOVQ`): encoder → quant_conv → vector quantizer →
/// post_quant_conv → decoder, the decoder's norms conditioned on the code vectors. Images are
/// NCHW in [−1, 1]; codes are raster-ordered per image (token t at grid row t / side, column t % side).
///
/// Parameter names follow SBER-MoVQGAN's state dict (`encoder.*`, `quant_conv.*`,
/// `quantize.embedding.weight`, `post_quant_conv.*`, `decoder.*`), so a converted checkpoint of
/// theirs loads by name.
public final class MoVQModel {
    public let config: MoVQConfig
    public let maxBatch: Int
    public let params: ParameterStore
    public let workspace: Workspace
    let encoder: MoVQCoder
    let decoder: MoVQCoder
    let quantConv, postQuantConv: ConvBlock
    let codebook: Param

    // Code grid, as NCHW maps and as rows [B·side·side, embedDim].
    let zRows, quantRows, dQuantRows, dZRows: FloatBuffer
    let quant, dQuant, dZ: FeatureMap
    let input: FeatureMap
    public let indices: UnsafeMutableBufferPointer<Int32>
    let scores, codeNorms: FloatBuffer
    /// Per-code assignment counts since the last `resetUsage()`.
    public private(set) var usage: [Int]
    private var reconstruction: FeatureMap!

    public init(config: MoVQConfig, maxBatch: Int, pool: Parallel) {
        self.config = config
        self.maxBatch = maxBatch
        workspace = Workspace(pool: pool)
        let r = ParamRegistry()
        encoder = MoVQCoder.encoder(r, config, maxBatch: maxBatch)
        let g = config.gridSide
        quantConv = ConvBlock(
            r, "quant_conv", cin: config.zChannels, cout: config.embedDim, kernel: 1, height: g, width: g,
            maxBatch: maxBatch)
        codebook = r.add(
            "quantize.embedding.weight", [config.nEmbed, config.embedDim], .uniform(1 / Float(config.nEmbed)))
        postQuantConv = ConvBlock(
            r, "post_quant_conv", cin: config.embedDim, cout: config.zChannels, kernel: 1, height: g, width: g,
            maxBatch: maxBatch)
        decoder = MoVQCoder.decoder(r, config, maxBatch: maxBatch)
        params = r.makeStore()
        let enc = r.flops.filter { $0.name.hasPrefix("encoder.") || $0.name.hasPrefix("quant_conv") }.reduce(0) {
            $0 + $1.perImage
        }
        encodeFLOPs = enc + 2 * Double(config.tokensPerImage * config.nEmbed * config.embedDim)
        decodeFLOPs = r.flops.reduce(0) { $0 + $1.perImage } - enc
        registry = r
        let rows = maxBatch * g * g
        zRows = FloatBuffer(count: rows * config.embedDim)
        quantRows = FloatBuffer(count: rows * config.embedDim)
        dQuantRows = FloatBuffer(count: rows * config.embedDim)
        dZRows = FloatBuffer(count: rows * config.embedDim)
        quant = FeatureMap(config.embedDim, g, g, maxBatch: maxBatch)
        input = FeatureMap(config.inChannels, config.resolution, config.resolution, maxBatch: maxBatch)
        dQuant = FeatureMap(config.embedDim, g, g, maxBatch: maxBatch)
        dZ = FeatureMap(config.embedDim, g, g, maxBatch: maxBatch)
        indices = .allocate(capacity: rows)
        indices.initialize(repeating: 0)
        scores = FloatBuffer(count: rows * config.nEmbed)
        codeNorms = FloatBuffer(count: config.nEmbed)
        usage = [Int](repeating: 0, count: config.nEmbed)
    }

    deinit { indices.deallocate() }

    private let registry: ParamRegistry
    /// Every convolution of the encoder and decoder, by module path, at batch `maxBatch`.
    public var convolutionShapes: [(name: String, shape: Conv2dShape)] { registry.convolutions }
    /// FLOPs per image of an encode (convolutions, attention, code distances) and of a decode.
    public let encodeFLOPs: Double
    public let decodeFLOPs: Double
    var pool: Parallel { workspace.pool }
    public var tokensPerImage: Int { config.tokensPerImage }
    public var imageSize: Int { config.inChannels * config.resolution * config.resolution }

    /// PyTorch's default initialisation (uniform ±1/√fan_in for convolutions, GroupNorm 1/0) and
    /// MoVQGAN's U(−1/K, 1/K) codebook; each tensor draws from its own named stream.
    public func initialize(seed: UInt64) { registry.initialize(seed: seed) }

    // MARK: - layout between maps and rows

    /// NCHW [B, E, g, g] → rows [B·g·g, E].
    func toRows(_ map: UnsafePointer<Float>, _ rows: UnsafeMutablePointer<Float>, batch: Int) {
        let e = config.embedDim, n = config.tokensPerImage
        for b in 0..<batch {
            for c in 0..<e { for t in 0..<n { rows[(b * n + t) * e + c] = map[(b * e + c) * n + t] } }
        }
    }

    func toMap(_ rows: UnsafePointer<Float>, _ map: UnsafeMutablePointer<Float>, batch: Int) {
        let e = config.embedDim, n = config.tokensPerImage
        for b in 0..<batch {
            for c in 0..<e { for t in 0..<n { map[(b * e + c) * n + t] = rows[(b * n + t) * e + c] } }
        }
    }

    // MARK: - passes

    /// Encodes `batch` images to code indices (in `indices`); returns the VQ loss.
    @discardableResult
    public func encode(_ images: UnsafePointer<Float>, batch: Int, countUsage: Bool = true) -> Double {
        precondition(batch <= maxBatch, "batch \(batch) exceeds the model's maxBatch \(maxBatch)")
        // Backward reads the input again; a copy keeps it valid whatever the caller does with its buffer.
        input.p.update(from: images, count: input.count(batch))
        let h = encoder.forward(workspace, input.p, zq: nil, batch: batch)
        let z = quantConv.forward(workspace, h.p, batch: batch)
        toRows(z.p, zRows.pointer, batch: batch)
        let loss = usage.withUnsafeMutableBufferPointer { u in
            VectorQuantizer.forward(
                pool, z: zRows.pointer, codebook: codebook.value, rows: batch * tokensPerImage,
                dim: config.embedDim, codes: config.nEmbed, beta: config.beta, indices: indices.baseAddress!,
                zq: quantRows.pointer, usage: countUsage ? u.baseAddress! : nil,
                scores: scores.pointer, codeNorms: codeNorms.pointer)
        }
        toMap(quantRows.pointer, quant.p, batch: batch)
        return loss
    }

    /// Decodes the quantised map in `quant` (set by `encode` or `setCodes`); returns the image map.
    @discardableResult
    public func decodeQuant(batch: Int) -> FeatureMap {
        let post = postQuantConv.forward(workspace, quant.p, batch: batch)
        reconstruction = decoder.forward(workspace, post.p, zq: quant.p, batch: batch)
        return reconstruction
    }

    /// Looks up code vectors for `batch` grids of indices (raster order) into `quant`.
    public func setCodes(_ codes: UnsafePointer<Int32>, batch: Int) {
        let e = config.embedDim, n = batch * tokensPerImage
        for i in 0..<n {
            let k = Int(codes[i])
            precondition(k >= 0 && k < config.nEmbed, "code \(k) outside the codebook of \(config.nEmbed)")
            indices[i] = codes[i]
            (quantRows.pointer + i * e).update(from: codebook.value + k * e, count: e)
        }
        toMap(quantRows.pointer, quant.p, batch: batch)
    }

    /// Full forward: reconstruction of `images` in the returned map, and the VQ loss.
    public func reconstruct(_ images: UnsafePointer<Float>, batch: Int, countUsage: Bool = true) -> (FeatureMap, Double)
    {
        let vq = encode(images, batch: batch, countUsage: countUsage)
        return (decodeQuant(batch: batch), vq)
    }

    /// Backward from ∂L/∂reconstruction (`dRecon`) with the VQ loss weighted by `vqScale`.
    /// Parameter gradients accumulate into `params.grads`.
    public func backward(dRecon: UnsafePointer<Float>, vqScale: Float, batch: Int) {
        let count = dQuant.count(batch)
        dQuant.p.update(repeating: 0, count: count)
        let dPost = decoder.backward(workspace, dRecon, dzq: dQuant.p, batch: batch)!
        postQuantConv.backward(workspace, dPost.p, dx: dQuant.p, batch: batch)
        // Straight-through: the decoder's gradient with respect to z_q passes to z unchanged.
        toRows(dQuant.p, dQuantRows.pointer, batch: batch)
        dZRows.pointer.update(repeating: 0, count: count)
        VectorQuantizer.backward(
            z: zRows.pointer, zq: quantRows.pointer, indices: indices.baseAddress!, rows: batch * tokensPerImage,
            dim: config.embedDim, beta: config.beta, lossScale: vqScale, dzqST: dQuantRows.pointer,
            dz: dZRows.pointer, dCodebook: codebook.grad)
        toMap(dZRows.pointer, dZ.p, batch: batch)
        let dH = workspace.scratch(.encoderGrad, encoder.convOut.out.count(batch))
        dH.update(repeating: 0, count: encoder.convOut.out.count(batch))
        quantConv.backward(workspace, dZ.p, dx: dH, batch: batch)
        encoder.backward(workspace, dH, dzq: nil, batch: batch)
    }

    public func resetUsage() { for i in usage.indices { usage[i] = 0 } }
    public func addUsage(_ counts: [Int]) { for i in usage.indices { usage[i] += counts[i] } }

    /// The pre-quantisation vectors of the last `encode`, rows [B·g·g, E] (for dead-code restarts).
    public var latentRows: UnsafePointer<Float> { UnsafePointer(zRows.pointer) }
    public var codebookValues: UnsafeMutablePointer<Float> { codebook.value }
}
