import Foundation
import TesseraCore
import Testing

/// Every layer's backward against central finite differences of L = Σ y·r (r fixed, random),
/// L accumulated in Double, step h = 1e-2 (float32 layers). Tolerance: the largest
/// |finite difference − analytic| over the checked entries is at most 1e-2 · max |analytic|.
/// Entries are a seeded sample when a tensor is large.
@Suite struct GradientCheckTests {
    let pool = Parallel(threads: 2)

    @Test func linear() {
        let m = 7, k = 13, n = 9
        var x = FiniteDifferences.random(m * k, "x"), w = FiniteDifferences.random(n * k, "w", scale: 0.3)
        let r = FiniteDifferences.random(m * n, "r")
        func forward(_ x: [Float], _ w: [Float]) -> Double {
            var y = [Float](repeating: 0, count: m * n)
            Gemm.linearForward(pool, x: x, w: w, y: &y, m: m, k: k, n: n)
            return FiniteDifferences.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: m * k), dw = [Float](repeating: 0, count: n * k)
        Gemm.linearBackwardInput(pool, dy: r, w: w, dx: &dx, m: m, k: k, n: n, accumulate: false)
        Gemm.linearBackwardWeight(pool, dy: r, x: x, dw: &dw, m: m, k: k, n: n)
        let wc = w, xc = x
        #expect(FiniteDifferences.check(&x, analytic: dx) { forward($0, wc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&w, analytic: dw) { forward(xc, $0) } <= FiniteDifferences.tolerance)
    }

