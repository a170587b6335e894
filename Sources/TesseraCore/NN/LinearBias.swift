import Foundation

/// Bias of a linear layer over `[rows, n]`: y += b per row; db += Σ_rows dy (accumulated).
public enum LinearBias {
    public static func forward(
        _ pool: Parallel, y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, n: Int
    ) {
        pool.forEachChunk(rows, grain: max(1, (1 << 14) / max(1, n))) { r in
            for row in r { Kernels.add(bias, into: y + row * n, count: n) }
        }
    }

    /// Column sums, split over columns so each worker owns its slice of `db`.
    public static func backward(
        _ pool: Parallel, dy: UnsafePointer<Float>, db: UnsafeMutablePointer<Float>, rows: Int, n: Int
    ) {
        pool.forEachChunk(n, grain: 64) { cols in
            for row in 0..<rows {
                let src = dy + row * n
                for c in cols { db[c] += src[c] }
            }
        }
    }
}
