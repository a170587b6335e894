import Foundation

/// Rotary position embedding. `half` pairs channel i with i + hd/2 (GPT-NeoX, open_lm `rotary`);
/// `interleaved` pairs 2i with 2i+1 (Meta Llama, and GGUF files, whose converter permutes q/k).
/// `none` leaves q and k alone (open_lm's released `head_rotary` is equivalent to it).
public enum RopeKind: String, Codable, Sendable, CaseIterable {
    case none
    case half
    case interleaved
}

/// cos/sin tables `[maxPositions, dims/2]` and the in-place rotation of q and k inside a packed
/// qkv buffer. The rotation is orthogonal, so backward is the same rotation with -θ. Partial
/// rotary (GPT-NeoX's rotary_pct): only the first `dims` channels of each head rotate, with
/// frequencies θ^(−2i/dims); the rest pass through.
public struct RotaryTable {
    public let kind: RopeKind
    public let headDim: Int
    /// Rotated channels per head (≤ headDim, even).
    public let dims: Int
    public let positions: Int
    let cos: [Float]
    let sin: [Float]

    public init(kind: RopeKind, headDim: Int, positions: Int, theta: Double, dims: Int? = nil) {
        self.kind = kind
        self.headDim = headDim
        self.dims = dims ?? headDim
        self.positions = positions
        let half = self.dims / 2
        var c = [Float](repeating: 1, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        if kind != .none {
            for p in 0..<positions {
                for i in 0..<half {
                    let invFreq = 1.0 / Foundation.pow(theta, Double(2 * i) / Double(self.dims))
                    let angle = Double(p) * invFreq
                    c[p * half + i] = Float(Foundation.cos(angle))
                    s[p * half + i] = Float(Foundation.sin(angle))
                }
            }
        }
        cos = c
        sin = s
    }

    /// Rotates `heads` consecutive head vectors starting at `v`, all at sequence position `position`.
    public func rotate(_ v: UnsafeMutablePointer<Float>, position: Int, heads: Int) {
        guard kind != .none else { return }
        let hd = headDim, half = dims / 2
        cos.withUnsafeBufferPointer { c in
            sin.withUnsafeBufferPointer { s in
                let cr = c.baseAddress! + position * half, sr = s.baseAddress! + position * half
                for h in 0..<heads {
                    let x = v + h * hd
                    for i in 0..<half {
                        let (a, b) = kind == .half ? (i, i + half) : (2 * i, 2 * i + 1)
                        let x1 = x[a], x2 = x[b]
                        x[a] = x1 * cr[i] - x2 * sr[i]
                        x[b] = x2 * cr[i] + x1 * sr[i]
                    }
                }
            }
        }
    }

    /// Rotates `heads` consecutive head vectors of each row, starting at column `column` of a
    /// `[batch·seq, stride]` buffer. `inverse` applies the transpose (backward).
    public func apply(
        _ pool: Parallel, _ buf: UnsafeMutablePointer<Float>, rows: Int, seqLen: Int,
        stride: Int, column: Int, heads: Int, inverse: Bool
    ) {
        guard kind != .none else { return }
        let hd = headDim, half = dims / 2
        let sign: Float = inverse ? -1 : 1
        cos.withUnsafeBufferPointer { cosTable in
            sin.withUnsafeBufferPointer { sinTable in
                let cosP = cosTable.baseAddress!, sinP = sinTable.baseAddress!
                pool.forEachChunk(rows, grain: 128) { range in
                    for r in range {
                        let pos = r % seqLen
                        let cr = cosP + pos * half, sr = sinP + pos * half
                        for h in 0..<heads {
                            let v = buf + r * stride + column + h * hd
                            if kind == .half {
                                for i in 0..<half {
                                    let x1 = v[i], x2 = v[i + half], c = cr[i], s = sign * sr[i]
                                    v[i] = x1 * c - x2 * s
                                    v[i + half] = x2 * c + x1 * s
                                }
                            } else {
                                for i in 0..<half {
                                    let x1 = v[2 * i], x2 = v[2 * i + 1], c = cr[i], s = sign * sr[i]
                                    v[2 * i] = x1 * c - x2 * s
                                    v[2 * i + 1] = x2 * c + x1 * s
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
