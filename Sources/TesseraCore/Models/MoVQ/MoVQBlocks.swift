/// MoVQ's residual, attention and resampling blocks (vqvae_blocks.py / movq_modules.py), each with
/// explicit backward. `zq` is the decoder's conditioning (nil in the encoder, where norms are GroupNorm).

/// Where a block's norms come from.
struct NormSpec {
    let groups: Int
    let eps: Float
    /// Code-grid shape for SpatialNorm (decoder), nil for GroupNorm (encoder).
    let zq: (channels: Int, height: Int, width: Int)?
}

/// h = conv2(silu(N2(conv1(silu(N1(x)))))); out = shortcut(x) + h, shortcut a 1×1 conv when Cin ≠ Cout.
final class ResnetBlock {
    let norm1, norm2: NormBlock
    let conv1, conv2: ConvBlock
    let shortcut: ConvBlock?
    let act1, act2, out, dIn: FeatureMap
    let cin, cout: Int
    init(
        _ r: ParamRegistry, _ name: String, cin: Int, cout: Int, height h: Int, width w: Int, norm: NormSpec,
        maxBatch: Int
    ) {
        self.cin = cin; self.cout = cout
        norm1 = NormBlock(
            r, name + ".norm1", channels: cin, height: h, width: w, groups: norm.groups, eps: norm.eps, zq: norm.zq,
            maxBatch: maxBatch)
        conv1 = ConvBlock(r, name + ".conv1", cin: cin, cout: cout, kernel: 3, height: h, width: w, maxBatch: maxBatch)
        norm2 = NormBlock(
            r, name + ".norm2", channels: cout, height: h, width: w, groups: norm.groups, eps: norm.eps, zq: norm.zq,
            maxBatch: maxBatch)
        conv2 = ConvBlock(r, name + ".conv2", cin: cout, cout: cout, kernel: 3, height: h, width: w, maxBatch: maxBatch)
        shortcut =
            cin == cout
            ? nil
            : ConvBlock(
                r, name + ".nin_shortcut", cin: cin, cout: cout, kernel: 1, height: h, width: w, maxBatch: maxBatch)
        act1 = FeatureMap(cin, h, w, maxBatch: maxBatch)
        act2 = FeatureMap(cout, h, w, maxBatch: maxBatch)
        out = FeatureMap(cout, h, w, maxBatch: maxBatch)
        dIn = FeatureMap(cin, h, w, maxBatch: maxBatch)
    }

    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, zq: UnsafePointer<Float>?, batch: Int) -> FeatureMap {
        let pool = ws.pool
        let n1 = norm1.forward(ws, x, zq: zq, batch: batch).p
        ws.timer.measure("silu") { SiLU.forward(pool, x: n1, y: act1.p, count: act1.count(batch)) }
        let c1 = conv1.forward(ws, act1.p, batch: batch)
        let n2 = norm2.forward(ws, c1.p, zq: zq, batch: batch).p
        ws.timer.measure("silu") { SiLU.forward(pool, x: n2, y: act2.p, count: act2.count(batch)) }
        let c2 = conv2.forward(ws, act2.p, batch: batch)
        let skip = shortcut?.forward(ws, x, batch: batch).p ?? UnsafeMutablePointer(mutating: x)
        let o = out.p, h = c2.p
        ws.timer.measure("residual, zeroing") {
            pool.forEachChunk(out.count(batch), grain: 1 << 14) { r in for i in r { o[i] = skip[i] + h[i] } }
        }
        return out
    }

    /// Returns ∂L/∂x (the block's own buffer); dzq accumulates.
    func backward(
        _ ws: Workspace, _ dy: UnsafePointer<Float>, dzq: UnsafeMutablePointer<Float>?, batch: Int
    ) -> FeatureMap {
        let pool = ws.pool, big = max(cin, cout) * out.height * out.width * batch
        let tA = ws.scratch(.blockGradA, big), tB = ws.scratch(.blockGradB, big)
        let nOut = cout * out.height * out.width * batch, nIn = cin * out.height * out.width * batch
        conv2.backward(ws, dy, dx: tA, batch: batch, accumulate: false)  // ∂/∂act2
        ws.timer.measure("silu") { SiLU.backward(pool, x: norm2.out.p, dy: tA, dx: tA, count: nOut) }  // ∂/∂N2
        norm2.backward(ws, tA, dx: tB, accumulate: false, dzq: dzq, batch: batch)  // ∂/∂conv1 out
        conv1.backward(ws, tB, dx: tA, batch: batch, accumulate: false)  // ∂/∂act1
        ws.timer.measure("silu") { SiLU.backward(pool, x: norm1.out.p, dy: tA, dx: tA, count: nIn) }
        norm1.backward(ws, tA, dx: dIn.p, accumulate: false, dzq: dzq, batch: batch)
        if let shortcut {
            shortcut.backward(ws, dy, dx: dIn.p, batch: batch)
        } else {
            let d = dIn.p
            ws.timer.measure("residual, zeroing") {
                pool.forEachChunk(nIn, grain: 1 << 14) { r in for i in r { d[i] += dy[i] } }
            }
        }
        return dIn
    }
}

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

/// Zero-pad right and bottom by one, then 3×3 conv with stride 2: H → H/2 (`downsample.conv`).
final class DownsampleBlock {
    let conv: ConvBlock
    let dIn: FeatureMap
    init(_ r: ParamRegistry, _ name: String, channels c: Int, height h: Int, width w: Int, maxBatch: Int) {
        conv = ConvBlock(
            r, name + ".conv", cin: c, cout: c, kernel: 3, stride: 2, padBefore: 0, padAfter: 1,
            height: h, width: w, maxBatch: maxBatch)
        dIn = FeatureMap(c, h, w, maxBatch: maxBatch)
    }
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        conv.forward(ws, x, batch: batch)
    }
    func backward(_ ws: Workspace, _ dy: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        conv.backward(ws, dy, dx: dIn.p, batch: batch, accumulate: false)
        return dIn
    }
}

/// Nearest ×2, then 3×3 conv (`upsample.conv`).
final class UpsampleBlock {
    let conv: ConvBlock
    let up, dIn: FeatureMap
    init(_ r: ParamRegistry, _ name: String, channels c: Int, height h: Int, width w: Int, maxBatch: Int) {
        conv = ConvBlock(r, name + ".conv", cin: c, cout: c, kernel: 3, height: 2 * h, width: 2 * w, maxBatch: maxBatch)
        up = FeatureMap(c, 2 * h, 2 * w, maxBatch: maxBatch)
        dIn = FeatureMap(c, h, w, maxBatch: maxBatch)
    }
    func forward(_ ws: Workspace, _ x: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        ws.timer.measure("upsample") {
            Nearest.forward(
                ws.pool, x: x, planes: batch * up.channels, height: dIn.height, width: dIn.width,
                y: up.p, outHeight: up.height, outWidth: up.width)
        }
        return conv.forward(ws, up.p, batch: batch)
    }
    func backward(_ ws: Workspace, _ dy: UnsafePointer<Float>, batch: Int) -> FeatureMap {
        let dUp = ws.scratch(.blockGradA, up.count(batch))
        conv.backward(ws, dy, dx: dUp, batch: batch, accumulate: false)
        ws.timer.measure("upsample") {
            Nearest.backward(
                ws.pool, dy: dUp, planes: batch * up.channels, height: dIn.height, width: dIn.width,
                dx: dIn.p, outHeight: up.height, outWidth: up.width, accumulate: false)
        }
        return dIn
    }
}
