import Foundation

/// The statistics a verdict rests on. Arms that share a seed share their data order and initial
/// draws of every stream but the one they differ in, so they are compared **paired by seed**: the
/// per-seed differences dᵢ = aᵢ − bᵢ, their mean d̄ and Student's t interval
///     d̄ ± t₁₋α/₂(n−1) · s/√n,   s² = Σ(dᵢ − d̄)² / (n − 1),
/// at two-sided level 1 − α (0.90 by default, so each bound is a one-sided 95 % bound: the interval
/// of the two one-sided tests, TOST, for equivalence).
///
/// A claim names the region its difference must lie in (`Region`): within ±margin ("the same"),
/// below or above a threshold ("lower", "worse"). The verdict compares the whole interval with it:
///   held          the interval lies inside the region;
///   not held      the interval lies entirely outside it;
///   inconclusive  the interval straddles its edge (the seeds cannot decide), or there is one seed.
/// A result that could be rounding noise has an interval as wide as that noise, so it lands in
/// "inconclusive" instead of flipping between "held" and "not held".
public enum PairedStatistics {
    public struct Interval: Equatable {
        public let n: Int
        public let mean: Double
        /// Sample standard deviation of the values (0 for one value).
        public let sd: Double
        public let lower: Double
        public let upper: Double
        public let level: Double

        public init(n: Int, mean: Double, sd: Double, lower: Double, upper: Double, level: Double) {
            self.n = n; self.mean = mean; self.sd = sd; self.lower = lower; self.upper = upper; self.level = level
        }

        /// "+0.012 [−0.004, +0.028] (90 % CI, n = 3)".
        public func text(_ digits: Int = 3, unit: String = "", signed: Bool = true) -> String {
            let f = signed ? "%+.\(digits)f" : "%.\(digits)f"
            guard n >= 2 else { return String(format: f, mean) + unit + " (1 seed: no interval)" }
            return String(format: f, mean) + unit + " [" + String(format: f, lower) + ", " + String(format: f, upper)
                + "]"
                + String(format: " (%.0f %% CI, n = %d)", 100 * level, n)
        }
    }

    /// Mean and t interval of `values` (already paired differences or per-seed ratios).
    public static func interval(_ values: [Double], level: Double) -> Interval? {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty, v.count == values.count else { return nil }
        let n = Double(v.count), mean = v.reduce(0, +) / n
        guard v.count >= 2 else {
            return Interval(n: 1, mean: mean, sd: 0, lower: -.infinity, upper: .infinity, level: level)
        }
        let sd = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
        let half = studentTQuantile(0.5 + level / 2, df: n - 1) * sd / n.squareRoot()
        return Interval(n: v.count, mean: mean, sd: sd, lower: mean - half, upper: mean + half, level: level)
    }

    /// Where a claim's difference must lie.
    public enum Region: Equatable {
        /// |d| < margin: "the same".
        case within(Double)
        /// d < x: "lower", "fewer", "no more than".
        case below(Double)
        /// d > x: "higher", "worse".
        case above(Double)

        public var text: String {
            switch self {
            case .within(let m): return String(format: "|Δ| < %.3g", m)
            case .below(let x): return String(format: "< %.3g", x)
            case .above(let x): return String(format: "> %.3g", x)
            }
        }
    }

    public enum Outcome: String, Equatable { case held, notHeld = "not held", inconclusive }

    public static func judge(_ i: Interval, _ r: Region) -> Outcome {
        guard i.n >= 2 else { return .inconclusive }
        switch r {
        case .within(let m):
            if i.lower > -m && i.upper < m { return .held }
            if i.lower >= m || i.upper <= -m { return .notHeld }
        case .below(let x):
            if i.upper < x { return .held }
            if i.lower >= x { return .notHeld }
        case .above(let x):
            if i.lower > x { return .held }
            if i.upper <= x { return .notHeld }
        }
        return .inconclusive
    }

    /// A claim made of parts (every freezing preset, both halves of C12): held when all hold,
    /// not held when any does not, inconclusive otherwise.
    public static func all(_ parts: [Outcome]) -> Outcome {
        if parts.contains(.notHeld) { return .notHeld }
        return !parts.isEmpty && parts.allSatisfy { $0 == .held } ? .held : .inconclusive
    }

    // MARK: Student's t

    /// P(T ≤ t) for Student's t with `df` degrees of freedom:
    ///   1 − ½ I_{df/(df+t²)}(df/2, ½)  for t ≥ 0, symmetric for t < 0.
    public static func studentTCDF(_ t: Double, df: Double) -> Double {
        let tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The p-quantile of Student's t (p in (0, 1)), by bisection on the CDF to 1e-12.
    public static func studentTQuantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0 && p < 1 && df > 0)
        if p < 0.5 { return -studentTQuantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while studentTCDF(hi, df: df) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if studentTCDF(mid, df: df) < p { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 * max(1, hi) { break }
        }
        return (lo + hi) / 2
    }

    /// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let lnFront: Double = lnBeta + a * Foundation.log(x) + b * Foundation.log(1 - x)
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...500 {
            let m = Double(m)
            let evenDen: Double = (a + 2 * m - 1) * (a + 2 * m)
            let even: Double = m * (b - m) * x / evenDen
            d = 1 + even * d; if abs(d) < tiny { d = tiny }
            c = 1 + even / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; f *= d * c
            let oddDen: Double = (a + 2 * m) * (a + 2 * m + 1)
            let odd: Double = -(a + m) * (a + b + m) * x / oddDen
            d = 1 + odd * d; if abs(d) < tiny { d = tiny }
            c = 1 + odd / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return Foundation.exp(lnFront) * f / a
    }
}
