/// bf16, "brain floating point": the upper half of an IEEE fp32 — sign, the same 8-bit exponent
/// (so the same range), 7 stored significand bits (8 with the implicit one). Stored as UInt16.
///
/// Rounding fp32 → bf16 to nearest, ties to even, is an integer add on the bit pattern: adding
/// 0x7FFF plus the lowest kept bit carries into bit 16 exactly when the dropped half is above
/// 0x8000, or equal to it with an odd kept part. A carry out of the significand raises the
/// exponent (the right answer, up to infinity). NaN is kept a quiet NaN instead of rounding to ∞.
/// The relative error of one rounding is at most the unit roundoff u = 2⁻⁸; a product of two
/// bf16 numbers is exact in fp32 (8 + 8 significand bits ≤ 24), so a bf16 GEMM that accumulates
/// in fp32 errs from the fp32 product of the unrounded operands by at most about
/// 2u·Σ|a||b| (the operands' rounding) + k·2⁻²⁴·Σ|a||b| (the fp32 sums), the bound tests use.
public enum BFloat16 {
    /// The unit roundoff of bf16 rounding to nearest: 2⁻⁸.
    public static let unitRoundoff: Double = 1.0 / 256

    @inline(__always)
    public static func round(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: b >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    @inline(__always)
    public static func float(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
}
