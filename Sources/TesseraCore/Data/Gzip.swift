import CZlib
import Foundation

/// gzip files through zlib, with a cap on the inflated size so a hostile file cannot exhaust memory.
public enum Gzip {
    public static func decompress(path: String, maxBytes: Int = 1 << 30) throws -> Data {
        try decompress(try FileIO.read(path), path: path, maxBytes: maxBytes)
    }

    /// `path` only names the input in errors.
    public static func decompress(_ input: Data, path: String, maxBytes: Int = 1 << 30) throws -> Data {
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw TesseraError.data(file: path, "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(raw.count)
            while status != Z_STREAM_END {
                try chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = uInt(c.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    // Input used up before the end of the stream: truncated.
                    if status == Z_OK && stream.avail_in == 0 && stream.avail_out > 0 { status = Z_BUF_ERROR }
                    guard status == Z_OK || status == Z_STREAM_END else {
                        let why =
                            status == Z_BUF_ERROR
                            ? "truncated" : (stream.msg.map { String(cString: $0) } ?? "code \(status)")
                        throw TesseraError.data(file: path, "not a valid gzip stream (\(why))")
                    }
                    out.append(c.baseAddress!, count: c.count - Int(stream.avail_out))
                }
                guard out.count <= maxBytes else {
                    throw TesseraError.data(file: path, "inflates to more than \(maxBytes) bytes")
                }
            }
        }
        return out
    }
}
