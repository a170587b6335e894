/// Token embedding lookup: out[t] = E[id[t]]; backward scatter-adds rows into dE.
public enum Embedding {
    public static func forward(
        _ pool: Parallel, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, rows: Int, d: Int
    ) {
        pool.forEachChunk(rows, grain: 256) { range in
            for r in range {
                (out + r * d).update(from: table + Int(ids[r]) * d, count: d)
            }
        }
    }

    /// dE[id[t]] += dOut[t]. Split by columns: tokens repeat, so a split by rows would race.
    public static func backward(
        _ pool: Parallel, ids: UnsafePointer<Int32>, dOut: UnsafePointer<Float>,
        dTable: UnsafeMutablePointer<Float>, rows: Int, d: Int
    ) {
        pool.forEachChunk(d, grain: 32) { cols in
            for r in 0..<rows {
                let src = dOut + r * d, dst = dTable + Int(ids[r]) * d
                for i in cols { dst[i] += src[i] }
            }
        }
    }
}