    @Test(arguments: NormKind.allCases)
    func norm(kind: NormKind) {
        let rows = 5, d = 19
        var x = FiniteDifferences.random(rows * d, "x", scale: 2).map { $0 + 0.5 }
        var w = FiniteDifferences.random(d, "w", scale: 0.2).map { $0 + 1 }
        var b = FiniteDifferences.random(d, "b", scale: 0.2)
        let r = FiniteDifferences.random(rows * d, "r")
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var y = [Float](repeating: 0, count: rows * d), mean = [Float](repeating: 0, count: rows), rstd = mean
            b.withUnsafeBufferPointer { bp in
                Norm.forward(
                    kind, pool, x: x, weight: w, bias: kind.hasBias ? bp.baseAddress! : nil, y: &y,
                    mean: &mean, rstd: &rstd, rows: rows, d: d, eps: 1e-5)
            }
            return FiniteDifferences.dot(y, r)
        }
        var y = [Float](repeating: 0, count: rows * d), mean = [Float](repeating: 0, count: rows), rstd = mean
        b.withUnsafeBufferPointer { bp in
            Norm.forward(
                kind, pool, x: x, weight: w, bias: kind.hasBias ? bp.baseAddress! : nil, y: &y,
                mean: &mean, rstd: &rstd, rows: rows, d: d, eps: 1e-5)
        }
        var dx = [Float](repeating: 0.5, count: rows * d), dw = [Float](repeating: 0, count: d), db = dw
        let dx0 = dx
        db.withUnsafeMutableBufferPointer { dbp in
            Norm.backward(
                kind, pool, dy: r, x: x, weight: w, mean: mean, rstd: rstd, dx: &dx, accumulate: true,
                dWeight: &dw, dBias: kind.hasBias ? dbp.baseAddress! : nil, rows: rows, d: d)
        }
        let gx = zip(dx, dx0).map { $0 - $1 }  // accumulate mode added to the 0.5s
        let (xc, wc, bc) = (x, w, b)
        #expect(FiniteDifferences.check(&x, analytic: gx) { forward($0, wc, bc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&w, analytic: dw) { forward(xc, $0, bc) } <= FiniteDifferences.tolerance)
        if kind.hasBias {
            let error = FiniteDifferences.check(&b, analytic: db) { forward(xc, wc, $0) }
            #expect(error <= FiniteDifferences.tolerance)
        }
    }

    @Test func embedding() {
        let vocab = 11, d = 6, rows = 9
        let ids: [Int32] = [3, 1, 3, 10, 0, 3, 7, 1, 2]
        var table = FiniteDifferences.random(vocab * d, "E")
        let r = FiniteDifferences.random(rows * d, "r")
        func forward(_ t: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * d)
            Embedding.forward(pool, ids: ids, table: t, out: &out, rows: rows, d: d)
            return FiniteDifferences.dot(out, r)
        }
        var dt = [Float](repeating: 0, count: vocab * d)
        Embedding.backward(pool, ids: ids, dOut: r, dTable: &dt, rows: rows, d: d)
        #expect(FiniteDifferences.check(&table, analytic: dt, forward) <= FiniteDifferences.tolerance)
    }

    @Test(arguments: [RopeKind.half, RopeKind.interleaved])
    func rope(kind: RopeKind) {
        let seq = 6, heads = 3, hd = 8, stride = heads * hd + 5
        let table = RotaryTable(kind: kind, headDim: hd, positions: seq, theta: 100)
        var x = FiniteDifferences.random(seq * stride, "x")
        let r = FiniteDifferences.random(seq * stride, "r")
        func forward(_ x: [Float]) -> Double {
            var y = x
            table.apply(pool, &y, rows: seq, seqLen: seq, stride: stride, column: 2, heads: heads, inverse: false)
            return FiniteDifferences.dot(y, r)
        }
        var g = r
        table.apply(pool, &g, rows: seq, seqLen: seq, stride: stride, column: 2, heads: heads, inverse: true)
        #expect(FiniteDifferences.check(&x, analytic: g, forward) <= FiniteDifferences.tolerance)
    }

    /// Sequence longer than one 128-row block, grouped KV heads.
    @Test(arguments: [(2, 2), (4, 2), (3, 1)])
    func attention(heads: Int, kvHeads: Int) {
        let shape = AttentionShape(batch: 2, seqLen: 131, heads: heads, kvHeads: kvHeads, headDim: 4)
        let n = shape.batch * shape.seqLen
        var qkv = FiniteDifferences.random(n * shape.qkvStride, "qkv")
        let r = FiniteDifferences.random(n * shape.outStride, "r")
        var scratch = [Float](repeating: 0, count: pool.threads * shape.scratchPerWorker)
        var lse = [Float](repeating: 0, count: shape.batch * heads * shape.seqLen)
        func forward(_ qkv: [Float]) -> Double {
            var out = [Float](repeating: 0, count: n * shape.outStride)
            Attention.forward(pool, shape, qkv: qkv, out: &out, lse: &lse, scratch: &scratch)
            return FiniteDifferences.dot(out, r)
        }
        var out = [Float](repeating: 0, count: n * shape.outStride)
        Attention.forward(pool, shape, qkv: qkv, out: &out, lse: &lse, scratch: &scratch)
        var dqkv = [Float](repeating: 7, count: n * shape.qkvStride)
        Attention.backward(pool, shape, qkv: qkv, out: out, lse: lse, dOut: r, dqkv: &dqkv, scratch: &scratch)
        let error = FiniteDifferences.check(&qkv, analytic: dqkv, samples: 300) { forward($0) }
        #expect(error <= FiniteDifferences.tolerance)
    }

    @Test func swiglu() {
        let rows = 4, h = 21
        var gu = FiniteDifferences.random(rows * 2 * h, "gu", scale: 2)
        let r = FiniteDifferences.random(rows * h, "r")
        func forward(_ gu: [Float]) -> Double {
            var z = [Float](repeating: 0, count: rows * h)
            SwiGLU.forward(pool, gu: gu, z: &z, rows: rows, hidden: h)
            return FiniteDifferences.dot(z, r)
        }
        var dgu = [Float](repeating: 0, count: rows * 2 * h)
        SwiGLU.backward(pool, gu: gu, dz: r, dgu: &dgu, rows: rows, hidden: h)
        #expect(FiniteDifferences.check(&gu, analytic: dgu, forward) <= FiniteDifferences.tolerance)
    }

    @Test(arguments: [false, true])
    func gelu(tanh: Bool) {
        let n = 57
        var x = FiniteDifferences.random(n, "gelu-x", scale: 2)
        let r = FiniteDifferences.random(n, "gelu-r")
        func forward(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: n)
            GELU.forward(pool, x: x, y: &y, count: n, tanh: tanh)
            return FiniteDifferences.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: n)
        GELU.backward(pool, x: x, dy: r, dx: &dx, count: n, tanh: tanh)
        #expect(FiniteDifferences.check(&x, analytic: dx, forward) <= FiniteDifferences.tolerance)
        // The exact form and the tanh approximation agree to ~1e-3 (GPT-2's "gelu_new" rationale).
        var exact = [Float](repeating: 0, count: n), approx = exact
        GELU.forward(pool, x: x, y: &exact, count: n, tanh: false)
        GELU.forward(pool, x: x, y: &approx, count: n, tanh: true)
        #expect(zip(exact, approx).allSatisfy { abs($0 - $1) < 2e-3 })
    }

    @Test func linearBias() {
        let rows = 5, n = 70
        var b = FiniteDifferences.random(n, "bias-b")
        let x = FiniteDifferences.random(rows * n, "bias-x"), r = FiniteDifferences.random(rows * n, "bias-r")
        func forward(_ b: [Float]) -> Double {
            var y = x
            LinearBias.forward(pool, y: &y, bias: b, rows: rows, n: n)
            return FiniteDifferences.dot(y, r)
        }
        var db = [Float](repeating: 0.5, count: n)  // accumulates onto what is there
        LinearBias.backward(pool, dy: r, db: &db, rows: rows, n: n)
        #expect(FiniteDifferences.check(&b, analytic: db.map { $0 - 0.5 }, forward) <= FiniteDifferences.tolerance)
    }

    /// Fused output layer + softmax + cross-entropy, with ignored targets and several row chunks.
    @Test func crossEntropy() {
        let rows = 10, d = 7, vocab = 37
        var x = FiniteDifferences.random(rows * d, "x"), w = FiniteDifferences.random(vocab * d, "w", scale: 0.5)
        var targets: [Int32] = (0..<rows).map { Int32(($0 * 7) % vocab) }
        targets[3] = -1
        targets[8] = -1
        let counted = targets.filter { $0 >= 0 }.count
        var chunk = [Float](repeating: 0, count: 4 * vocab), losses = [Float](repeating: 0, count: rows)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            CrossEntropy.forwardBackward(
                pool, x: x, w: w, targets: targets, ignoreIndex: -1, rows: rows, d: d, vocab: vocab,
                scale: 0, chunk: &chunk, chunkRows: 4, losses: &losses, dx: nil, dw: nil) / Double(counted)
        }
        var dx = [Float](repeating: 0, count: rows * d), dw = [Float](repeating: 0, count: vocab * d)
        CrossEntropy.forwardBackward(
            pool, x: x, w: w, targets: targets, ignoreIndex: -1, rows: rows, d: d, vocab: vocab,
            scale: 1 / Float(counted), chunk: &chunk, chunkRows: 4, losses: &losses, dx: &dx, dw: &dw)
        #expect(losses[3] == 0 && losses[8] == 0)
        let (xc, wc) = (x, w)
        #expect(FiniteDifferences.check(&x, analytic: dx) { loss($0, wc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&w, analytic: dw) { loss(xc, $0) } <= FiniteDifferences.tolerance)
    }

    /// The composed model: a sample of every tensor's gradient against finite differences.
    @Test(arguments: [NormKind.layerNorm, NormKind.rmsNorm])
    func wholeTransformer(norm: NormKind) {
        let c = ModelConfig(
            dModel: 16, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 23, ffnHidden: 24, norm: norm,
            rope: norm == .rmsNorm ? .interleaved : .half, tieEmbeddings: norm == .rmsNorm, maxSeqLen: 9)
        checkWholeModel(c)
    }

    /// GPT-2's block (learned positions, biased linears, tanh-GELU MLP, tied, no RoPE) and the
    /// same with exact GELU over RoPE; biases drawn non-zero so every term is exercised.
    @Test(arguments: [MLPKind.geluTanh, MLPKind.gelu])
    func wholeGPT2StyleTransformer(mlp: MLPKind) {
        var c = ModelConfig(
            dModel: 16, nLayers: 2, nHeads: 4, vocabSize: 23, ffnHidden: 32, norm: .layerNorm,
            rope: mlp == .gelu ? .half : .none, tieEmbeddings: true, maxSeqLen: 12)
        c.mlp = mlp
        c.linearBias = true
        c.learnedPositions = true
        checkWholeModel(c)
    }

    /// GPT-NeoX's block: parallel residual, rotary over half of each head, biases, exact GELU.
    @Test func wholeNeoXStyleTransformer() {
        var c = ModelConfig(
            dModel: 16, nLayers: 2, nHeads: 2, vocabSize: 23, ffnHidden: 32, norm: .layerNorm,
            rope: .half, tieEmbeddings: false, maxSeqLen: 9)
        c.mlp = .gelu
        c.linearBias = true
        c.rotaryDims = 4
        c.parallelResidual = true
        checkWholeModel(c)
    }

    func checkWholeModel(_ c: ModelConfig) {
        let model = Transformer(config: c, batch: 2, seqLen: 9, pool: pool)
        model.initialize(seed: 3)
        for slot in model.params.slots where slot.name.hasSuffix(".bias") {
            let v = FiniteDifferences.random(slot.count, slot.name, scale: 0.3)
            (model.params.values.pointer + slot.offset).update(from: v, count: v.count)
        }
        let tokens: [Int32] = (0..<18).map { Int32(($0 * 5 + 1) % 23) }
        let targets: [Int32] = (0..<18).map { Int32(($0 * 3 + 2) % 23) }
        func loss() -> Double {
            model.forward(tokens: tokens)
            return model.loss(targets: targets, ignoreIndex: -1) / 18
        }
        model.params.zeroGrads()
        model.forward(tokens: tokens)
        _ = model.lossAndBackward(targets: targets, ignoreIndex: -1, scale: 1 / 18)
        for slot in model.params.slots {
            let p = model.params.values.pointer + slot.offset
            var values = Array(UnsafeBufferPointer(start: p, count: slot.count))
            let analytic = Array(
                UnsafeBufferPointer(start: model.params.grads.pointer + slot.offset, count: slot.count))
            let err = FiniteDifferences.check(&values, analytic: analytic, samples: 25) { v in
                p.update(from: v, count: v.count)
                return loss()
            }
            p.update(from: values, count: values.count)
            #expect(err <= FiniteDifferences.tolerance, "\(slot.name): \(err)")
        }
    }
}

