/// Zero-pad right and bottom by one, then 3×3 conv with stride 2: H → H/2 (`downsample.conv`).
final class DownsampleBlock {
    let conv: ConvBlock
    let dIn: FeatureMap
    init(_ r: ParamRegistry, _ name: String, channels c: Int, height h: Int, width w: Int, maxBatch: Int) {
        conv = ConvBlock(
            r, name + ".conv", cin: c, cout: c, kernel: 3, stride: 2, padBefore: 0, padAfter: 1,
            height: h, width: w, maxBatch: maxBatch)
        dIn = FeatureMap(c, h, w, maxBatch: maxBatch)
    }
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        conv.forward(ws, x, batch: batch)
    }
    func backward(_ ws: Workspace, _ dy: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        conv.backward(ws, dy, dx: dIn.p, batch: batch, accumulate: false)
        return dIn
    }
}
