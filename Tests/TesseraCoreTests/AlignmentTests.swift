import Foundation
import TesseraCore
import Testing

/// The §3.2 alignment probe: CLIP loss value and gradients, nearest tokens, the aligned init.
@Suite struct AlignmentTests {
    typealias G = FiniteDifferences
    static let codes: [ArraySlice<Int32>] = [[0, 1, 1], [2, 3, 5], [4, 4, 0], [5, 2, 1]]

    static func probe(d: Int = 5) -> AlignmentProbe {
        AlignmentProbe(codebookSize: 6, dim: d, codesPerImage: 3, initialRows: nil, seed: 3, pool: Parallel(threads: 1))
    }

    static func unitText(_ n: Int, _ d: Int) -> [Float] {
        var t = G.random(n * d, "captions")
        for i in 0..<n {
            let norm = (0..<d).reduce(Float(0)) { $0 + t[i * d + $1] * t[i * d + $1] }.squareRoot()
            for j in 0..<d { t[i * d + j] /= norm }
        }
        return t
    }

    /// The loss equals an independent Double evaluation of ½(CE rows + CE columns), and every
    /// gradient (image rows through mean and l2 norm, and the log-scale) matches central differences.
    @Test func clipLossValueAndGradients() {
        let p = Self.probe(), d = 5, n = 4
        let text = Self.unitText(n, d)
        let scratch = FloatBuffer(count: 2 * n * n + 2 * n * d + 16)
        p.params.value("logit_scale")[0] = 1.3
        let count = p.params.values.count
        func loss(_ w: [Float]) -> Double {
            p.params.values.pointer.update(from: w, count: count)
            p.params.zeroGrads()
            return p.lossAndGradients(codes: Self.codes, text: text, scratch: scratch.pointer).loss
        }
        var w = Array(UnsafeBufferPointer(start: p.params.values.pointer, count: count))
        let value = loss(w)
        let analytic = Array(UnsafeBufferPointer(start: p.params.grads.pointer, count: count))
        // Independent evaluation.
        let table = Array(w[0..<(6 * d)]), s = exp(1.3)
        var img = [[Double]]()
        for set in Self.codes {
            var u = [Double](repeating: 0, count: d)
            for c in set { for j in 0..<d { u[j] += Double(table[Int(c) * d + j]) / 3 } }
            let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            img.append(u.map { $0 / norm })
        }
        var logits = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n { logits[i][j] = s * (0..<d).reduce(0.0) { $0 + img[i][$1] * Double(text[j * d + $1]) } }
        }
        var expected = 0.0
        for i in 0..<n {
            expected += (log((0..<n).reduce(0.0) { $0 + exp(logits[i][$1]) }) - logits[i][i]) / Double(2 * n)
            expected += (log((0..<n).reduce(0.0) { $0 + exp(logits[$1][i]) }) - logits[i][i]) / Double(2 * n)
        }
        #expect(abs(value - expected) < 1e-5, "\(value) vs \(expected)")
        #expect(G.check(&w, analytic: analytic, loss) <= G.tolerance)
    }

    /// A code whose row is a text token's row lists that token first, at cosine 1.
    @Test func nearestTokensByCosine() {
        let p = Self.probe(d: 4)
        let text: [Float] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.6, 0.8, 0, 0, -1, 0, 0, 0]  // 5 tokens
        let e = p.params.value("image_embeddings")
        for c in 0..<6 { for j in 0..<4 { e[c * 4 + j] = 2 * text[(c % 5) * 4 + j] } }
        let near = p.nearestTextTokens(textTable: text, textRows: 5, k: 2)
        for c in 0..<6 {
            #expect(near[c][0].token == Int32(c % 5) && abs(near[c][0].cosine - 1) < 1e-6, "code \(c): \(near[c])")
        }
        #expect(near[0][1].token == 3 && abs(near[0][1].cosine - 0.6) < 1e-6)
    }

    /// Caption words among the nearest tokens: trimmed, lower-cased, whole words only.
    @Test func captionWordShareCountsWholeCaptionWords() {
        let vocab = [" Blue", "blu", " square", "\n", "red ", "the", "x"]
        let r = AlignmentProbe.captionWordShare(
            nearest: [0, 1, 2, 2, 6], captions: ["a blue square", "A red-circle"], vocabulary: vocab.count
        ) { vocab[Int($0)] }
        #expect(r.words == 5)  // a, blue, square, red, circle
        #expect(abs(r.codes - 3.0 / 5) < 1e-12)  // " Blue", " square" twice
        #expect(abs(r.vocabulary - 3.0 / 7) < 1e-12)  // " Blue", " square", "red "
        #expect(AlignmentProbe.captionWordShare(nearest: [], captions: [], vocabulary: 0) { _ in "" }.codes == 0)
    }

    /// A one-layer model over 20 text ids and 6 image codes, initialised.
    static func textToImageModel() -> (Transformer, VocabularyLayout) {
        let layout = VocabularyLayout(textSize: 20, imageCodes: 6)
        let c = ModelConfig(
            dModel: 8, nLayers: 1, nHeads: 2, nKVHeads: 2, vocabSize: layout.vocabSize, ffnHidden: 16,
            norm: .rmsNorm, rope: .half, tieEmbeddings: false, maxSeqLen: 8)
        let m = Transformer(config: c, batch: 1, seqLen: 8, pool: Parallel(threads: 1))
        m.initialize(seed: 1)
        return (m, layout)
    }

    /// init.aligned copies the probe's rows into the image-code rows, rescaled to the text rows'
    /// mean norm, and refuses rows aligned on another image tokenizer's codes.
    @Test func alignedInitCopiesScaledRows() throws {
        let (m, layout) = Self.textToImageModel()
        let rows = G.random(6 * 8, "rows", scale: 3)
        let dir = tempDirectory("aligned")
        try rows.withUnsafeBufferPointer {
            try SafetensorsWriter.write(
                path: dir + "/image_rows.safetensors",
                tensors: [SafetensorsTensor(name: "image_embeddings", shape: [6, 8], f32: $0.baseAddress!)],
                metadata: ["image_tokenizer_hash": "abc"])
        }
        let r = try PretrainedInit.applyAligned(
            from: dir, to: m, layout: layout, tokenizer: nil, imageTokenizerHash: "abc")
        let t = m.params.value("tok_embeddings.weight")
        func norm(_ p: UnsafePointer<Float>) -> Float { (0..<8).reduce(Float(0)) { $0 + p[$1] * p[$1] }.squareRoot() }
        let textMean = (0..<20).reduce(Float(0)) { $0 + norm(t + $1 * 8) } / 20
        let imageMean = (20..<26).reduce(Float(0)) { $0 + norm(t + $1 * 8) } / 6
        #expect(r.rows == 6 && abs(imageMean - textMean) < 1e-4 * textMean)
        #expect(abs(t[20 * 8 + 3] - rows[3] * r.scale) < 1e-6)
        #expect(throws: TesseraError.self) {
            try PretrainedInit.applyAligned(from: dir, to: m, layout: layout, tokenizer: nil, imageTokenizerHash: "xyz")
        }
    }

    /// init.match_norm (the control arm): the image-code rows keep their directions and get the
    /// text rows' mean norm; text rows are untouched; it needs pair shards.
    @Test func matchNormRescalesDrawnRows() throws {
        let (m, layout) = Self.textToImageModel()
        let t = m.params.value("tok_embeddings.weight")
        for i in 0..<(20 * 8) { t[i] *= 5 }  // text rows 5× the drawn scale, as a trained LM's are larger
        let before = Array(UnsafeBufferPointer(start: t, count: 26 * 8))
        let r = try PretrainedInit.matchImageRowNorm(of: m, layout: layout)
        func norm(_ p: UnsafePointer<Float>) -> Float { (0..<8).reduce(Float(0)) { $0 + p[$1] * p[$1] }.squareRoot() }
        let textMean = (0..<20).reduce(Float(0)) { $0 + norm(t + $1 * 8) } / 20
        let imageMean = (20..<26).reduce(Float(0)) { $0 + norm(t + $1 * 8) } / 6
        #expect(r.rows == 6 && abs(imageMean - textMean) < 1e-4 * textMean && r.scale > 2)
        for i in 0..<(20 * 8) { #expect(t[i] == before[i]) }
        for i in (20 * 8)..<(26 * 8) { #expect(abs(t[i] - before[i] * r.scale) <= 1e-6 * abs(t[i]) + 1e-9) }
        #expect(throws: TesseraError.self) { try PretrainedInit.matchImageRowNorm(of: m, layout: nil) }
    }

    /// Stop words are left out of the caption words; the list file is strict.
    @Test func stopWordsAreNotCaptionWords() throws {
        let vocab = [" the", " blue", " in", " square"]
        let all = AlignmentProbe.captionWordShare(
            nearest: [0, 1, 2, 3], captions: ["the blue square in"], vocabulary: 4
        ) { vocab[Int($0)] }
        let content = AlignmentProbe.captionWordShare(
            nearest: [0, 1, 2, 3], captions: ["the blue square in"], vocabulary: 4,
            stopWords: ["the", "in"]
        ) { vocab[Int($0)] }
        #expect(all.codes == 1 && content.codes == 0.5 && content.words == 2 && content.vocabulary == 0.5)
        let dir = tempDirectory("stopwords")
        try FileIO.writeAtomically(dir + "/ok.txt", data: Data("# comment\nThe\n\nin  # inline\n".utf8))
        #expect(try AlignmentProbe.readStopWords(dir + "/ok.txt") == ["the", "in"])
        try FileIO.writeAtomically(dir + "/bad.txt", data: Data("the\ndon't\n".utf8))
        #expect(throws: TesseraError.self) { try AlignmentProbe.readStopWords(dir + "/bad.txt") }
        try FileIO.writeAtomically(dir + "/empty.txt", data: Data("# nothing\n".utf8))
        #expect(throws: TesseraError.self) { try AlignmentProbe.readStopWords(dir + "/empty.txt") }
        // The committed list parses and holds the function words the shapes captions use.
        let list = try AlignmentProbe.readStopWords(packageRoot + "/configs/probes/stopwords-en.txt")
        #expect(
            list.isSuperset(of: ["a", "the", "in", "of", "on"]) && !list.contains("red") && !list.contains("circle"))
    }
}