@Suite struct ConvGradientCheckTests {
    let pool = Parallel(threads: 2)

    /// Conv2d (padding, stride 2, bias) against finite differences, same tolerance as the other layers.
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (4, 2, 1)])
    func conv2d(kernel: Int, stride: Int, padding: Int) {
        let s = Conv2dShape(
            batch: 2, inChannels: 3, outChannels: 4, height: 7, width: 6, kernel: kernel, stride: stride,
            padding: padding)
        let outCount = s.batch * s.outChannels * s.outHeight * s.outWidth
        var x = FiniteDifferences.random(s.batch * 3 * 7 * 6, "x")
        var w = FiniteDifferences.random(4 * s.patch, "w", scale: 0.3)
        var b = FiniteDifferences.random(4, "b")
        let r = FiniteDifferences.random(outCount, "r")
        var cols = [Float](repeating: 0, count: s.scratch)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var y = [Float](repeating: 0, count: outCount)
            Conv2d.forward(pool, s, x: x, weight: w, bias: b, y: &y, cols: &cols)
            return FiniteDifferences.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count),
            db = [Float](repeating: 0, count: 4)
        Conv2d.backward(pool, s, x: x, weight: w, dy: r, dx: &dx, dWeight: &dw, dBias: &db, cols: &cols)
        let (xc, wc, bc) = (x, w, b)
        #expect(FiniteDifferences.check(&x, analytic: dx) { forward($0, wc, bc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&w, analytic: dw) { forward(xc, $0, bc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&b, analytic: db) { forward(xc, wc, $0) } <= FiniteDifferences.tolerance)
    }
}

