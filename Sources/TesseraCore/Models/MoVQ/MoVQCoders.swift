/// MoVQ encoder (GroupNorm) and decoder (SpatialNorm conditioned on the code vectors), with the
/// module paths of SBER-MoVQGAN's state dict (`encoder.down.{i}.block.{j}.conv1.weight`, …).

/// A step of a coder's main path: a residual, attention or resampling block.
protocol CoderStage: AnyObject {
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap
}
extension ResnetBlock: CoderStage {}
extension AttnBlock: CoderStage {}
extension DownsampleBlock: CoderStage {
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        forward(ws, x, batch: batch)
    }
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap { backward(ws, dy, batch: batch) }
}
extension UpsampleBlock: CoderStage {
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        forward(ws, x, batch: batch)
    }
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap { backward(ws, dy, batch: batch) }
}

/// A coder's layers: conv_in → stages → norm_out → silu → conv_out. The encoder and decoder differ
/// only in their stages and in whether their norms are conditioned on `zq`.
final class MoVQCoder {
    let convIn: ConvBlock
    let stages: [CoderStage]
    let normOut: NormBlock
    let act, dAct: FeatureMap
    let convOut: ConvBlock
    /// ∂L/∂input, formed only when some layer before the coder needs it (the decoder's).
    let dIn: FeatureMap?

