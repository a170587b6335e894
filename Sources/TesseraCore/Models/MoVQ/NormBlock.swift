/// Where a block's norms come from.
struct NormSpec {
    let groups: Int
    let eps: Float
    /// Code-grid shape for SpatialNorm (decoder), nil for GroupNorm (encoder).
    let zq: (channels: Int, height: Int, width: Int)?
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