@Suite struct GroupNormGradientCheckTests {
    let pool = Parallel(threads: 2)

    @Test(arguments: [1, 2, 6])
    func groupNorm(groups: Int) {
        let s = GroupNormShape(batch: 2, channels: 6, spatial: 10, groups: groups)
        let count = 2 * 6 * 10
        var x = FiniteDifferences.random(count, "x", scale: 2).map { $0 + 0.3 }
        var w = FiniteDifferences.random(6, "w", scale: 0.2).map { $0 + 1 }
        var b = FiniteDifferences.random(6, "b", scale: 0.2)
        let r = FiniteDifferences.random(count, "r")
        var mean = [Float](repeating: 0, count: s.stats), rstd = mean
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var y = [Float](repeating: 0, count: count)
            var m = [Float](repeating: 0, count: s.stats), rs = m
            GroupNorm.forward(pool, s, x: x, weight: w, bias: b, y: &y, mean: &m, rstd: &rs)
            return FiniteDifferences.dot(y, r)
        }
        var y = [Float](repeating: 0, count: count)
        GroupNorm.forward(pool, s, x: x, weight: w, bias: b, y: &y, mean: &mean, rstd: &rstd)
        var dx = [Float](repeating: 0, count: count), dw = [Float](repeating: 0, count: 6), db = dw
        GroupNorm.backward(
            pool, s, x: x, weight: w, mean: mean, rstd: rstd, dy: r, dx: &dx, accumulate: false, dWeight: &dw,
            dBias: &db)
        let (xc, wc, bc) = (x, w, b)
        #expect(FiniteDifferences.check(&x, analytic: dx) { forward($0, wc, bc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&w, analytic: dw) { forward(xc, $0, bc) } <= FiniteDifferences.tolerance)
        #expect(FiniteDifferences.check(&b, analytic: db) { forward(xc, wc, $0) } <= FiniteDifferences.tolerance)
    }
}

