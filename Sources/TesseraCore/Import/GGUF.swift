import Foundation

/// A GGUF (v2/v3) file: header, metadata, tensor infos and the aligned data section, every count,
/// length and offset checked against the file before use. Tensors dequantise to Float32 from
/// F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K and Q6_K (ggml's block layouts).
public struct GGUFFile {
    public enum Value: Equatable {
        case int(Int64), uint(UInt64), float(Double), bool(Bool), string(String)
        case array([Value])

        public var int: Int? {
            switch self {
            case .int(let v): return Int(exactly: v)
            case .uint(let v): return Int(exactly: v)
            default: return nil
            }
        }
        public var double: Double? {
            switch self {
            case .float(let v): return v
            case .int(let v): return Double(v)
            case .uint(let v): return Double(v)
            default: return nil
            }
        }
        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
        public var array: [Value]? { if case .array(let a) = self { return a } else { return nil } }
    }

    /// ggml tensor types Tessera can read.
    public enum TensorType: UInt32, Sendable {
        case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 8, q4_K = 12, q6_K = 14, bf16 = 30

        /// (weights per block, bytes per block)
        var block: (Int, Int) {
            switch self {
            case .f32: return (1, 4)
            case .f16, .bf16: return (1, 2)
            case .q4_0: return (32, 18)
            case .q4_1: return (32, 20)
            case .q8_0: return (32, 34)
            case .q4_K: return (256, 144)
            case .q6_K: return (256, 210)
            }
        }
    }

    public struct TensorInfo {
        public let name: String
        /// ggml order: fastest-varying first. A row-major [rows, cols] matrix has dims [cols, rows].
        public let dims: [Int]
        public let type: TensorType
        public let offset: Int
        public let bytes: Int
        public var count: Int { dims.reduce(1, *) }
    }

    public let path: String
    public let version: Int
    public let metadata: [String: Value]
    public let tensors: [String: TensorInfo]
    public let tensorOrder: [String]
    let data: Data
    let dataStart: Int

    public init(path: String) throws {
        try self.init(data: try FileIO.read(path), path: path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        self.data = data
        var r = Reader(data: data, path: path)
        guard data.count >= 24 else { throw r.bad("file is \(data.count) bytes, too short for a GGUF header") }
        guard try r.u32() == 0x4655_4747 else { throw r.bad("bad magic (not a GGUF file)") }
        let version = Int(try r.u32())
        guard version == 2 || version == 3 else { throw r.bad("GGUF version \(version) is not supported (2 or 3)") }
        self.version = version
        let nTensors = try r.count(try r.u64(), what: "tensor count", minBytesEach: 24)
        let nKV = try r.count(try r.u64(), what: "metadata count", minBytesEach: 12)
        var meta: [String: Value] = [:]
        for _ in 0..<nKV {
            let key = try r.string()
            let type = try r.u32()
            meta[key] = try r.value(type: type, key: key, depth: 0)
        }
        metadata = meta
        var infos: [String: TensorInfo] = [:]
        var order: [String] = []
        for _ in 0..<nTensors {
            let name = try r.string()
            let nd = Int(try r.u32())
            guard nd >= 1 && nd <= 4 else { throw r.bad("tensor \"\(name)\" has \(nd) dimensions (1–4 allowed)") }
            var dims: [Int] = []
            var count = 1
            for _ in 0..<nd {
                let d = try r.u64()
                guard d <= UInt64(data.count) * 2 + 1 else {
                    throw r.bad("tensor \"\(name)\" dimension \(d) is larger than the file")
                }
                dims.append(Int(d))
                count = count.multipliedReportingOverflow(by: Int(d)).partialValue
            }
            let rawType = try r.u32()
            guard let type = TensorType(rawValue: rawType) else {
                throw r.bad(
                    "tensor \"\(name)\" has ggml type \(rawType), not supported (F32, F16, BF16, Q4_0, Q4_1, Q8_0, Q4_K, Q6_K)"
                )
            }
            let offset = try r.u64()
            let (per, bytesPer) = type.block
            guard dims[0] % per == 0 else {
                throw r.bad("tensor \"\(name)\" row of \(dims[0]) is not a whole number of \(per)-weight blocks")
            }
            guard infos[name] == nil else { throw r.bad("duplicate tensor name \"\(name)\"") }
            infos[name] = TensorInfo(
                name: name, dims: dims, type: type, offset: Int(clamping: offset), bytes: count / per * bytesPer)
            order.append(name)
        }
        let alignment = meta["general.alignment"]?.int ?? 32
        guard alignment > 0 && alignment % 8 == 0 && alignment <= 1 << 20 else {
            throw r.bad("general.alignment \(alignment) is not a positive multiple of 8")
        }
        dataStart = (r.offset + alignment - 1) / alignment * alignment
        guard dataStart <= data.count else { throw r.bad("data section starts past the end of the file") }
        for name in order {
            let t = infos[name]!
            guard t.offset % alignment == 0 else {
                throw r.bad("tensor \"\(name)\" offset \(t.offset) is not aligned to \(alignment)")
            }
            guard t.offset <= data.count, dataStart + t.offset + t.bytes <= data.count else {
                throw r.bad(
                    "tensor \"\(name)\" (\(t.bytes) bytes at \(t.offset)) runs past the end of the file (truncated?)")
            }
        }
        tensors = infos
        tensorOrder = order
    }

    public func tensor(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw TesseraError.data(file: path, "no tensor named \"\(name)\"") }
        return t
    }

