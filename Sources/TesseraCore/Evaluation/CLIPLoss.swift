import Foundation

/// CLIP's symmetric contrastive loss over a batch of N paired, l2-normalised embeddings:
/// logits = e^τ · Û T̂ᵀ (τ the learnable log-scale), loss = ½ (CE over rows + CE over columns)
/// with the pairs on the diagonal, each averaged over N. Gradients for Û and τ (T̂ is frozen).
public enum CLIPLoss {
    /// `image`, `text`: [n, d] row-major unit rows. `dImage` receives ∂loss/∂Û; returns the loss,
    /// ∂loss/∂τ and the fraction of rows whose best text is their own.
    /// `best`, when given, receives each row's best caption index.
    public static func forwardBackward(
        image: UnsafePointer<Float>, text: UnsafePointer<Float>, n: Int, d: Int, logScale: Float,
        dImage: UnsafeMutablePointer<Float>, pool: Parallel,
        scratch: UnsafeMutablePointer<Float>,
        best: UnsafeMutablePointer<Int32>? = nil
    ) -> (loss: Double, dLogScale: Double, accuracy: Double) {
        let s = Foundation.exp(logScale)
        let sim = scratch, dl = scratch + n * n  // cosine [n, n] and ∂loss/∂logits [n, n]
        Gemm.linearForward(pool, x: image, w: text, y: sim, m: n, k: d, n: n)
        var loss = 0.0, correct = 0
        dl.update(repeating: 0, count: n * n)
        let inv2n = 1 / Double(2 * n)
        // Each exponential once per direction: kept in `e` for the gradient (same values, same order).
        var e = [Double](repeating: 0, count: n)
        for i in 0..<n {  // rows: image i against every caption
            var mx = -Float.infinity, arg = 0
            for j in 0..<n where s * sim[i * n + j] > mx { mx = s * sim[i * n + j]; arg = j }
            if arg == i { correct += 1 }
            best?[i] = Int32(arg)
            var z = 0.0
            for j in 0..<n { e[j] = Foundation.exp(Double(s * sim[i * n + j] - mx)); z += e[j] }
            loss += (Foundation.log(z) + Double(mx) - Double(s * sim[i * n + i])) * inv2n
            for j in 0..<n { dl[i * n + j] += Float((e[j] / z - (i == j ? 1 : 0)) * inv2n) }
        }
        for j in 0..<n {  // columns: caption j against every image
            var mx = -Float.infinity
            for i in 0..<n { mx = max(mx, s * sim[i * n + j]) }
            var z = 0.0
            for i in 0..<n { e[i] = Foundation.exp(Double(s * sim[i * n + j] - mx)); z += e[i] }
            loss += (Foundation.log(z) + Double(mx) - Double(s * sim[j * n + j])) * inv2n
            for i in 0..<n { dl[i * n + j] += Float((e[i] / z - (i == j ? 1 : 0)) * inv2n) }
        }
        var dScale = 0.0
        for k in 0..<(n * n) { dScale += Double(dl[k]) * Double(sim[k]) }
        // ∂/∂Û = s · dL · T̂.
        Gemm.parallel(
            pool, transA: false, transB: false, m: n, n: d, k: n, a: dl, lda: n, b: text, ldb: d, beta: 0, c: dImage,
            ldc: d)
        for k in 0..<(n * d) { dImage[k] *= s }
        return (loss, dScale * Double(s), Double(correct) / Double(n))
    }
}
