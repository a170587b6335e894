/// Nearest ×2, then 3×3 conv (`upsample.conv`).
final class UpsampleBlock {
    let conv: ConvBlock
    let up, dIn: FeatureMap
    init(_ r: ParamRegistry, _ name: String, channels c: Int, height h: Int, width w: Int, maxBatch: Int) {
        conv = ConvBlock(r, name + ".conv", cin: c, cout: c, kernel: 3, height: 2 * h, width: 2 * w, maxBatch: maxBatch)
        up = FeatureMap(c, 2 * h, 2 * w, maxBatch: maxBatch)
        dIn = FeatureMap(c, h, w, maxBatch: maxBatch)
    }
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        ws.timer.measure("upsample") {
            Nearest.forward(
                ws.pool, x: x, planes: batch * up.channels, height: dIn.height, width: dIn.width,
                y: up.p, outHeight: up.height, outWidth: up.width)
        }
        return conv.forward(ws, up.p, batch: batch)
    }
    func backward(_ ws: Workspace, _ dy: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        let dUp = ws.scratch(.blockGradA, up.count(batch))
        conv.backward(ws, dy, dx: dUp, batch: batch, accumulate: false)
        ws.timer.measure("upsample") {
            Nearest.backward(
                ws.pool, dy: dUp, planes: batch * up.channels, height: dIn.height, width: dIn.width,
                dx: dIn.p, outHeight: up.height, outWidth: up.width, accumulate: false)
        }
        return dIn
    }
}