/// Conv2d and GroupNorm forward and backward against PyTorch (scripts/reference/make_image_layers_fixture.py), ≤ 1e-4.
@Suite struct ImageLayersFixtureTests {
    let pool = Parallel(threads: 2)
    let f = try! SafetensorsFile(path: Fixtures.path("image_layers.safetensors"))

    @Test(arguments: [("conv_k3s1p1", 3, 1, 1), ("conv_k4s2p1", 4, 2, 1)])
    func conv2dMatchesTorch(name: String, kernel: Int, stride: Int, padding: Int) throws {
        let s = Conv2dShape(
            batch: 2, inChannels: 3, outChannels: 4, height: 7, width: 6, kernel: kernel, stride: stride,
            padding: padding)
        let x = try f.floats(name + ".x"), w = try f.floats(name + ".w"), b = try f.floats(name + ".b"),
            r = try f.floats(name + ".r")
        var cols = [Float](repeating: 0, count: s.scratch)
        var y = [Float](repeating: 0, count: r.count)
        Conv2d.forward(pool, s, x: x, weight: w, bias: b, y: &y, cols: &cols)
        #expect(relativeError(y, try f.floats(name + ".y")) <= 1e-4)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: w.count),
            db = [Float](repeating: 0, count: 4)
        Conv2d.backward(pool, s, x: x, weight: w, dy: r, dx: &dx, dWeight: &dw, dBias: &db, cols: &cols)
        #expect(relativeError(dx, try f.floats(name + ".dx")) <= 1e-4)
        #expect(relativeError(dw, try f.floats(name + ".dw")) <= 1e-4)
        #expect(relativeError(db, try f.floats(name + ".db")) <= 1e-4)
    }

