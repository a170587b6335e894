import Foundation
import TesseraCore
import Testing

/// bf16 rounding and the oneDNN bf16 product, against facts derived by hand from IEEE 754 and
/// against a double-precision product with an error bound derived from bf16's 8-bit significand.
@Suite struct BFloat16Tests {
    /// Rounding to nearest, ties to even, worked out on bit patterns: 1 + 2⁻⁸ (0x3F80_8000) lies
    /// exactly between 0x3F80 (1) and 0x3F81 (1 + 2⁻⁷) and goes to the even one, 0x3F80; the tie
    /// above 0x3F81 goes up to 0x3F82; one ulp past a tie rounds away; the largest finite fp32
    /// overflows to +∞; NaN stays a NaN; signs and infinities pass through.
    @Test func roundsToNearestEven() {
        let cases: [(UInt32, UInt16)] = [
            (0x3F80_0000, 0x3F80), (0x3F80_8000, 0x3F80), (0x3F81_8000, 0x3F82), (0x3F80_8001, 0x3F81),
            (0x3F80_7FFF, 0x3F80), (0xBF80_8001, 0xBF81), (0x7F7F_FFFF, 0x7F80), (0x7F80_0000, 0x7F80),
            (0xFF80_0000, 0xFF80), (0x0000_0000, 0x0000), (0x8000_0000, 0x8000), (0x4049_0FDB, 0x4049),
        ]
        for (bits, expected) in cases {
            #expect(BFloat16.round(Float(bitPattern: bits)) == expected, "0x\(String(bits, radix: 16))")
        }
        #expect(BFloat16.float(BFloat16.round(.nan)).isNaN)
        #expect(BFloat16.float(0x3F82) == 1 + 2.0 / 128)
    }

