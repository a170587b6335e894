import Foundation
import TesseraCore
import Testing

/// Gradient clipping inside the update: `update(gradScale:)` multiplies each gradient as it reads
/// it, the same product as scaling the buffer first, so the weights and moments come out
/// bit-identical while the gradients stay as they were.
@Suite struct AdamWTests {
    func store(seed: String) -> ParameterStore {
        let s = ParameterStore(shapes: [("a.weight", [37, 5]), ("b.bias", [70])])
        for (i, x) in FiniteDifferences.random(s.values.count, seed + "/p").enumerated() { s.values.pointer[i] = x }
        for (i, x) in FiniteDifferences.random(s.grads.count, seed + "/g").enumerated() { s.grads.pointer[i] = 3 * x }
        return s
    }

    @Test func scalingInsideTheUpdateEqualsScalingFirst() {
        let pool = Parallel(threads: 2), scale: Float = 0.3183
        let first = store(seed: "adam"), inside = store(seed: "adam")
        let before = Array(UnsafeBufferPointer(start: inside.grads.pointer, count: inside.grads.count))
        let a = AdamW(store: first, config: AdamWConfig()), b = AdamW(store: inside, config: AdamWConfig())
        for step in 0..<3 {
            Kernels.scale(first.grads.pointer, count: first.grads.count, by: scale)
            a.update(lr: 1e-2, pool: pool)
            b.update(lr: 1e-2, gradScale: scale, pool: pool)
            // The scaled-first gradients are restored so both see the same raw gradients next step.
            first.grads.pointer.update(from: before, count: before.count)
            #expect(memcmp(first.values.pointer, inside.values.pointer, first.values.count * 4) == 0, "step \(step)")
        }
        #expect(
            memcmp(a.m.pointer, b.m.pointer, a.m.count * 4) == 0 && memcmp(a.v.pointer, b.v.pointer, a.v.count * 4) == 0
        )
        #expect(Array(UnsafeBufferPointer(start: inside.grads.pointer, count: inside.grads.count)) == before)
        // A different scale gives other weights: the argument is used.
        let other = store(seed: "adam")
        AdamW(store: other, config: AdamWConfig()).update(lr: 1e-2, gradScale: 0.5, pool: pool)
        let once = store(seed: "adam")
        AdamW(store: once, config: AdamWConfig()).update(lr: 1e-2, gradScale: scale, pool: pool)
        #expect(memcmp(other.values.pointer, once.values.pointer, other.values.count * 4) != 0)
    }

    /// torch's clip_grad_norm_ coefficient: clip / (norm + 1e-6) when below 1; 1 otherwise or
    /// when clipping is off.
    @Test func clipScaleFollowsTorch() {
        var o = TrainConfig.OptimSection()
        o.gradClip = 1
        #expect(o.clipScale(norm: 4) == Float(1 / (4 + 1e-6)))
        #expect(o.clipScale(norm: 0.5) == 1)
        o.gradClip = 0
        #expect(o.clipScale(norm: 4) == 1)
    }
}
