import Foundation
import TesseraCore
import Testing

/// Finite-difference checks of the MoVQ layers that have no PyTorch fixture of their own
/// (the whole model is checked against PyTorch in MoVQTests). Same loss and tolerance as
/// GradientCheckTests: L = Σ y·r, central differences.
@Suite struct MoVQLayerGradientTests {
    let pool = Parallel(threads: 2)
    typealias G = FiniteDifferences

    @Test func silu() {
        var x = G.random(300, "x", scale: 2)
        let r = G.random(300, "r")
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: x.count)
            SiLU.forward(pool, x: x, y: &y, count: x.count)
            return G.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: 300)
        SiLU.backward(pool, x: x, dy: r, dx: &dx, count: 300)
        #expect(G.check(&x, analytic: dx, loss) <= G.tolerance)
    }

    /// ×2 (the decoder's upsampling) and a non-integer ratio (SpatialNorm on odd grids).
    @Test(arguments: [(3, 4, 6, 8), (3, 5, 7, 9)])
    func nearest(h: Int, w: Int, ho: Int, wo: Int) {
        let planes = 4
        var x = G.random(planes * h * w, "x")
        let r = G.random(planes * ho * wo, "r")
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: r.count)
            Nearest.forward(pool, x: x, planes: planes, height: h, width: w, y: &y, outHeight: ho, outWidth: wo)
            return G.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: x.count)
        Nearest.backward(
            pool, dy: r, planes: planes, height: h, width: w, dx: &dx, outHeight: ho, outWidth: wo, accumulate: false)
        #expect(G.check(&x, analytic: dx, loss) <= G.tolerance)
    }

    @Test func spatialAttention() {
        let b = 2, c = 5, n = 12
        var q = G.random(b * c * n, "q"), k = G.random(b * c * n, "k"), v = G.random(b * c * n, "v")
        let r = G.random(b * c * n, "r")
        func loss(_ q: [Float], _ k: [Float], _ v: [Float]) -> Double {
            var o = [Float](repeating: 0, count: r.count), p = [Float](repeating: 0, count: b * n * n)
            SpatialAttention.forward(pool, q: q, k: k, v: v, batch: b, channels: c, positions: n, o: &o, p: &p)
            return G.dot(o, r)
        }
        var o = [Float](repeating: 0, count: r.count), p = [Float](repeating: 0, count: b * n * n)
        SpatialAttention.forward(pool, q: q, k: k, v: v, batch: b, channels: c, positions: n, o: &o, p: &p)
        var dq = [Float](repeating: 0, count: r.count), dk = dq, dv = dq
        var scratch = [Float](repeating: 0, count: pool.threads * n * n)
        SpatialAttention.backward(
            pool, q: q, k: k, v: v, p: p, dout: r, batch: b, channels: c, positions: n,
            dq: &dq, dk: &dk, dv: &dv, scratch: &scratch)
        let (qc, kc, vc) = (q, k, v)
        #expect(G.check(&q, analytic: dq) { loss($0, kc, vc) } <= G.tolerance)
        #expect(G.check(&k, analytic: dk) { loss(qc, $0, vc) } <= G.tolerance)
        #expect(G.check(&v, analytic: dv) { loss(qc, kc, $0) } <= G.tolerance)
    }

    @Test func spatialNormModulation() {
        let planes = 6, h = 6, w = 4, gh = 3, gw = 2
        var n = G.random(planes * h * w, "n"), a = G.random(planes * gh * gw, "a"), b = G.random(planes * gh * gw, "b")
        let r = G.random(planes * h * w, "r")
        func loss(_ n: [Float], _ a: [Float], _ b: [Float]) -> Double {
            var o = [Float](repeating: 0, count: r.count)
            SpatialNorm.forward(
                pool, normed: n, scale: a, shift: b, out: &o, planes: planes, height: h, width: w, gridHeight: gh,
                gridWidth: gw)
            return G.dot(o, r)
        }
        var dn = [Float](repeating: 0, count: n.count), da = [Float](repeating: 0, count: a.count), db = da
        SpatialNorm.backward(
            pool, normed: n, scale: a, dy: r, dNormed: &dn, dScale: &da, dShift: &db, planes: planes,
            height: h, width: w, gridHeight: gh, gridWidth: gw)
        let (nc, ac, bc) = (n, a, b)
        #expect(G.check(&n, analytic: dn) { loss($0, ac, bc) } <= G.tolerance)
        #expect(G.check(&a, analytic: da) { loss(nc, $0, bc) } <= G.tolerance)
        #expect(G.check(&b, analytic: db) { loss(nc, ac, $0) } <= G.tolerance)
    }

    /// MoVQ's downsampling: pad (0, 1) then 3×3 stride 2, which the symmetric-padding cases do not cover.
    @Test func downsampleConv() {
        let s = Conv2dShape(
            batch: 2, inChannels: 3, outChannels: 3, height: 8, width: 6, kernel: 3, stride: 2, padBefore: 0,
            padAfter: 1)
        #expect(s.outHeight == 4 && s.outWidth == 3)
        let outCount = 2 * 3 * s.outHeight * s.outWidth
        var x = G.random(2 * 3 * 8 * 6, "x"), wt = G.random(3 * s.patch, "w", scale: 0.3)
        let b = G.random(3, "b"), r = G.random(outCount, "r")
        var cols = [Float](repeating: 0, count: s.scratch)
        func loss(_ x: [Float], _ wt: [Float]) -> Double {
            var y = [Float](repeating: 0, count: outCount)
            Conv2d.forward(pool, s, x: x, weight: wt, bias: b, y: &y, cols: &cols)
            return G.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: wt.count),
            db = [Float](repeating: 0, count: 3)
        Conv2d.backward(pool, s, x: x, weight: wt, dy: r, dx: &dx, dWeight: &dw, dBias: &db, cols: &cols)
        let (xc, wc) = (x, wt)
        #expect(G.check(&x, analytic: dx) { loss($0, wc) } <= G.tolerance)
        #expect(G.check(&wt, analytic: dw) { loss(xc, $0) } <= G.tolerance)
    }
}

