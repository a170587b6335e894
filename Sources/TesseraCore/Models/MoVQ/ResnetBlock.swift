/// One of MoVQ's residual, attention and resampling blocks (vqvae_blocks.py / movq_modules.py),
/// with explicit backward. `zq` is the decoder's conditioning (nil in the encoder, where norms are
/// GroupNorm).

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
