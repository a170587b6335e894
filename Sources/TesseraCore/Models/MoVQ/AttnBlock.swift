/// One of MoVQ's residual, attention and resampling blocks (vqvae_blocks.py / movq_modules.py),
/// with explicit backward. `zq` is the decoder's conditioning (nil in the encoder, where norms are
/// GroupNorm).

/// out = x + proj_out(attention(q(N(x)), k(N(x)), v(N(x)))), single head over H·W positions.
final class AttnBlock {
    let norm: NormBlock
    let q, k, v, proj: ConvBlock
    let attn, probs, dAttn, dQ, dK, dV, dIn, out: FeatureMap
    let channels, positions: Int
    init(
        _ r: ParamRegistry, _ name: String, channels c: Int, height h: Int, width w: Int, norm spec: NormSpec,
        maxBatch: Int
    ) {
        channels = c; positions = h * w
        r.flops.append((name + ".softmax_attention", 4 * Double(h * w * h * w * c)))  // Qᵀ·K and V·Pᵀ
        norm = NormBlock(
            r, name + ".norm", channels: c, height: h, width: w, groups: spec.groups, eps: spec.eps, zq: spec.zq,
            maxBatch: maxBatch)
        q = ConvBlock(r, name + ".q", cin: c, cout: c, kernel: 1, height: h, width: w, maxBatch: maxBatch)
        k = ConvBlock(r, name + ".k", cin: c, cout: c, kernel: 1, height: h, width: w, maxBatch: maxBatch)
        v = ConvBlock(r, name + ".v", cin: c, cout: c, kernel: 1, height: h, width: w, maxBatch: maxBatch)
        proj = ConvBlock(r, name + ".proj_out", cin: c, cout: c, kernel: 1, height: h, width: w, maxBatch: maxBatch)
        attn = FeatureMap(c, h, w, maxBatch: maxBatch)
        probs = FeatureMap(h * w, h, w, maxBatch: maxBatch)
        dAttn = FeatureMap(c, h, w, maxBatch: maxBatch)
        dQ = FeatureMap(c, h, w, maxBatch: maxBatch)
        dK = FeatureMap(c, h, w, maxBatch: maxBatch)
        dV = FeatureMap(c, h, w, maxBatch: maxBatch)
        dIn = FeatureMap(c, h, w, maxBatch: maxBatch)
        out = FeatureMap(c, h, w, maxBatch: maxBatch)
    }

    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        let n = norm.forward(ws, x, zq: zq, batch: batch).p
        let qo = q.forward(ws, n, batch: batch).p, ko = k.forward(ws, n, batch: batch).p,
            vo = v.forward(ws, n, batch: batch).p
        ws.timer.measure("attention") {
            SpatialAttention.forward(
                ws.pool, q: qo, k: ko, v: vo, batch: batch, channels: channels, positions: positions,
                o: attn.p, p: probs.p)
        }
        let h = proj.forward(ws, attn.p, batch: batch).p, o = out.p
        ws.timer.measure("residual, zeroing") {
            ws.pool.forEachChunk(out.count(batch), grain: 1 << 14) { r in for i in r { o[i] = x[i] + h[i] } }
        }
        return out
    }

    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap {
        let count = out.count(batch)
        proj.backward(ws, dy, dx: dAttn.p, batch: batch, accumulate: false)
        ws.timer.measure("attention") {
            SpatialAttention.backward(
                ws.pool, q: q.out.p, k: k.out.p, v: v.out.p, p: probs.p, dout: dAttn.p, batch: batch,
                channels: channels, positions: positions, dq: dQ.p, dk: dK.p, dv: dV.p,
                scratch: ws.scratch(.attentionProbs, ws.pool.threads * positions * positions))
        }
        let dn = ws.scratch(.blockGradA, count)
        ws.timer.measure("residual, zeroing") { dn.update(repeating: 0, count: count) }
        q.backward(ws, dQ.p, dx: dn, batch: batch)
        k.backward(ws, dK.p, dx: dn, batch: batch)
        v.backward(ws, dV.p, dx: dn, batch: batch)
        norm.backward(ws, dn, dx: dIn.p, accumulate: false, dzq: dzq, batch: batch)
        let d = dIn.p
        ws.timer.measure("residual, zeroing") {
            ws.pool.forEachChunk(count, grain: 1 << 14) { r in for i in r { d[i] += dy[i] } }
        }
        return dIn
    }
}
