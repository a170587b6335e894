/// MoVQ's SpatialNorm modulation: out = n ⊙ a↑ + b↑, where n = GroupNorm(f) at H×W and a, b are
/// conv_y(zq), conv_b(zq) at the code grid's h×w, nearest-upsampled (↑). The 1×1 convolutions
/// commute with nearest upsampling, so they run at h×w; this is the part between them and the norm.
public enum SpatialNorm {
    /// `planes` = batch·channels.
    public static func forward(
        _ pool: Parallel, normed n: UnsafePointer<Float>, scale a: UnsafePointer<Float>,
        shift b: UnsafePointer<Float>, out o: UnsafeMutablePointer<Float>, planes: Int,
        height h: Int, width w: Int, gridHeight gh: Int, gridWidth gw: Int
    ) {
        let hw = h * w, lo = gh * gw
        let sx = (0..<w).map { Nearest.source($0, gw, w) }  // per call, not per pixel: no division in the loop
        sx.withUnsafeBufferPointer { sx in
            pool.run(tasks: planes) { t in
                let base = t * hw, lb = t * lo
                for y in 0..<h {
                    let sy = lb + Nearest.source(y, gh, h) * gw, row = base + y * w
                    for x in 0..<w { let s = sy + sx[x]; o[row + x] = n[row + x] * a[s] + b[s] }
                }
            }
        }
    }

    /// dn = dy ⊙ a↑ (overwritten); da, db = dy ⊙ n and dy summed over the pixels each grid cell feeds (overwritten).
    public static func backward(
        _ pool: Parallel, normed n: UnsafePointer<Float>, scale a: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dNormed dn: UnsafeMutablePointer<Float>,
        dScale da: UnsafeMutablePointer<Float>, dShift db: UnsafeMutablePointer<Float>,
        planes: Int, height h: Int, width w: Int, gridHeight gh: Int, gridWidth gw: Int
    ) {
        let hw = h * w, lo = gh * gw
        let sx = (0..<w).map { Nearest.source($0, gw, w) }
        sx.withUnsafeBufferPointer { sx in
            pool.run(tasks: planes) { t in
                let base = t * hw, lb = t * lo
                for i in 0..<lo { da[lb + i] = 0; db[lb + i] = 0 }
                for y in 0..<h {
                    let sy = lb + Nearest.source(y, gh, h) * gw
                    for x in 0..<w {
                        let s = sy + sx[x], i = base + y * w + x
                        dn[i] = dy[i] * a[s]
                        da[s] += dy[i] * n[i]
                        db[s] += dy[i]
                    }
                }
            }
        }
    }
}
