import Foundation

/// The paper's §3.2 probe: can image codes be aligned with text tokens at all? An image is the mean
/// of its codes' embeddings (trainable, one row per code), a caption the mean of the frozen text
/// LM's token embeddings; both l2-normalised and trained with `CLIPLoss` (log-scale starts at
/// log(1/0.07), clamped at log 100). Parameters "image_embeddings" [K, d] and "logit_scale" [1].
public final class AlignmentProbe {
    public let codesPerImage, dim, codebookSize: Int
    public let params: ParameterStore
    let pool: Parallel
    public static let maxLogScale = Float(Foundation.log(100.0))

    public init(
        codebookSize: Int, dim: Int, codesPerImage: Int, initialRows: UnsafePointer<Float>?, seed: UInt64,
        pool: Parallel
    ) {
        self.codebookSize = codebookSize; self.dim = dim; self.codesPerImage = codesPerImage; self.pool = pool
        params = ParameterStore(shapes: [("image_embeddings", [codebookSize, dim]), ("logit_scale", [1])])
        let e = params.value("image_embeddings")
        if let initialRows {
            e.update(from: initialRows, count: codebookSize * dim)
        } else {
            var rng = RandomStream(seed: seed, name: "init/align/image_embeddings")
            let std = 1 / Float(dim).squareRoot()
            for i in 0..<(codebookSize * dim) { e[i] = rng.truncatedNormal(std: std) }
        }
        params.value("logit_scale")[0] = Float(Foundation.log(1 / 0.07))
    }

    public var logScale: Float { params.value("logit_scale")[0] }
    public var temperature: Double { Foundation.exp(-Double(logScale)) }

    /// Unit mean-of-rows embeddings of `count` token sets into `out` [count, d]; norms too.
    public static func bagOfWords(
        table: UnsafePointer<Float>, d: Int, sets: [ArraySlice<Int32>], out: UnsafeMutablePointer<Float>,
        norms: UnsafeMutablePointer<Float>? = nil
    ) {
        for (i, set) in sets.enumerated() {
            let o = out + i * d
            o.update(repeating: 0, count: d)
            for t in set { Kernels.add(table + Int(t) * d, into: o, count: d) }
            var ss: Float = 0
            let inv = 1 / Float(max(1, set.count))
            for j in 0..<d { o[j] *= inv; ss += o[j] * o[j] }
            let norm = max(ss.squareRoot(), 1e-12)
            for j in 0..<d { o[j] /= norm }
            norms?[i] = norm
        }
    }

    /// Loss of one batch (codes of each image, unit caption embeddings [n, d]); gradients accumulate
    /// into `params.grads`. Scratch needs 2n² + 2nd floats.
    public func lossAndGradients(
        codes: [ArraySlice<Int32>], text: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>, best: UnsafeMutablePointer<Int32>? = nil
    ) -> (loss: Double, accuracy: Double) {
        let n = codes.count, d = dim
        let image = scratch, dImage = scratch + n * d, rest = scratch + 2 * n * d
        var norms = [Float](repeating: 0, count: n)
        Self.bagOfWords(table: params.value("image_embeddings"), d: d, sets: codes, out: image, norms: &norms)
        let r = CLIPLoss.forwardBackward(
            image: image, text: text, n: n, d: d, logScale: logScale, dImage: dImage, pool: pool, scratch: rest,
            best: best)
        params.grad("logit_scale")[0] += Float(r.dLogScale)
        // Through the l2 norm and the mean: du = (dû − û(û·dû)) / |u|, spread over the codes.
        let g = params.grad("image_embeddings")
        for i in 0..<n {
            let u = image + i * d, du = dImage + i * d
            var dot: Float = 0
            for j in 0..<d { dot += u[j] * du[j] }
            let scale = 1 / (norms[i] * Float(codes[i].count))
            for j in 0..<d { du[j] = (du[j] - u[j] * dot) * scale }
            for t in codes[i] { Kernels.add(du, into: g + Int(t) * d, count: d) }
        }
        return (r.loss, r.accuracy)
    }

    /// The `k` text tokens nearest each image code by cosine over `textTable` [textRows, d].
    public func nearestTextTokens(
        textTable: UnsafePointer<Float>, textRows: Int, k: Int
    ) -> [[(token: Int32, cosine: Float)]] {
        let d = dim, K = codebookSize
        let img = FloatBuffer(count: K * d), txt = FloatBuffer(count: textRows * d),
            sim = FloatBuffer(count: K * textRows)
        Self.bagOfWords(
            table: params.value("image_embeddings"), d: d, sets: (0..<K).map { [Int32($0)][...] }, out: img.pointer)
        Self.bagOfWords(table: textTable, d: d, sets: (0..<textRows).map { [Int32($0)][...] }, out: txt.pointer)
        Gemm.linearForward(pool, x: img.pointer, w: txt.pointer, y: sim.pointer, m: K, k: d, n: textRows)
        return (0..<K).map { c in
            let row = sim.pointer + c * textRows
            var ids = (0..<textRows).map(Int32.init)
            ids.withUnsafeMutableBufferPointer { Sampler.sortDescending($0, count: textRows, by: row) }
            return ids.prefix(k).map { ($0, row[Int($0)]) }
        }
    }

    /// A stop-word list: one word a line, lower-cased; blank lines and `#` comments skipped.
    public static func readStopWords(_ path: String) throws -> Set<String> {
        let text = String(decoding: try FileIO.read(path), as: UTF8.self)
        var words = Set<String>()
        for line in text.split(separator: "\n") {
            let w = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces).lowercased()
            guard !w.isEmpty else { continue }
            guard w.allSatisfy(\.isLetter) else {
                throw TesseraError.data(file: path, "line \"\(line)\" is not one word of letters")
            }
            words.insert(w)
        }
        guard !words.isEmpty else { throw TesseraError.data(file: path, "holds no stop words") }
        return words
    }

    /// How semantic an alignment is: the share of image codes whose nearest text token is a word
    /// of the captions, against the share of caption words among all text tokens (what matching
    /// codes to random tokens would give). Tokens compare trimmed and lower-cased; caption words
    /// are the runs of letters.
    /// Words in `stopWords` (function words: "a", "the", "on", …) are not counted, so a code whose
    /// nearest token is "the" is not taken for a semantic match.
    public static func captionWordShare(
        nearest: [Int32], captions: [String], vocabulary: Int, stopWords: Set<String> = [],
        decode: (Int32) -> String
    ) -> (codes: Double, vocabulary: Double, words: Int) {
        var words = Set<String>()
        for c in captions {
            for w in c.lowercased().split(whereSeparator: { !$0.isLetter }) where !stopWords.contains(String(w)) {
                words.insert(String(w))
            }
        }
        func isWord(_ t: Int32) -> Bool {
            words.contains(decode(t).trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
        }
        let hits = nearest.filter(isWord).count
        let inVocabulary = (0..<vocabulary).filter { isWord(Int32($0)) }.count
        return (
            nearest.isEmpty ? 0 : Double(hits) / Double(nearest.count),
            vocabulary == 0 ? 0 : Double(inVocabulary) / Double(vocabulary), words.count
        )
    }
}