    /// Dequantises a tensor to Float32 into `out` (`count` floats), in ggml order (row-major with
    /// dims reversed).
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>) throws {
        let t = try tensor(name)
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart + t.offset
            GGUFDequant.run(t.type, p, out, count: t.count)
        }
    }

    public func floats(_ name: String) throws -> [Float] {
        let t = try tensor(name)
        var out = [Float](repeating: 0, count: t.count)
        try out.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!) }
        return out
    }

    /// Bounds-checked little-endian reader over the header.
    struct Reader {
        let data: Data
        let path: String
        var offset = 0

        func bad(_ m: String) -> TesseraError { .data(file: path, "not a valid GGUF file: \(m)") }

        mutating func take<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard offset + n <= data.count else { throw bad("header runs past the end of the file at byte \(offset)") }
            let v = data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
            offset += n
            return v
        }
        mutating func u32() throws -> UInt32 { try take(UInt32.self) }
        mutating func u64() throws -> UInt64 { try take(UInt64.self) }

        /// A count that cannot possibly fit in the rest of the file is rejected before any allocation.
        func count(_ n: UInt64, what: String, minBytesEach: Int) throws -> Int {
            guard n <= UInt64((data.count - offset) / max(1, minBytesEach)) else {
                throw bad("\(what) \(n) cannot fit in the \(data.count)-byte file")
            }
            return Int(n)
        }

        mutating func string() throws -> String {
            let n = try count(try u64(), what: "string length", minBytesEach: 1)
            let start = offset
            guard start + n <= data.count else { throw bad("a string at byte \(start) runs past the end of the file") }
            let bytes = data.withUnsafeBytes { Array(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
            offset += n
            guard let str = String(bytes: bytes, encoding: .utf8) else {
                throw bad("a string at byte \(start) is not UTF-8")
            }
            return str
        }

        mutating func value(type: UInt32, key: String, depth: Int) throws -> Value {
            switch type {
            case 0: return .uint(UInt64(try take(UInt8.self)))
            case 1: return .int(Int64(try take(Int8.self)))
            case 2: return .uint(UInt64(try take(UInt16.self)))
            case 3: return .int(Int64(try take(Int16.self)))
            case 4: return .uint(UInt64(try u32()))
            case 5: return .int(Int64(try take(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try u32())))
            case 7:
                let b = try take(UInt8.self)
                guard b <= 1 else { throw bad("metadata \(key): bool value \(b)") }
                return .bool(b == 1)
            case 8: return .string(try string())
            case 9:
                guard depth == 0 else { throw bad("metadata \(key): nested arrays are not supported") }
                let elementType = try u32()
                let n = try count(try u64(), what: "metadata \(key) array length", minBytesEach: 1)
                var items: [Value] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(type: elementType, key: key, depth: 1)) }
                return .array(items)
            case 10: return .uint(try u64())
            case 11: return .int(try take(Int64.self))
            case 12: return .float(Double(bitPattern: try u64()))
            default: throw bad("metadata \(key) has unknown value type \(type)")
            }
        }
    }
}