    @Test func groupNormMatchesTorch() throws {
        let s = GroupNormShape(batch: 2, channels: 6, spatial: 20, groups: 2, eps: 1e-6)
        let x = try f.floats("gn.x"), w = try f.floats("gn.w"), b = try f.floats("gn.b"), r = try f.floats("gn.r")
        var y = [Float](repeating: 0, count: x.count), mean = [Float](repeating: 0, count: s.stats), rstd = mean
        GroupNorm.forward(pool, s, x: x, weight: w, bias: b, y: &y, mean: &mean, rstd: &rstd)
        #expect(relativeError(y, try f.floats("gn.y")) <= 1e-4)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: 6), db = dw
        GroupNorm.backward(
            pool, s, x: x, weight: w, mean: mean, rstd: rstd, dy: r, dx: &dx, accumulate: false, dWeight: &dw,
            dBias: &db)
        #expect(relativeError(dx, try f.floats("gn.dx")) <= 1e-4)
        #expect(relativeError(dw, try f.floats("gn.dw")) <= 1e-4)
        #expect(relativeError(db, try f.floats("gn.db")) <= 1e-4)
    }
}

@Suite struct VectorQuantizerTests {
    let pool = Parallel(threads: 2)

    /// Nearest codes equal a brute-force search; the loss's gradients match finite differences
    /// (small steps keep every assignment fixed, which the test checks); straight-through passes dz.
    @Test func nearestCodesAndGradients() {
        let n = 40, d = 4, k = 16
        var z = FiniteDifferences.random(n * d, "z")
        var e = FiniteDifferences.random(k * d, "e")
        var idx = [Int32](repeating: 0, count: n), zq = [Float](repeating: 0, count: n * d)
        var scores = [Float](repeating: 0, count: n * k), norms = [Float](repeating: 0, count: k),
            usage = [Int](repeating: 0, count: k)
        let loss = VectorQuantizer.forward(
            pool, z: z, codebook: e, rows: n, dim: d, codes: k, beta: 0.25, indices: &idx, zq: &zq,
            usage: &usage, scores: &scores, codeNorms: &norms)
        for i in 0..<n {
            var best = 0, bestD = Float.infinity
            for c in 0..<k {
                var s: Float = 0
                for j in 0..<d { let t = z[i * d + j] - e[c * d + j]; s += t * t }
                if s < bestD { bestD = s; best = c }
            }
            #expect(Int(idx[i]) == best, "row \(i)")
        }
        #expect(usage.reduce(0, +) == n && loss > 0)
        func lossOf(_ z: [Float], _ e: [Float]) -> Double {
            var i2 = [Int32](repeating: 0, count: n), q2 = [Float](repeating: 0, count: n * d)
            var s2 = [Float](repeating: 0, count: n * k), n2 = [Float](repeating: 0, count: k)
            let l = VectorQuantizer.forward(
                pool, z: z, codebook: e, rows: n, dim: d, codes: k, beta: 0.25, indices: &i2, zq: &q2,
                usage: nil, scores: &s2, codeNorms: &n2)
            #expect(i2 == idx, "a finite-difference step changed an assignment")
            return l
        }
        let upstream = FiniteDifferences.random(n * d, "up")
        var dz = [Float](repeating: 0, count: n * d), de = [Float](repeating: 0, count: k * d)
        VectorQuantizer.backward(
            z: z, zq: zq, indices: idx, rows: n, dim: d, beta: 0.25, lossScale: 1, dzqST: nil, dz: &dz, dCodebook: &de)
        let (zc, ec) = (z, e)
        // The loss's value is (1 + β)·mean((z_q − z)²); stop-gradients send weight 1 of it to z and β to E,
        // so finite differences of the value equal dz·(1 + β) and dE·(1 + β)/β.
        let zScaled = dz.map { $0 * 1.25 }, eScaled = de.map { $0 * 1.25 / 0.25 }
        #expect(
            FiniteDifferences.check(&z, analytic: zScaled, h: 1e-3) { lossOf($0, ec) } <= FiniteDifferences.tolerance)
        #expect(
            FiniteDifferences.check(&e, analytic: eScaled, h: 1e-3) { lossOf(zc, $0) } <= FiniteDifferences.tolerance)
        var dz2 = [Float](repeating: 0, count: n * d), de2 = [Float](repeating: 0, count: k * d)
        VectorQuantizer.backward(
            z: zc, zq: zq, indices: idx, rows: n, dim: d, beta: 0.25, lossScale: 0, dzqST: upstream, dz: &dz2,
            dCodebook: &de2)
        #expect(dz2 == upstream && de2.allSatisfy { $0 == 0 })
    }
}
