import CZlib
import Foundation

/// The IDX format of (Fashion-)MNIST: big-endian magic 0x0000_08TT_ND (TT 08 = unsigned bytes,
/// ND = number of dimensions), ND big-endian UInt32 sizes, then the bytes.
public struct IDXArray {
    public let shape: [Int]
    public let bytes: [UInt8]

    public init(data: Data, path: String, dimensions: Int) throws {
        let b = [UInt8](data)
        guard b.count >= 4 else { throw TesseraError.data(file: path, "too short for an IDX header") }
        guard b[0] == 0, b[1] == 0, b[2] == 0x08, Int(b[3]) == dimensions else {
            let magic = b[0..<4].map { String(format: "%02x", $0) }.joined()
            throw TesseraError.data(
                file: path,
                "IDX magic 0x\(magic) is not unsigned bytes in \(dimensions) dimension(s) (expected 0x0000080\(dimensions))"
            )
        }
        guard b.count >= 4 + 4 * dimensions else { throw TesseraError.data(file: path, "IDX header is truncated") }
        var shape: [Int] = []
        for d in 0..<dimensions {
            let o = 4 + 4 * d
            shape.append(Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]))
        }
        let count = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let header = 4 + 4 * dimensions
        guard count == b.count - header else {
            throw TesseraError.data(
                file: path, "IDX header promises \(shape) = \(count) bytes, the file holds \(b.count - header)")
        }
        self.shape = shape
        bytes = Array(b[header...])
    }

    public static func read(gzip path: String, dimensions: Int) throws -> IDXArray {
        try IDXArray(data: try Gzip.decompress(path: path), path: path, dimensions: dimensions)
    }
}
