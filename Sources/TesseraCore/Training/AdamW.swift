import Foundation

public struct AdamWConfig: Codable, Equatable, Sendable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.95
    public var eps: Double = 1e-8
    public var weightDecay: Double = 0.1
    public init(beta1: Double = 0.9, beta2: Double = 0.95, eps: Double = 1e-8, weightDecay: Double = 0.1) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
    }
}

/// AdamW with decoupled weight decay, in torch.optim.AdamW's order of operations:
///   θ ← θ·(1 − lr·wd);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
///   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
/// Moments exist only for trainable tensors (frozen ones get no state), packed in one buffer.
public final class AdamW {
    public struct Group {
        public let slot: TensorSlot
        public let momentOffset: Int
        public let decay: Bool
    }

    public let config: AdamWConfig
    public let groups: [Group]
    public let m: FloatBuffer
    public let v: FloatBuffer
    /// Updates applied so far (t of the next update is `step + 1`).
    public var step: Int = 0
    let store: ParameterStore

    /// `trainable` and `decays` decide per tensor name.
    public init(
        store: ParameterStore, config: AdamWConfig,
        trainable: (String) -> Bool = { _ in true }, decays: (String) -> Bool = { _ in true }
    ) {
        self.store = store
        self.config = config
        var groups: [Group] = []
        var offset = 0
        for s in store.slots where trainable(s.name) {
            groups.append(Group(slot: s, momentOffset: offset, decay: decays(s.name)))
            offset += (s.count + 15) / 16 * 16
        }
        self.groups = groups
        m = FloatBuffer(count: offset)
        v = FloatBuffer(count: offset)
    }

    public var trainableCount: Int { groups.reduce(0) { $0 + $1.slot.count } }

    /// Global L2 norm of the trainable gradients, summed in a fixed order (Double).
    public func gradNorm() -> Double {
        var total = 0.0
        for g in groups { total += Kernels.sumOfSquares(store.grads.pointer + g.slot.offset, count: g.slot.count) }
        return total.squareRoot()
    }

    /// One update at learning rate `lr`, each gradient multiplied by `gradScale` as it is read:
    /// gradient clipping (torch's `clip_grad_norm_` coefficient) without a pass of its own over
    /// the gradients — the same product g·scale, so the same bits as scaling them first, for one
    /// read and one write of the gradient buffer less on a clipped step (SmolLM2-135M: 2 × 539 MB).
    /// The gradients are left unscaled.
    public func update(lr: Double, gradScale: Float = 1, pool: Parallel) {
        step += 1
        let t = Double(step)
        let b1 = Float(config.beta1), b2 = Float(config.beta2), eps = Float(config.eps)
        let bc1 = 1 - pow(config.beta1, t), bc2 = 1 - pow(config.beta2, t)
        let stepSize = Float(lr / bc1)
        let invSqrtBc2 = Float(1 / bc2.squareRoot())
        for g in groups {
            let decay = g.decay ? Float(1 - lr * config.weightDecay) : 1
            let theta = store.values.pointer + g.slot.offset, grad = store.grads.pointer + g.slot.offset
            let mm = m.pointer + g.momentOffset, vv = v.pointer + g.momentOffset
            pool.forEachChunk(g.slot.count, grain: 1 << 15) { r in
                for i in r {
                    let gi = grad[i] * gradScale
                    let mi = b1 * mm[i] + (1 - b1) * gi
                    let vi = b2 * vv[i] + (1 - b2) * gi * gi
                    mm[i] = mi
                    vv[i] = vi
                    theta[i] = theta[i] * decay - stepSize * mi / (vi.squareRoot() * invSqrtBc2 + eps)
                }
            }
        }
    }
}
