/// Shape of a MoVQ image tokenizer (SBER-MoVQGAN's `ddconfig` + quantizer), at any scale.
public struct MoVQConfig: Equatable, Sendable {
    /// Square input side in pixels.
    public var resolution = 64
    public var inChannels = 3
    public var outChannels = 3
    /// Base width; level i has ch·chMult[i] channels.
    public var ch = 32
    public var chMult = [1, 2, 2]
    public var numResBlocks = 1
    /// Feature-map sides at which an attention block follows each residual block.
    public var attnResolutions = [16]
    /// Encoder output / decoder input channels (`z_channels`).
    public var zChannels = 4
    /// Code vector size (`embed_dim`).
    public var embedDim = 4
    /// Codebook size (`n_embed`).
    public var nEmbed = 1024
    /// GroupNorm groups (32 in MoVQGAN; smaller for narrow nets).
    public var normGroups = 32
    public var normEps: Float = 1e-6
    /// Codebook-term weight in MoVQGAN's legacy placement (commitment term has weight 1).
    public var beta: Float = 0.25

    public init() {}

    /// Downsampling factor: 2^(levels − 1).
    public var factor: Int { 1 << (chMult.count - 1) }
    /// Side of the code grid.
    public var gridSide: Int { resolution / factor }
    public var tokensPerImage: Int { gridSide * gridSide }

    /// Problems with this shape, in words a config file's author can act on.
    public func problems() -> [String] {
        var p: [String] = []
        // Documented maxima first (SizeLimits' role for images): nothing below is computed from an
        // unbounded number, and 1 << (levels − 1) needs at least one level.
        for (key, v, lo, hi) in [
            ("model.resolution", resolution, 1, 4096), ("model.ch", ch, 1, 4096),
            ("model.num_res_blocks", numResBlocks, 0, 64),
            ("model.z_channels", zChannels, 1, 4096), ("model.embed_dim", embedDim, 1, 4096),
            ("model.n_embed", nEmbed, 2, 1 << 20),
            ("model.norm_groups", normGroups, 1, 4096), ("levels (length of model.ch_mult)", chMult.count, 1, 8),
            ("model.in_channels", inChannels, 1, 16), ("model.out_channels", outChannels, 1, 16),
        ]
        where v < lo || v > hi { p.append("\(key) (\(v)) must be in \(lo)…\(hi)") }
        if chMult.contains(where: { $0 < 1 || $0 > 64 }) { p.append("model.ch_mult entries must be in 1…64") }
        guard p.isEmpty else { return p }
        if resolution % factor != 0 {
            p.append("model.resolution (\(resolution)) must be divisible by 2^(levels−1) = \(factor)")
        }
        for m in chMult where (ch * m) % normGroups != 0 {
            p.append("model.norm_groups (\(normGroups)) must divide every width ch·ch_mult (\(ch * m))"); break
        }
        if ch % normGroups != 0 { p.append("model.norm_groups (\(normGroups)) must divide model.ch (\(ch))") }
        return p
    }
}
