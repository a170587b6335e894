import Foundation

/// Structure-aware fuzzing: the input bytes choose *values* for the numbers of an otherwise valid
/// input (a config, a manifest), so the fuzzer spends its time on sizes, counts and offsets
/// instead of on syntax. Each value is either one of the boundary numbers that break size
/// arithmetic (0, −1, powers of two around 2³¹, 2³², 2⁶², Int.max) or eight raw bytes.
struct FuzzValues {
    let bytes: [UInt8]
    var at = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) { bytes = Array(UnsafeBufferPointer(start: data, count: size)) }

    static let boundaries: [Int] = [
        0, 1, 2, 3, 4, 7, 8, 16, 64, 255, 256, 1024, 4096, 65_535, 65_536, 65_537, 1 << 20, (1 << 20) + 1,
        1 << 24, (1 << 24) + 1, 1 << 30, Int(Int32.max), 1 << 31, 1 << 32, 1 << 40, 1 << 53, 1 << 62,
        Int.max, -1, -2, Int.min,
    ]

    mutating func byte() -> UInt8 {
        defer { at += 1 }
        return at < bytes.count ? bytes[at] : 0
    }

    /// The next value: a boundary (high bit clear) or eight raw little-endian bytes (high bit set).
    mutating func int() -> Int {
        let b = byte()
        if b & 0x80 == 0 { return Self.boundaries[Int(b) % Self.boundaries.count] }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(byte()) << (8 * UInt64(k)) }
        return Int(bitPattern: UInt(v))
    }

    /// A value kept small and positive most of the time (for the fields a case does not target).
    mutating func small(_ def: Int) -> Int { byte() < 200 ? def : int() }

    mutating func bool() -> Bool { byte() & 1 == 1 }
}
