/// Elementwise kernels over raw Float32 pointers. Memory-bound loops are plain loops (they reach
/// bandwidth as written); the transcendental ones use a SIMD16 exp, since libm's scalar `expf`
/// would dominate softmax over a 66k vocabulary.
public enum Kernels {
    public typealias V = SIMD16<Float>

    /// exp(x) for 16 lanes: Cody–Waite range reduction and Cephes' degree-6 polynomial.
    /// Relative error below 2e-7 over [-87, 88]; inputs below -87.3 give ~0 (not denormals).
    /// n = round(x·log2 e) comes from the 1.5·2²³ trick, whose bit pattern holds n, because
    /// Swift's generic SIMD float→int conversion is not vectorised. The clamp is two masked
    /// replaces: the standard library's `pointwiseMin`/`pointwiseMax` on SIMD16<Float> compile to
    /// an out-of-line scalar loop, which took 59 % of a held-out evaluation (perf, t2i config);
    /// the replaces give the same bits (NaN passes through both ways, a bound maps to itself).
    @inline(__always)
    public static func exp(_ v: V) -> V {
        var x = v
        x.replace(with: V(repeating: -87.3), where: x .< V(repeating: -87.3))
        x.replace(with: V(repeating: 88.7), where: x .> V(repeating: 88.7))
        let magic = V(repeating: 12_582_912.0)  // 1.5 · 2²³, bit pattern 0x4B40_0000
        let t = x * 1.44269504088896341 + magic
        let fx = t - magic
        x = x - fx * 0.693359375
        x = x - fx * -2.12194440e-4
        let x2 = x * x
        var y = V(repeating: 1.9875691500e-4)
        y = y * x + 1.3981999507e-3
        y = y * x + 8.3334519073e-3
        y = y * x + 4.1665795894e-2
        y = y * x + 1.6666665459e-1
        y = y * x + 5.0000001201e-1
        y = y * x2 + x + 1
        let n = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((n &+ 127) &<< 23, to: V.self)
        return y * scale
    }

    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }

    @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// y[i] = exp(x[i] - shift), returns Σ y. In place allowed.
    @inline(__always)
    public static func expShiftSum(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
        count: Int, shift: Float
    ) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        let s = V(repeating: shift)
        while i + 16 <= count {
            let e = exp(load(x + i) - s)
            store(e, y + i)
            acc += e
            i += 16
        }
        var total = acc.sum()
        while i < count {
            let e = exp(x[i] - shift)
            y[i] = e
            total += e
            i += 1
        }
        return total
    }

    /// Largest element. (A loop-carried `pointwiseMax` compiles to scalar code, 100× slower than
    /// `replace(with:where:)`, measured.)
    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = V(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = load(x + i)
            m.replace(with: v, where: v .> m)
            i += 16
        }
        var r = m[0]
        for j in 1..<16 where m[j] > r { r = m[j] }
        while i < count { r = Swift.max(r, x[i]); i += 1 }
        return r
    }

    @inline(__always)
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by a: Float) {
        for i in 0..<count { x[i] *= a }
    }

    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc = V(repeating: 0)
        var i = 0
        while i + 16 <= count {
            acc.addProduct(load(a + i), load(b + i))
            i += 16
        }
        var r = acc.sum()
        while i < count { r += a[i] * b[i]; i += 1 }
        return r
    }

    /// y = x·scale + shift, 16 lanes at a time (the same operations, so the same bits, as the
    /// scalar loop).
    @inline(__always)
    public static func affine(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float
    ) {
        let sv = V(repeating: scale), bv = V(repeating: shift)
        var i = 0
        while i + 16 <= count {
            store(load(x + i) * sv + bv, y + i)
            i += 16
        }
        while i < count { y[i] = x[i] * scale + shift; i += 1 }
    }

    /// y += x
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }

    /// Two sums over 0..<count in a fixed order (so results do not depend on threads): `lanes`
    /// adds the terms of elements i..<i+16 into two 16-lane Float partials, one pair per block of
    /// 4,096, whose lane sums add up in Double; `tail` adds an element past the last full 16.
    @inline(__always)
    static func blockedPairSums(
        count: Int, lanes: (_ i: Int, _ a: inout V, _ b: inout V) -> Void,
        tail: (_ i: Int, _ a: inout Double, _ b: inout Double) -> Void
    ) -> (Double, Double) {
        var first = 0.0, second = 0.0
        var i = 0
        while i < count {
            let n = Swift.min(4096, count - i)
            var acc = V(repeating: 0), acc2 = V(repeating: 0)
            var j = 0
            while j + 16 <= n {
                lanes(i + j, &acc, &acc2)
                j += 16
            }
            var t = Double(acc.sum()), t2 = Double(acc2.sum())
            while j < n {
                tail(i + j, &t, &t2)
                j += 1
            }
            first += t; second += t2
            i += n
        }
        return (first, second)
    }

    /// Σ (x − shift) and Σ (x − shift)² in Double (`blockedPairSums`' order).
    public static func shiftedMoments(
        _ x: UnsafePointer<Float>, count: Int, shift: Float
    ) -> (sum: Double, squares: Double) {
        let s = V(repeating: shift)
        return blockedPairSums(
            count: count,
            lanes: { i, a, b in
                let v = load(x + i) - s
                a += v
                b.addProduct(v, v)
            },
            tail: { i, a, b in
                let v = Double(x[i] - shift)
                a += v
                b += v * v
            })
    }

    /// Σ dy and Σ dy·(x − shift) in Double (`blockedPairSums`' order): the per-channel sums of
    /// GroupNorm's backward.
    public static func gradientMoments(
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, shift: Float
    ) -> (dy: Double, dyCentred: Double) {
        let s = V(repeating: shift)
        return blockedPairSums(
            count: count,
            lanes: { i, a, b in
                let g = load(dy + i)
                a += g
                b.addProduct(g, load(x + i) - s)
            },
            tail: { i, a, b in
                a += Double(dy[i])
                b += Double(dy[i] * (x[i] - shift))
            })
    }

    /// Σ x² in Double, 16 lanes of Float partials per block so the order is fixed.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var i = 0
        let block = 4096
        while i < count {
            let n = Swift.min(block, count - i)
            var acc = V(repeating: 0)
            var j = 0
            while j + 16 <= n {
                let v = load(x + i + j)
                acc.addProduct(v, v)
                j += 16
            }
            var s = Double(acc.sum())
            while j < n { s += Double(x[i + j] * x[i + j]); j += 1 }
            total += s
            i += n
        }
        return total
    }

}