/// ggml's block dequantisation (ggml-quants.c), one block layout per type.
enum GGUFDequant {
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
    }

    static func run(_ type: GGUFFile.TensorType, _ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, count: Int) {
        let b = p.assumingMemoryBound(to: UInt8.self)
        switch type {
        case .f32:
            for i in 0..<count {
                y[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f16:
            for i in 0..<count { y[i] = half(p, 2 * i) }
        case .bf16:
            for i in 0..<count {
                y[i] = Float(
                    bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        << 16)
            }
        case .q4_0:
            for blk in 0..<(count / 32) {
                let o = blk * 18, d = half(p, o), q = b + o + 2, out = y + blk * 32
                for j in 0..<16 {
                    out[j] = d * Float(Int(q[j] & 0xF) - 8)
                    out[j + 16] = d * Float(Int(q[j] >> 4) - 8)
                }
            }
        case .q4_1:
            for blk in 0..<(count / 32) {
                let o = blk * 20, d = half(p, o), m = half(p, o + 2), q = b + o + 4, out = y + blk * 32
                for j in 0..<16 {
                    out[j] = d * Float(q[j] & 0xF) + m
                    out[j + 16] = d * Float(q[j] >> 4) + m
                }
            }
        case .q8_0:
            for blk in 0..<(count / 32) {
                let o = blk * 34, d = half(p, o), out = y + blk * 32
                for j in 0..<32 { out[j] = d * Float(Int8(bitPattern: b[o + 2 + j])) }
            }
        case .q4_K:
            for blk in 0..<(count / 256) {
                let o = blk * 144, d = half(p, o), dmin = half(p, o + 2)
                let scales = b + o + 4
                var q = b + o + 16
                var out = y + blk * 256
                var isub = 0
                for _ in 0..<4 {
                    let (sc1, m1) = scaleMin(isub, scales), (sc2, m2) = scaleMin(isub + 1, scales)
                    let d1 = d * Float(sc1), mm1 = dmin * Float(m1), d2 = d * Float(sc2), mm2 = dmin * Float(m2)
                    for l in 0..<32 { out[l] = d1 * Float(q[l] & 0xF) - mm1 }
                    for l in 0..<32 { out[32 + l] = d2 * Float(q[l] >> 4) - mm2 }
                    out += 64
                    q += 32
                    isub += 2
                }
            }
        case .q6_K:
            for blk in 0..<(count / 256) {
                let o = blk * 210
                var ql = b + o, qh = b + o + 128
                var sc = UnsafeRawPointer(b + o + 192).assumingMemoryBound(to: Int8.self)
                let d = half(p, o + 208)
                var out = y + blk * 256
                for _ in 0..<2 {
                    for l in 0..<32 {
                        let isc = l / 16
                        let q1 = Int(ql[l] & 0xF | ((qh[l] >> 0) & 3) << 4) - 32
                        let q2 = Int(ql[l + 32] & 0xF | ((qh[l] >> 2) & 3) << 4) - 32
                        let q3 = Int(ql[l] >> 4 | ((qh[l] >> 4) & 3) << 4) - 32
                        let q4 = Int(ql[l + 32] >> 4 | ((qh[l] >> 6) & 3) << 4) - 32
                        out[l] = d * Float(sc[isc]) * Float(q1)
                        out[l + 32] = d * Float(sc[isc + 2]) * Float(q2)
                        out[l + 64] = d * Float(sc[isc + 4]) * Float(q3)
                        out[l + 96] = d * Float(sc[isc + 6]) * Float(q4)
                    }
                    out += 128
                    ql += 64
                    qh += 32
                    sc += 8
                }
            }
        }
    }

    /// ggml's get_scale_min_k4: 6-bit scale and min j of a Q4_K block's 12 packed bytes.
    @inline(__always) static func scaleMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}
