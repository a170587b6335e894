import Foundation

/// `tessera bench conv`: every shape class of a MoVQ model's convolutions (the same batch,
/// channels, size, kernel, stride and padding, wherever in the network it occurs), forward and
/// backward (input and weight gradients, bias included) on each engine. The engines run in
/// interleaved rounds — round r times every engine before round r + 1 starts — so a time-shared
/// machine slows them alike; each figure is the median of the rounds after one warm-up round.
extension Benchmark {
    public struct ConvolutionRow: Codable, Sendable {
        /// "Cin→Cout k×k/s H×W (pad a,b)", at the benchmark's batch.
        public let shape: String
        /// Module paths with this shape.
        public let layers: [String]
        /// 2·MACs of one forward pass over the batch (backward: twice this).
        public let forwardFLOPs: Double
        /// Median milliseconds per engine (raw value of `ConvolutionEngine`).
        public let forwardMs: [String: Double]
        public let backwardMs: [String: Double]

        enum CodingKeys: String, CodingKey {
            case shape, layers, forwardFLOPs = "forward_flops", forwardMs = "forward_ms", backwardMs = "backward_ms"
        }

        /// The engine with the lowest forward + backward time.
        public var fastest: String {
            forwardMs.keys.min { forwardMs[$0]! + backwardMs[$0]! < forwardMs[$1]! + backwardMs[$1]! } ?? ""
        }
    }

    public static func convolutions(
        shapes: [(name: String, shape: Conv2dShape)], batch: Int, threads: Int, repeats: Int,
        engines: [ConvolutionEngine]
    ) -> [ConvolutionRow] {
        let pool = Parallel(threads: threads)
        var classes: [(key: String, shape: Conv2dShape, layers: [String])] = []
        for (name, full) in shapes {
            let s = full.with(batch: batch)
            let key = String(
                format: "%d→%d %d×%d/%d %d×%d (pad %d,%d)", s.inChannels, s.outChannels, s.kernel, s.kernel,
                s.stride, s.height, s.width, s.padBefore, s.padAfter)
            if let i = classes.firstIndex(where: { $0.key == key }) {
                classes[i].layers.append(name)
            } else {
                classes.append((key, s, [name]))
            }
        }
        var rows: [ConvolutionRow] = []
        for c in classes {
            let s = c.shape
            var rng = RandomStream(seed: 1, name: "bench/conv")
            func random(_ n: Int) -> FloatBuffer {
                let b = FloatBuffer(count: n)
                for i in 0..<n { b.pointer[i] = rng.uniform() * 2 - 1 }
                return b
            }
            let x = random(s.batch * s.inSize), w = random(s.outChannels * s.patch), b = random(s.outChannels)
            let dy = random(s.batch * s.outSize)
            let y = FloatBuffer(count: s.batch * s.outSize), dx = FloatBuffer(count: s.batch * s.inSize)
            let dw = FloatBuffer(count: s.outChannels * s.patch), db = FloatBuffer(count: s.outChannels)
            let cols = FloatBuffer(count: s.scratch)
            var forward = [[Double]](repeating: [], count: engines.count)
            var backward = forward
            for round in 0...repeats {
                for (e, engine) in engines.enumerated() {
                    var t0 = Date()
                    engine.forward(
                        pool, s, x: x.pointer, weight: w.pointer, bias: b.pointer, y: y.pointer,
                        columns: { cols.pointer })
                    let f = Date().timeIntervalSince(t0)
                    t0 = Date()
                    engine.backward(
                        pool, s, x: x.pointer, weight: w.pointer, dy: dy.pointer, dx: dx.pointer, dWeight: dw.pointer,
                        dBias: db.pointer, columns: { cols.pointer })
                    let g = Date().timeIntervalSince(t0)
                    if round > 0 { forward[e].append(f); backward[e].append(g) }
                }
            }
            func medianMs(_ t: [Double]) -> Double { t.sorted()[t.count / 2] * 1000 }
            rows.append(
                ConvolutionRow(
                    shape: c.key, layers: c.layers,
                    forwardFLOPs: 2 * Double(s.patch * s.outChannels * s.outHeight * s.outWidth * s.batch),
                    forwardMs: Dictionary(
                        uniqueKeysWithValues: engines.enumerated().map { ($1.rawValue, medianMs(forward[$0])) }),
                    backwardMs: Dictionary(
                        uniqueKeysWithValues: engines.enumerated().map { ($1.rawValue, medianMs(backward[$0])) })))
        }
        return rows
    }
}
