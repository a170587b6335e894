import Foundation

/// Counter-based randomness (Philox4x32-10, Salmon et al. 2011): the value at (key, counter) is a
/// pure function, so a stream's whole state is two integers, and streams named after what they
/// feed ("init/layers.0.attention.in_proj.weight", "data/train") never disturb each other.
public struct Philox {
    @inline(__always)
    public static func block(counter: UInt64, key: UInt64) -> SIMD4<UInt32> {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2: UInt32 = 0, c3: UInt32 = 0
        var k0 = UInt32(truncatingIfNeeded: key), k1 = UInt32(truncatingIfNeeded: key >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            (c0, c1, c2, c3) = (n0, n1, n2, n3)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return SIMD4(c0, c1, c2, c3)
    }
}

/// One named stream. `counter` is the whole position; saving it saves the stream.
public struct RandomStream: Sendable {
    public let key: UInt64
    public var counter: UInt64

    /// Whether the first uniform draw of stream `name` at `counter` falls below `p`: one row's coin.
    public static func chance(_ p: Double, seed: UInt64, name: String, counter: Int) -> Bool {
        var rng = RandomStream(seed: seed, name: name, counter: UInt64(counter))
        return Double(rng.uniform()) < p
    }

    public init(seed: UInt64, name: String, counter: UInt64 = 0) {
        self.key = RandomStream.mix(seed ^ RandomStream.fnv1a(name))
        self.counter = counter
    }

    /// Four independent 32-bit words; advances the counter by one.
    @inline(__always)
    public mutating func next4() -> SIMD4<UInt32> {
        let r = Philox.block(counter: counter, key: key)
        counter &+= 1
        return r
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func uniform() -> Float {
        Float(next4()[0] >> 8) * (1.0 / 16_777_216.0)
    }

    /// Uniform integer in 0..<n (n > 0), from 64 bits so the modulo bias is negligible.
    @inline(__always)
    public mutating func int(below n: Int) -> Int {
        let r = next4()
        let x = (UInt64(r[0]) << 32) | UInt64(r[1])
        return Int(x % UInt64(n))
    }

    /// Standard normal by Box–Muller from one block (uses two of its words).
    @inline(__always)
    /// Fisher–Yates, from the last element down.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(below: i + 1)) }
    }

    public mutating func normal() -> Float {
        let r = next4()
        let u1 = (Double(r[0]) + 1) / 4_294_967_297.0  // (0, 1]
        let u2 = Double(r[1]) / 4_294_967_296.0
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// Normal(0, std) truncated to [-3std, 3std] by rejection, as torch's trunc_normal_ is used by open_lm.
    @inline(__always)
    public mutating func truncatedNormal(std: Float) -> Float {
        while true {
            let z = normal()
            if abs(z) <= 3 { return z * std }
        }
    }

    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// SplitMix64 finaliser: spreads nearby seeds over the whole key space.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