    /// oneDNN's conversion (a reorder; `vcvtneps2bf16` on a CPU with avx512_bf16) agrees with the
    /// rounding above on every normal number, and bf16 → fp32 is exact. The conversion models use
    /// (`DNNL.toBF16`, Tessera's own loop in chunks over the threads where oneDNN has no bf16
    /// kernels) gives the same bits as oneDNN's, NaN for NaN.
    @Test func oneDNNConversionMatchesRounding() {
        var rng = RandomStream(seed: 3, name: "test/bf16")
        let n = 200_003
        var x = (0..<n).map { _ in Float(bitPattern: rng.next4()[0]) }
        for i in 0..<n where !x[i].isNormal && !x[i].isInfinite && !x[i].isNaN { x[i] = 1.5 }  // normals only
        x[0] = Float(bitPattern: 0x3F80_8000)
        x[1] = Float(bitPattern: 0x3F81_8000)
        var y = [UInt16](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer {
                DNNL.shared.toBF16(xp.baseAddress!, $0.baseAddress!, count: n, threads: 2, viaOneDNN: true)
            }
        }
        var mismatches = 0
        for i in 0..<n {
            let want = BFloat16.round(x[i])
            if x[i].isNaN ? !BFloat16.float(y[i]).isNaN : y[i] != want { mismatches += 1 }
        }
        #expect(mismatches == 0)
        var back = [Float](repeating: 0, count: n)
        y.withUnsafeBufferPointer { yp in
            back.withUnsafeMutableBufferPointer {
                DNNL.shared.toFloat(yp.baseAddress!, $0.baseAddress!, count: n, threads: 1, viaOneDNN: true)
            }
        }
        #expect((0..<n).allSatisfy { back[$0].bitPattern == BFloat16.float(y[$0]).bitPattern || back[$0].isNaN })
        var mine = [UInt16](repeating: 0, count: n)
        var mineBack = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            mine.withUnsafeMutableBufferPointer {
                DNNL.shared.toBF16(xp.baseAddress!, $0.baseAddress!, count: n, threads: 2)
                DNNL.shared.toFloat(UnsafePointer($0.baseAddress!), &mineBack, count: n, threads: 2)
            }
        }
        #expect((0..<n).allSatisfy { mine[$0] == y[$0] || (x[$0].isNaN && BFloat16.float(mine[$0]).isNaN) })
        #expect((0..<n).allSatisfy { mineBack[$0].bitPattern == back[$0].bitPattern || back[$0].isNaN })
    }

    /// C = alpha·op(A)·op(B) (+ C) for every layout `Gemm` uses, with padded leading dimensions,
    /// against the double-precision product of the same bf16 values. Products of bf16 numbers are
    /// exact in fp32, so the only error is fp32 summation: |err| ≤ k·2⁻²⁴·Σ|a||b| (+ the rounding
    /// of the accumulated C). The same check of the product of the *unrounded* operands fails by
    /// far: the rule can tell bf16 rounding of the inputs from an exact product. Checked for
    /// `DNNL.matmul` (oneDNN's kernels, or the emulation on a CPU without them) and for
    /// `BF16Emulation` itself, so a CPU with the kernels checks both.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)], [false, true])
    func matmulMatchesDoubleProduct(layout: (Bool, Bool), emulated: Bool) {
        let (transA, transB) = layout
        let m = 37, n = 45, k = 70, pad = 3
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        var rng = RandomStream(seed: 11, name: "test/bf16-gemm")
        let aRows = transA ? k : m, bRows = transB ? n : k
        let a32 = (0..<(aRows * lda)).map { _ in rng.uniform() * 2 - 1 }
        let b32 = (0..<(bRows * ldb)).map { _ in rng.uniform() * 2 - 1 }
        let a16 = a32.map(BFloat16.round), b16 = b32.map(BFloat16.round)
        let c0 = (0..<(m * ldc)).map { _ in rng.uniform() }
        func at(_ p: [UInt16], _ ld: Int, _ trans: Bool, _ r: Int, _ c: Int) -> Double {
            Double(BFloat16.float(trans ? p[c * ld + r] : p[r * ld + c]))
        }
        func at32(_ p: [Float], _ ld: Int, _ trans: Bool, _ r: Int, _ c: Int) -> Double {
            Double(trans ? p[c * ld + r] : p[r * ld + c])
        }
        for (alpha, accumulate) in [(Float(1), false), (Float(0.5), true)] {
            var c = c0
            a16.withUnsafeBufferPointer { ap in
                b16.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer {
                        if emulated {
                            BF16Emulation().matmul(
                                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, accumulate: accumulate,
                                c: $0.baseAddress!, ldc: ldc)
                        } else {
                            DNNL.shared.matmul(
                                threads: 2, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, accumulate: accumulate,
                                c: $0.baseAddress!, ldc: ldc)
                        }
                    }
                }
            }
            var worst = 0.0, worstUnrounded = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, exact32 = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        let x = at(a16, lda, transA, i, p) * at(b16, ldb, transB, p, j)
                        exact += x
                        exact32 += at32(a32, lda, transA, i, p) * at32(b32, ldb, transB, p, j)
                        magnitude += abs(x)
                    }
                    let base = accumulate ? Double(c0[i * ldc + j]) : 0
                    let bound = Double(k + 2) * 0x1p-24 * (Double(alpha) * magnitude + abs(base))
                    let got = Double(c[i * ldc + j])
                    worst = max(worst, abs(got - (Double(alpha) * exact + base)) / bound)
                    worstUnrounded = max(worstUnrounded, abs(got - (Double(alpha) * exact32 + base)) / bound)
                }
                #expect(c[i * ldc + n] == c0[i * ldc + n], "padding untouched")
            }
            #expect(worst <= 1, "alpha \(alpha) accumulate \(accumulate): \(worst) × the bound")
            #expect(worstUnrounded > 1)
        }
    }

    /// What `precision: bf16` needs of the CPU, read from its flags.
    @Test func nativeBF16IsReadFromTheFlags() {
        #expect(DNNL.bf16Instructions(flags: ["avx512f", "avx512_bf16"]) == "avx512_bf16")
        #expect(DNNL.bf16Instructions(flags: ["amx_bf16", "avx512_bf16"]) == "amx_bf16")
        #expect(DNNL.bf16Instructions(flags: ["avx512f", "avx2"]) == nil)
    }
}
