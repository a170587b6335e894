import Foundation

/// Tensors and metadata of one safetensors file.
public struct SafetensorsPayload {
    public var tensors: [SafetensorsTensor]
    public var metadata: [String: String] = [:]
    public init(tensors: [SafetensorsTensor], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }
}

/// One tensor to write: F32 from a pointer, or I32 values.
public struct SafetensorsTensor {
    public enum Payload { case f32(UnsafePointer<Float>), i32([Int32]) }
    public let name: String
    public let shape: [Int]
    public let payload: Payload
    public init(name: String, shape: [Int], f32 p: UnsafePointer<Float>) {
        self.name = name; self.shape = shape; payload = .f32(p)
    }
    public init(name: String, shape: [Int], i32 v: [Int32]) { self.name = name; self.shape = shape; payload = .i32(v) }
    var bytes: Int { shape.reduce(1, *) * 4 }
}

public enum SafetensorsWriter {
    /// Writes atomically (temp file, fsync, rename). Tensors are laid out in the given order.
    public static func write(path: String, tensors: [SafetensorsTensor], metadata: [String: String] = [:]) throws {
        var header = "{"
        var offset = 0
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(JSONKeys.quote($0)):\(JSONKeys.quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        for t in tensors {
            let dt: String
            switch t.payload {
            case .f32: dt = "F32";
            case .i32: dt = "I32"
            }
            parts.append(
                "\(JSONKeys.quote(t.name)):{\"dtype\":\"\(dt)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes)]}"
            )
            offset += t.bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerData = Data(header.utf8)
        while headerData.count % 8 != 0 { headerData.append(0x20) }
        try FileIO.writeAtomically(path) { f in
            var n = UInt64(headerData.count).littleEndian
            try FileIO.write(f, &n, bytes: 8, path: path)
            try FileIO.write(f, headerData, path: path)
            for t in tensors {
                switch t.payload {
                case .f32(let p): try FileIO.write(f, p, bytes: t.bytes, path: path)
                case .i32(let v):
                    try v.withUnsafeBytes { try FileIO.write(f, $0.baseAddress!, bytes: t.bytes, path: path) }
                }
            }
        }
    }
}
