import CZstd
import Foundation

/// One-shot zstd frames (shards, fixtures).
public enum Zstd {
    public static func compress(_ data: Data, level: Int32 = 3) -> Data {
        let bound = ZSTD_compressBound(data.count)
        var out = Data(count: bound)
        let n = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { i in ZSTD_compress(o.baseAddress, bound, i.baseAddress, data.count, level) }
        }
        precondition(ZSTD_isError(n) == 0, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        out.count = n
        return out
    }

    /// Decompresses one frame whose header records its size; errors name `file`.
    public static func decompress(_ data: Data, file: String, maxBytes: Int = 1 << 30) throws -> Data {
        let size = data.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, data.count) }
        guard size != ZSTD_CONTENTSIZE_ERROR else { throw TesseraError.data(file: file, "not a zstd frame") }
        guard size != ZSTD_CONTENTSIZE_UNKNOWN else {
            throw TesseraError.data(file: file, "zstd frame without a content size")
        }
        guard size <= UInt64(maxBytes) else {
            throw TesseraError.data(file: file, "zstd frame claims \(size) bytes, over the \(maxBytes) limit")
        }
        var out = Data(count: Int(size))
        let n = out.withUnsafeMutableBytes { o in
            data.withUnsafeBytes { i in ZSTD_decompress(o.baseAddress, Int(size), i.baseAddress, data.count) }
        }
        guard ZSTD_isError(n) == 0 else {
            throw TesseraError.data(file: file, "zstd: \(String(cString: ZSTD_getErrorName(n)))")
        }
        guard n == Int(size) else {
            throw TesseraError.data(file: file, "zstd frame decoded to \(n) bytes, header says \(size)")
        }
        return out
    }
}
