/// Nearest-neighbour resizing of NCHW maps, PyTorch's `interpolate(mode="nearest")`: output pixel
/// (y, x) reads input (⌊y·H/Ho⌋, ⌊x·W/Wo⌋). Backward sums each output gradient into its source.
public enum Nearest {
    @inline(__always)
    static func source(_ o: Int, _ inSize: Int, _ outSize: Int) -> Int { min(inSize - 1, o * inSize / outSize) }

    /// `planes` = batch·channels maps of h×w resized to ho×wo.
    public static func forward(
        _ pool: Parallel, x: UnsafePointer<Float>, planes: Int, height h: Int, width w: Int,
        y: UnsafeMutablePointer<Float>, outHeight ho: Int, outWidth wo: Int
    ) {
        let sx = (0..<wo).map { source($0, w, wo) }
        sx.withUnsafeBufferPointer { sx in
            pool.forEachChunk(planes, grain: 8) { r in
                for p in r {
                    let src = x + p * h * w, dst = y + p * ho * wo
                    for oy in 0..<ho {
                        let row = src + source(oy, h, ho) * w, out = dst + oy * wo
                        for ox in 0..<wo { out[ox] = row[sx[ox]] }
                    }
                }
            }
        }
    }

    /// dx (+)= Σ of dy over the outputs that read each input pixel.
    public static func backward(
        _ pool: Parallel, dy: UnsafePointer<Float>, planes: Int, height h: Int, width w: Int,
        dx: UnsafeMutablePointer<Float>, outHeight ho: Int, outWidth wo: Int, accumulate: Bool
    ) {
        pool.forEachChunk(planes, grain: 8) { r in
            for p in r {
                let src = dy + p * ho * wo, dst = dx + p * h * w
                if !accumulate { dst.update(repeating: 0, count: h * w) }
                for oy in 0..<ho {
                    let row = dst + source(oy, h, ho) * w, g = src + oy * wo
                    for ox in 0..<wo { row[source(ox, w, wo)] += g[ox] }
                }
            }
        }
    }
}
