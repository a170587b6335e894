import Foundation

/// The output layer, softmax, cross-entropy and their gradients in one pass over row chunks.
///
/// For each chunk of R rows: logits = X·Wᵀ into a single `[R, V]` buffer; each row is turned in
/// place into its gradient (softmax − one-hot) · scale while its loss is read off; then
/// dX = dLogits·W and dW += dLogitsᵀ·X. Full `[N, V]` logits, probabilities and gradients never
/// exist, so the memory is R·V floats however long the batch is.
public enum CrossEntropy {
    /// Rows per chunk: about `budget` floats (the size of L3 here), but never fewer than 512 rows,
    /// because the dW product's inner dimension is the chunk's row count and short ones run slowly
    /// (measured on the 66k vocabulary: 64 rows 8.7 s, 256 rows 7.1 s, 1024 rows 6.1 s per step).
    public static func chunkRows(rows: Int, vocab: Int, budget: Int = 1 << 23) -> Int {
        max(1, min(rows, max(512, budget / max(vocab, 1)) / 8 * 8))
    }

    /// Returns Σ losses over counted rows (in Double). Writes per-row losses (0 for ignored
    /// targets) to `losses`. With `dx`/`dw`, also writes dX (overwrite) and accumulates dW,
    /// each counted row's gradient weighted by `scale` (1 / number of counted targets in the step).
    @discardableResult
    public static func forwardBackward(
        _ pool: Parallel, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, ignoreIndex: Int32,
        rows: Int, d: Int, vocab: Int, scale: Float,
        chunk: UnsafeMutablePointer<Float>, chunkRows R: Int,
        losses: UnsafeMutablePointer<Float>,
        dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, mixed: MixedPrecision? = nil
    ) -> Double {
        var total = 0.0
        var r0 = 0
        while r0 < rows {
            let nr = min(R, rows - r0)
            if let mixed {
                Gemm.linearForward(pool, x: x + r0 * d, w: w, y: chunk, m: nr, k: d, n: vocab, mixed: mixed)
            } else {
                Gemm.parallel(
                    pool, transA: false, transB: true, m: nr, n: vocab, k: d,
                    a: x + r0 * d, lda: d, b: w, ldb: d, beta: 0, c: chunk, ldc: vocab)
            }
            let wantGrad = dx != nil
            pool.forEachChunk(nr, grain: 4) { range in
                for i in range {
                    let row = chunk + i * vocab
                    let t = targets[r0 + i]
                    if t == ignoreIndex {
                        losses[r0 + i] = 0
                        if wantGrad { row.update(repeating: 0, count: vocab) }
                        continue
                    }
                    let target = Int(t)
                    let mx = Kernels.max(row, count: vocab)
                    let picked = row[target]
                    let sum = Kernels.expShiftSum(row, row, count: vocab, shift: mx)
                    losses[r0 + i] = Float(Double(mx) + Foundation.log(Double(sum)) - Double(picked))
                    if wantGrad {
                        Kernels.scale(row, count: vocab, by: scale / sum)
                        row[target] -= scale
                    }
                }
            }
            for i in 0..<nr where targets[r0 + i] != ignoreIndex { total += Double(losses[r0 + i]) }
            // dX of the chunk, and dW += its part (none for a frozen output layer).
            if let dx {
                Gemm.linearBackward(
                    pool, dy: chunk, w: w, x: x + r0 * d, dx: dx + r0 * d, dw: dw, m: nr, k: d, n: vocab, mixed: mixed)
            }
            r0 += nr
        }
        return total
    }
}
