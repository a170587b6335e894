import Foundation

/// safetensors: u64 little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`, then the data.
/// Offsets are relative to the end of the header; tensors must tile the data exactly.
/// Reads F32, F16, BF16, F64 (as Float) and I32, I64 (as Int32); writes F32 and I32.
public struct SafetensorsFile {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i32 = "I32", i64 = "I64"
        var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .i64, .f64: return 8
            }
        }
    }

    public struct Entry: Sendable {
        public let dtype: DType
        public let shape: [Int]
        public let begin: Int
        public let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    let data: Data
    let dataStart: Int

    public static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        let data = try FileIO.read(path)
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String) throws {
        func bad(_ m: String) -> TesseraError { .data(file: path, "not a valid safetensors file: \(m)") }
        self.path = path
        self.data = data
        guard data.count >= 8 else { throw bad("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(SafetensorsFile.maxHeaderBytes) else {
            throw bad("header length \(n) exceeds the 100 MB limit")
        }
        guard 8 + Int(n) <= data.count else {
            throw bad("header length \(n) runs past the end of the \(data.count)-byte file")
        }
        let start = 8 + Int(n)
        dataStart = start
        // A copy through raw bytes: Data.subdata(in:) traps on some slices (seen on prefix()).
        let headerBytes = data.withUnsafeBytes { Data(UnsafeRawBufferPointer(rebasing: $0[8..<start])) }
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw bad("header is not UTF-8") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw bad("header is not valid JSON")
        }
        guard let obj = root as? [String: Any] else { throw bad("header is not a JSON object") }
        if let dup = JSONKeys.firstDuplicateTopLevelKey(headerBytes) { throw bad("duplicate tensor name \"\(dup)\"") }

        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in obj {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("__metadata__.\(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("entry \"\(name)\" is not an object") }
            guard let dt = info["dtype"] as? String else { throw bad("tensor \"\(name)\" has no dtype") }
            guard let dtype = DType(rawValue: dt) else {
                throw bad("tensor \"\(name)\" has unsupported dtype \(dt) (F32, F16, BF16, F64, I32, I64)")
            }
            guard let shapeAny = info["shape"] as? [Any] else { throw bad("tensor \"\(name)\" has no shape") }
            var shape: [Int] = []
            var count = 1
            for s in shapeAny {
                guard let v = JSONKeys.exactInt(s), v >= 0 else {
                    throw bad("tensor \"\(name)\" has a bad dimension \(s)")
                }
                let (p, o) = count.multipliedReportingOverflow(by: v)
                guard !o, p <= data.count else {
                    throw bad("tensor \"\(name)\" shape \(shapeAny) is larger than the file")
                }
                shape.append(v)
                count = p
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                let b = JSONKeys.exactInt(offs[0]), let e = JSONKeys.exactInt(offs[1])
            else {
                throw bad("tensor \"\(name)\" has no valid data_offsets")
            }
            guard b >= 0, b <= e else {
                throw bad("tensor \"\(name)\" data_offsets [\(b), \(e)] are reversed or negative")
            }
            guard e - b == count * dtype.size else {
                throw bad(
                    "tensor \"\(name)\" spans \(e - b) bytes but shape \(shape) of \(dt) needs \(count * dtype.size)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: b, end: e)
        }
        // The tensors must tile the data buffer: no gaps, no overlaps, nothing after the end.
        var cursor = 0
        for (name, e) in entries.sorted(by: { ($0.value.begin, $0.value.end) < ($1.value.begin, $1.value.end) }) {
            if e.begin < cursor {
                throw bad("tensor \"\(name)\" overlaps the previous tensor (offset \(e.begin) < \(cursor))")
            }
            if e.begin > cursor { throw bad("gap of \(e.begin - cursor) bytes before tensor \"\(name)\"") }
            cursor = e.end
        }
        let available = data.count - dataStart
        if cursor != available {
            throw bad(
                cursor > available
                    ? "tensor data runs \(cursor - available) bytes past the end of the file (truncated?)"
                    : "\(available - cursor) unused bytes after the last tensor")
        }
        self.metadata = metadata
        self.entries = entries
    }

    public var names: [String] { entries.keys.sorted() }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw TesseraError.data(file: path, "no tensor named \"\(name)\"") }
        return e
    }

    /// Converts the tensor to Float32 into `out` (which holds `count` floats).
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, count: Int) throws {
        let e = try entry(name)
        guard e.count == count else {
            throw TesseraError.data(
                file: path, "tensor \"\(name)\" has \(e.count) values (shape \(e.shape)), expected \(count)")
        }
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart + e.begin
            switch e.dtype {
            case .f32:
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            case .f16:
                for i in 0..<count {
                    out[i] = Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                }
            case .bf16:
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
                }
            case .i32:
                for i in 0..<count {
                    out[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                }
            case .f64:
                for i in 0..<count {
                    out[i] = Float(
                        Double(
                            bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                }
            case .i64:
                for i in 0..<count {
                    out[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                }
            }
        }
    }

    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        var out = [Float](repeating: 0, count: e.count)
        try out.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!, count: e.count) }
        return out
    }

    public func int32s(_ name: String) throws -> [Int32] {
        let e = try entry(name)
        var out = [Int32](repeating: 0, count: e.count)
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart + e.begin
            for i in 0..<e.count {
                switch e.dtype {
                case .i32: out[i] = Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                case .i64:
                    out[i] = Int32(
                        truncatingIfNeeded: Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                default: break
                }
            }
        }
        guard e.dtype == .i32 || e.dtype == .i64 else {
            throw TesseraError.data(file: path, "tensor \"\(name)\" is \(e.dtype.rawValue), expected an integer type")
        }
        return out
    }
}