extension MoVQLayerGradientTests {
    @Test func leakyReLU() {
        var x = G.random(200, "x")
        let r = G.random(200, "r")
        func loss(_ x: [Float]) -> Double {
            var y = [Float](repeating: 0, count: x.count)
            LeakyReLU.forward(pool, x: x, y: &y, count: x.count, slope: 0.2)
            return G.dot(y, r)
        }
        var dx = [Float](repeating: 0, count: 200)
        LeakyReLU.backward(pool, x: x, dy: r, dx: &dx, count: 200, slope: 0.2)
        #expect(G.check(&x, analytic: dx, h: 1e-3, loss) <= G.tolerance)
    }

    @Test func batchNorm() {
        let b = 3, c = 4, s = 6
        var x = G.random(b * c * s, "x", scale: 2).map { $0 + 0.5 }
        var w = G.random(c, "w", scale: 0.2).map { $0 + 1 }, bias = G.random(c, "b", scale: 0.2)
        let r = G.random(b * c * s, "r")
        func loss(_ x: [Float], _ w: [Float], _ bias: [Float]) -> Double {
            var y = [Float](repeating: 0, count: x.count), m = [Float](repeating: 0, count: c), rs = m
            BatchNorm.forward(
                pool, x: x, batch: b, channels: c, spatial: s, eps: 1e-5, weight: w, bias: bias, y: &y,
                mean: &m, rstd: &rs, runningMean: nil, runningVar: nil)
            return G.dot(y, r)
        }
        var y = [Float](repeating: 0, count: x.count), m = [Float](repeating: 0, count: c), rs = m
        BatchNorm.forward(
            pool, x: x, batch: b, channels: c, spatial: s, eps: 1e-5, weight: w, bias: bias, y: &y,
            mean: &m, rstd: &rs, runningMean: nil, runningVar: nil)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: c), db = dw
        BatchNorm.backward(
            pool, x: x, batch: b, channels: c, spatial: s, weight: w, mean: m, rstd: rs, dy: r, dx: &dx,
            dWeight: &dw, dBias: &db)
        let (xc, wc, bc) = (x, w, bias)
        #expect(G.check(&x, analytic: dx) { loss($0, wc, bc) } <= G.tolerance)
        #expect(G.check(&w, analytic: dw) { loss(xc, $0, bc) } <= G.tolerance)
        #expect(G.check(&bias, analytic: db) { loss(xc, wc, $0) } <= G.tolerance)
    }
}
