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
        columnRuns(grid: gw, width: w).withUnsafeBufferPointer { starts in
            pool.run(tasks: planes) { t in
                let base = t * hw, lb = t * lo
                for y in 0..<h {
                    let sy = lb + Nearest.source(y, gh, h) * gw, row = base + y * w
                    for c in 0..<gw {
                        let from = row + starts[c]
                        Kernels.affine(
                            n + from, into: o + from, count: starts[c + 1] - starts[c], scale: a[sy + c],
                            shift: b[sy + c])
                    }
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
        columnRuns(grid: gw, width: w).withUnsafeBufferPointer { starts in
            pool.run(tasks: planes) { t in
                let base = t * hw, lb = t * lo
                for i in 0..<lo { da[lb + i] = 0; db[lb + i] = 0 }
                for y in 0..<h {
                    let sy = lb + Nearest.source(y, gh, h) * gw, row = base + y * w
                    for c in 0..<gw {
                        let s = sy + c, av = a[s]
                        var pa: Float = 0, pb: Float = 0
                        for i in (row + starts[c])..<(row + starts[c + 1]) {
                            dn[i] = dy[i] * av
                            pa += dy[i] * n[i]
                            pb += dy[i]
                        }
                        da[s] += pa
                        db[s] += pb
                    }
                }
            }
        }
    }

    /// The columns each grid column feeds when `grid` columns are nearest-upsampled to `width`:
    /// the run [starts[c], starts[c + 1]) (nearest is monotone; a cell that feeds none has an
    /// empty run), so a row is processed per cell with the cell's values in registers.
    static func columnRuns(grid gw: Int, width w: Int) -> [Int] {
        var starts = [Int](repeating: w, count: gw + 1)
        for x in stride(from: w - 1, through: 0, by: -1) { starts[Nearest.source(x, gw, w)] = x }
        for c in stride(from: gw - 1, through: 0, by: -1) { starts[c] = min(starts[c], starts[c + 1]) }
        return starts
    }
}
