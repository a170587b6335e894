import Foundation
import TesseraCore
import Testing

/// Products that a pool's workers run on oneDNN at the same time (`DNNLWorkerMatmul`), against a
/// double-precision product with the fp32 summation bound, and against themselves run one by one.
@Suite struct DNNLWorkerMatmulTests {
    /// One product of the batch: its layout, size, scale and whether it accumulates.
    struct Case {
        let transA, transB: Bool
        let m, n, k: Int
        let alpha: Float
        let accumulate: Bool
        var lda: Int { (transA ? m : k) + 3 }
        var ldb: Int { (transB ? k : n) + 2 }
        var ldc: Int { n + 1 }
        var aCount: Int { (transA ? k : m) * lda }
        var bCount: Int { (transB ? n : k) * ldb }
    }

    /// 24 products of every layout and of sizes that straddle oneDNN's blocking (1 to 131 rows).
    static let cases: [Case] = (0..<24).map { i in
        Case(
            transA: i % 2 == 1, transB: i / 2 % 2 == 1, m: [1, 17, 64, 131][i / 4 % 4], n: [5, 33, 70][i % 3],
            k: [16, 64, 9][i / 3 % 3], alpha: i % 5 == 0 ? 0.125 : 1, accumulate: i % 3 == 1)
    }

    /// Runs every case on `pool` (the products of a batch at the same time on its workers) with
    /// operands of `kind`, returning each case's C.
    static func run(
        _ pool: Parallel, _ kind: DNNLWorkerMatmul.Operands, a: [[Float]], b: [[Float]], c0: [[Float]]
    ) -> [[Float]] {
        let products = DNNLWorkerMatmul(workers: pool.threads, operands: kind)
        let a16 = a.map { $0.map(BFloat16.round) }, b16 = b.map { $0.map(BFloat16.round) }
        let out = c0.map { FloatBuffer(count: $0.count) }
        for (buffer, c) in zip(out, c0) { buffer.pointer.update(from: c, count: c.count) }
        pool.runWithWorker(tasks: cases.count) { t, worker in
            let s = cases[t]
            if kind == .f32 {
                a[t].withUnsafeBufferPointer { ap in
                    b[t].withUnsafeBufferPointer { bp in
                        products.matmul(
                            worker: worker, transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                            alpha: s.alpha, a: ap.baseAddress!, lda: s.lda, b: bp.baseAddress!, ldb: s.ldb,
                            accumulate: s.accumulate, c: out[t].pointer, ldc: s.ldc)
                    }
                }
            } else {
                a16[t].withUnsafeBufferPointer { ap in
                    b16[t].withUnsafeBufferPointer { bp in
                        products.matmul(
                            worker: worker, transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                            alpha: s.alpha, a: ap.baseAddress!, lda: s.lda, b: bp.baseAddress!, ldb: s.ldb,
                            accumulate: s.accumulate, c: out[t].pointer, ldc: s.ldc)
                    }
                }
            }
        }
        return out.map { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) }
    }

    /// Each result against the double product of the operands the kernel read (fp32 values, or
    /// their bf16 roundings): products of those are exact in double, so the only error is the
    /// fp32 summation, |err| ≤ (k + 2)·2⁻²⁴·(|alpha|·Σ|a||b| + |C₀|). The padding of C is never
    /// written. Run on 2 workers at once and on 1, the bits are the same: each product runs on a
    /// team of one, whichever worker takes it. Checked against the unrounded operands, the bf16
    /// results break the same bound by far: the rule sees the rounding, so it would see a
    /// product that read the wrong operand.
    @Test(arguments: [DNNLWorkerMatmul.Operands.f32, .bf16])
    func concurrentProductsMatchTheDoubleProduct(kind: DNNLWorkerMatmul.Operands) {
        var rng = RandomStream(seed: 21, name: "test/worker-matmul")
        let a = Self.cases.map { s in (0..<s.aCount).map { _ in rng.uniform() * 2 - 1 } }
        let b = Self.cases.map { s in (0..<s.bCount).map { _ in rng.uniform() * 2 - 1 } }
        let c0 = Self.cases.map { s in (0..<(s.m * s.ldc)).map { _ in rng.uniform() } }
        let two = Self.run(Parallel(threads: 2), kind, a: a, b: b, c0: c0)
        let one = Self.run(Parallel(threads: 1), kind, a: a, b: b, c0: c0)
        #expect(zip(two, one).allSatisfy { $0.map(\.bitPattern) == $1.map(\.bitPattern) })
        var worst = 0.0, worstUnrounded = 0.0
        for (t, s) in Self.cases.enumerated() {
            func value(_ x: [Float], _ ld: Int, _ trans: Bool, _ r: Int, _ c: Int, rounded: Bool) -> Double {
                let v = trans ? x[c * ld + r] : x[r * ld + c]
                return Double(rounded ? BFloat16.float(BFloat16.round(v)) : v)
            }
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var exact = 0.0, unrounded = 0.0, magnitude = 0.0
                    for p in 0..<s.k {
                        let x = value(a[t], s.lda, s.transA, i, p, rounded: kind == .bf16)
                        let y = value(b[t], s.ldb, s.transB, p, j, rounded: kind == .bf16)
                        exact += x * y
                        magnitude += abs(x * y)
                        unrounded +=
                            value(a[t], s.lda, s.transA, i, p, rounded: false)
                            * value(b[t], s.ldb, s.transB, p, j, rounded: false)
                    }
                    let base = s.accumulate ? Double(c0[t][i * s.ldc + j]) : 0
                    let alpha = Double(s.alpha)
                    let bound = Double(s.k + 2) * 0x1p-24 * (alpha * magnitude + abs(base))
                    let got = Double(two[t][i * s.ldc + j])
                    worst = max(worst, abs(got - (alpha * exact + base)) / bound)
                    worstUnrounded = max(worstUnrounded, abs(got - (alpha * unrounded + base)) / bound)
                }
                #expect(two[t][i * s.ldc + s.n] == c0[t][i * s.ldc + s.n], "padding untouched")
            }
        }
        #expect(worst <= 1, "\(kind): \(worst) × the fp32 summation bound")
        if kind == .bf16 { #expect(worstUnrounded > 10) }
    }
}