    init(
        convIn: ConvBlock, stages: [CoderStage], normOut: NormBlock, convOut: ConvBlock, inputGrad: FeatureMap?,
        maxBatch: Int
    ) {
        self.convIn = convIn; self.stages = stages; self.normOut = normOut; self.convOut = convOut; dIn = inputGrad
        let o = normOut.out
        act = FeatureMap(o.channels, o.height, o.width, maxBatch: maxBatch)
        dAct = FeatureMap(o.channels, o.height, o.width, maxBatch: maxBatch)
    }

    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        var h = convIn.forward(ws, x, batch: batch)
        for s in stages { h = s.forward(ws, h.p, zq: zq, batch: batch) }
        let n = normOut.forward(ws, h.p, zq: zq, batch: batch).p
        ws.timer.measure("silu") { SiLU.forward(ws.pool, x: n, y: act.p, count: act.count(batch)) }
        return convOut.forward(ws, act.p, batch: batch)
    }

    /// Parameter gradients accumulate, dzq too (decoder); returns ∂L/∂input when the coder forms it.
    @discardableResult
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap? {
        convOut.backward(ws, dy, dx: dAct.p, batch: batch, accumulate: false)
        ws.timer.measure("silu") {
            SiLU.backward(ws.pool, x: normOut.out.p, dy: dAct.p, dx: dAct.p, count: dAct.count(batch))
        }
        let dh = ws.scratch(.coderGrad, dAct.count(batch))
        normOut.backward(ws, dAct.p, dx: dh, accumulate: false, dzq: dzq, batch: batch)
        var g = UnsafePointer(dh)
        for s in stages.reversed() { g = UnsafePointer(s.backward(ws, g, dzq: dzq, batch: batch).p) }
        convIn.backward(ws, g, dx: dIn?.p, batch: batch, accumulate: false)
        return dIn
    }

    /// conv_in → per level: residual blocks (+ attention at attn_resolutions), downsample except at the
    /// last level → mid (res, attn, res) → norm_out → silu → conv_out.
    static func encoder(_ r: ParamRegistry, _ c: MoVQConfig, maxBatch: Int) -> MoVQCoder {
        let spec = NormSpec(groups: c.normGroups, eps: c.normEps, zq: nil)
        var res = c.resolution
        let convIn = ConvBlock(
            r, "encoder.conv_in", cin: c.inChannels, cout: c.ch, kernel: 3, height: res, width: res, maxBatch: maxBatch)
        var stages: [CoderStage] = []
        var blockIn = c.ch
        let inMult = [1] + c.chMult
        for level in 0..<c.chMult.count {
            blockIn = c.ch * inMult[level]
            let blockOut = c.ch * c.chMult[level]
            for b in 0..<c.numResBlocks {
                stages.append(
                    ResnetBlock(
                        r, "encoder.down.\(level).block.\(b)", cin: blockIn, cout: blockOut, height: res, width: res,
                        norm: spec, maxBatch: maxBatch))
                blockIn = blockOut
                if c.attnResolutions.contains(res) {
                    stages.append(
                        AttnBlock(
                            r, "encoder.down.\(level).attn.\(b)", channels: blockIn, height: res, width: res,
                            norm: spec, maxBatch: maxBatch))
                }
            }
            if level != c.chMult.count - 1 {
                stages.append(
                    DownsampleBlock(
                        r, "encoder.down.\(level).downsample", channels: blockIn, height: res, width: res,
                        maxBatch: maxBatch))
                res /= 2
            }
        }
        stages.append(
            ResnetBlock(
                r, "encoder.mid.block_1", cin: blockIn, cout: blockIn, height: res, width: res, norm: spec,
                maxBatch: maxBatch))
        stages.append(
            AttnBlock(
                r, "encoder.mid.attn_1", channels: blockIn, height: res, width: res, norm: spec, maxBatch: maxBatch))
        stages.append(
            ResnetBlock(
                r, "encoder.mid.block_2", cin: blockIn, cout: blockIn, height: res, width: res, norm: spec,
                maxBatch: maxBatch))
        let normOut = NormBlock(
            r, "encoder.norm_out", channels: blockIn, height: res, width: res, groups: c.normGroups, eps: c.normEps,
            zq: nil, maxBatch: maxBatch)
        let convOut = ConvBlock(
            r, "encoder.conv_out", cin: blockIn, cout: c.zChannels, kernel: 3, height: res, width: res,
            maxBatch: maxBatch)
        return MoVQCoder(
            convIn: convIn, stages: stages, normOut: normOut, convOut: convOut, inputGrad: nil, maxBatch: maxBatch)
    }

    /// conv_in → mid (res, attn, res) → per level from the coarsest: num_res_blocks+1 residual blocks
    /// (+ attention), upsample except at level 0 → SpatialNorm → silu → conv_out. Every norm is a
    /// SpatialNorm on `zq`, the code vectors before post_quant_conv.
    static func decoder(_ r: ParamRegistry, _ c: MoVQConfig, maxBatch: Int) -> MoVQCoder {
        let levels = c.chMult.count
        var res = c.gridSide
        let spec = NormSpec(groups: c.normGroups, eps: c.normEps, zq: (c.embedDim, res, res))
        var blockIn = c.ch * c.chMult[levels - 1]
        let convIn = ConvBlock(
            r, "decoder.conv_in", cin: c.zChannels, cout: blockIn, kernel: 3, height: res, width: res,
            maxBatch: maxBatch)
        var stages: [CoderStage] = [
            ResnetBlock(
                r, "decoder.mid.block_1", cin: blockIn, cout: blockIn, height: res, width: res, norm: spec,
                maxBatch: maxBatch),
            AttnBlock(
                r, "decoder.mid.attn_1", channels: blockIn, height: res, width: res, norm: spec, maxBatch: maxBatch),
            ResnetBlock(
                r, "decoder.mid.block_2", cin: blockIn, cout: blockIn, height: res, width: res, norm: spec,
                maxBatch: maxBatch),
        ]
        for level in stride(from: levels - 1, through: 0, by: -1) {
            let blockOut = c.ch * c.chMult[level]
            for b in 0...c.numResBlocks {
                stages.append(
                    ResnetBlock(
                        r, "decoder.up.\(level).block.\(b)", cin: blockIn, cout: blockOut, height: res, width: res,
                        norm: spec, maxBatch: maxBatch))
                blockIn = blockOut
                if c.attnResolutions.contains(res) {
                    stages.append(
                        AttnBlock(
                            r, "decoder.up.\(level).attn.\(b)", channels: blockIn, height: res, width: res, norm: spec,
                            maxBatch: maxBatch))
                }
            }
            if level != 0 {
                stages.append(
                    UpsampleBlock(
                        r, "decoder.up.\(level).upsample", channels: blockIn, height: res, width: res,
                        maxBatch: maxBatch))
                res *= 2
            }
        }
        let normOut = NormBlock(
            r, "decoder.norm_out", channels: blockIn, height: res, width: res, groups: c.normGroups, eps: c.normEps,
            zq: spec.zq, maxBatch: maxBatch)
        let convOut = ConvBlock(
            r, "decoder.conv_out", cin: blockIn, cout: c.outChannels, kernel: 3, height: res, width: res,
            maxBatch: maxBatch)
        return MoVQCoder(
            convIn: convIn, stages: stages, normOut: normOut, convOut: convOut,
            inputGrad: FeatureMap(c.zChannels, c.gridSide, c.gridSide, maxBatch: maxBatch), maxBatch: maxBatch)
    }
}
