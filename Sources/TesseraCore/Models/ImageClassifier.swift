import Foundation

/// A small convolutional classifier of captioned images, trained by Tessera to score samples
/// without anything downloaded (paper §3.1 uses FID on Inception features; offline, this network's
/// pooled features stand in for Inception's):
///   conv3×3(3→w) GN SiLU → conv3×3/2(w→2w) GN SiLU → conv3×3/2(2w→2w) GN SiLU → mean over space
///   → features [2w] → linear → class logits.
/// Explicit forward and backward over one `ParameterStore`; inputs are [B, 3, S, S] in [−1, 1].
public final class ImageClassifier {
    public let side, width, classes, maxBatch: Int
    public var featureSize: Int { 2 * width }
    public let params: ParameterStore
    let registry = ParamRegistry()
    let ws: Workspace
    let convs: [ConvBlock]
    let norms: [NormBlock]
    /// SiLU outputs of each stage; the last one is pooled.
    let acts: [FeatureMap]
    let dActs: [FeatureMap]
    let fcWeight, fcBias: Param
    /// Pooled features [B, 2w] and logits [B, classes] of the last forward.
    public let features: FloatBuffer
    public let logits: FloatBuffer
    let dFeatures, dLogits: FloatBuffer

    public init(side: Int, classes: Int, width: Int = 32, maxBatch: Int, pool: Parallel) {
        precondition(side >= 8 && classes >= 2 && width >= 4 && width % 4 == 0)
        self.side = side; self.width = width; self.classes = classes; self.maxBatch = maxBatch
        ws = Workspace(pool: pool)
        var convs: [ConvBlock] = [], norms: [NormBlock] = [], acts: [FeatureMap] = [], dActs: [FeatureMap] = []
        var (c, h) = (3, side)
        for (i, (cout, stride)) in [(width, 1), (2 * width, 2), (2 * width, 2)].enumerated() {
            let conv = ConvBlock(
                registry, "conv\(i)", cin: c, cout: cout, kernel: 3, stride: stride, padBefore: 1, padAfter: 1,
                height: h, width: h, maxBatch: maxBatch)
            h = conv.out.height
            norms.append(
                NormBlock(
                    registry, "norm\(i)", channels: cout, height: h, width: h, groups: 4, eps: 1e-5, zq: nil,
                    maxBatch: maxBatch))
            convs.append(conv)
            acts.append(FeatureMap(cout, h, h, maxBatch: maxBatch))
            dActs.append(FeatureMap(cout, h, h, maxBatch: maxBatch))
            c = cout
        }
        let bound = 1 / Float(2 * width).squareRoot()
        fcWeight = registry.add("fc.weight", [classes, 2 * width], .uniform(bound))
        fcBias = registry.add("fc.bias", [classes], .uniform(bound))
        self.convs = convs; self.norms = norms; self.acts = acts; self.dActs = dActs
        params = registry.makeStore()
        features = FloatBuffer(count: maxBatch * 2 * width)
        dFeatures = FloatBuffer(count: maxBatch * 2 * width)
        logits = FloatBuffer(count: maxBatch * classes)
        dLogits = FloatBuffer(count: maxBatch * classes)
    }

    public func initialize(seed: UInt64) { registry.initialize(seed: seed) }
    public var parameterNames: [String] { registry.params.map(\.name) }

    /// Features and logits of `batch` images.
    public func forward(_ x: UnsafePointer<Float>, batch: Int) {
        precondition(batch <= maxBatch)
        var input = x
        for i in convs.indices {
            let y = convs[i].forward(ws, input, batch: batch)
            let n = norms[i].forward(ws, y.p, zq: nil, batch: batch)
            SiLU.forward(ws.pool, x: n.p, y: acts[i].p, count: acts[i].count(batch))
            input = UnsafePointer(acts[i].p)
        }
        let last = acts[acts.count - 1], plane = last.height * last.width, f = featureSize
        for b in 0..<batch {
            for ch in 0..<f {
                var s: Float = 0
                let p = last.p + (b * f + ch) * plane
                for j in 0..<plane { s += p[j] }
                features.pointer[b * f + ch] = s / Float(plane)
            }
        }
        Gemm.linearForward(
            ws.pool, x: features.pointer, w: fcWeight.value, y: logits.pointer, m: batch, k: f, n: classes)
        for b in 0..<batch { for k in 0..<classes { logits.pointer[b * classes + k] += fcBias.value[k] } }
    }

    /// Mean cross-entropy of the last forward against `labels`; with `backward`, accumulates every
    /// parameter's gradient of that mean. Returns (loss, correct predictions).
    @discardableResult
    public func loss(labels: [Int32], backward: Bool) -> (loss: Double, correct: Int) {
        let batch = labels.count, C = classes
        var total = 0.0, correct = 0
        for b in 0..<batch {
            let row = logits.pointer + b * C, d = dLogits.pointer + b * C
            var mx = row[0], arg = 0
            for k in 1..<C where row[k] > mx { mx = row[k]; arg = k }
            var z = 0.0
            for k in 0..<C { z += Foundation.exp(Double(row[k] - mx)) }
            let y = Int(labels[b])
            total += Foundation.log(z) - Double(row[y] - mx)
            if arg == y { correct += 1 }
            for k in 0..<C { d[k] = Float(Foundation.exp(Double(row[k] - mx)) / z - (k == y ? 1 : 0)) / Float(batch) }
        }
        if backward { self.backward(batch: batch) }
        return (total / Double(batch), correct)
    }

    func backward(batch: Int) {
        let f = featureSize
        Gemm.linearBackwardWeight(
            ws.pool, dy: dLogits.pointer, x: features.pointer, dw: fcWeight.grad, m: batch, k: f, n: classes)
        for b in 0..<batch { for k in 0..<classes { fcBias.grad[k] += dLogits.pointer[b * classes + k] } }
        Gemm.linearBackwardInput(
            ws.pool, dy: dLogits.pointer, w: fcWeight.value, dx: dFeatures.pointer, m: batch, k: f, n: classes,
            accumulate: false)
        let last = dActs[dActs.count - 1], plane = last.height * last.width
        for b in 0..<batch {
            for ch in 0..<f {
                let g = dFeatures.pointer[b * f + ch] / Float(plane)
                (last.p + (b * f + ch) * plane).update(repeating: g, count: plane)
            }
        }
        for i in convs.indices.reversed() {
            let n = norms[i].out, count = acts[i].count(batch)
            SiLU.backward(ws.pool, x: n.p, dy: dActs[i].p, dx: dActs[i].p, count: count)
            let dConv = ws.scratch(.blockGradA, convs[i].out.count(batch))
            norms[i].backward(ws, dActs[i].p, dx: dConv, accumulate: false, dzq: nil, batch: batch)
            // conv backward adds into dx
            if i > 0 { dActs[i - 1].p.update(repeating: 0, count: acts[i - 1].count(batch)) }
            convs[i].backward(ws, dConv, dx: i > 0 ? dActs[i - 1].p : nil, batch: batch)
        }
    }
}
