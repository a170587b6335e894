import CPNG
import Foundation

/// An 8-bit RGB image, row-major, 3 bytes per pixel. PNGs of any colour type (grey, RGB, RGBA,
/// palette, 16-bit) are read through libpng's simplified API (no setjmp) and converted to RGB, with
/// alpha composited over white.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Largest image accepted (pixels): larger headers are refused before any allocation.
    public static let maxPixels = 1 << 26

    static let pixelLimitWords = "pixel limit"

    /// Whether `error` is the refusal of an image over `maxPixels` (a size, not a corrupt file).
    public static func isOverPixelLimit(_ error: Error) -> Bool {
        if case TesseraError.data(_, let m) = error { return m.hasSuffix(pixelLimitWords) }
        return false
    }

    public static func read(path: String) throws -> RGBImage {
        try decode(png: try FileIO.read(path), path: path)
    }

    public static func decode(png data: Data, path: String) throws -> RGBImage {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        func message() -> String {
            withUnsafeBytes(of: &img.message) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        }
        let begun = data.withUnsafeBytes { png_image_begin_read_from_memory(&img, $0.baseAddress, data.count) }
        guard begun != 0 else { throw TesseraError.data(file: path, "not a readable PNG: \(message())") }
        defer { png_image_free(&img) }
        let w = Int(img.width), h = Int(img.height)
        guard w > 0, h > 0, w * h <= maxPixels else {
            throw TesseraError.data(file: path, "PNG dimensions \(w)×\(h) exceed the \(maxPixels)-\(pixelLimitWords)")
        }
        // libpng's simplified API calls 16-bit data "linear" and would gamma-encode it on the way to
        // 8 bits; PNGs store it encoded like 8-bit data, so read the 16-bit values (premultiplied
        // by alpha in this mode) and scale them by 1/257 instead.
        if img.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 {
            img.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_LINEAR)
            var rgba16 = [UInt16](repeating: 0, count: w * h * 4)
            let done = rgba16.withUnsafeMutableBytes {
                png_image_finish_read(&img, nil, $0.baseAddress, Int32(w * 4), nil)
            }
            guard done != 0 else { throw TesseraError.data(file: path, "corrupt PNG: \(message())") }
            var rgb = [UInt8](repeating: 0, count: w * h * 3)
            for i in 0..<(w * h) {
                let a = Int(rgba16[4 * i + 3])
                for c in 0..<3 { rgb[3 * i + c] = UInt8((Int(rgba16[4 * i + c]) + 65535 - a + 128) / 257) }
            }
            return RGBImage(width: w, height: h, pixels: rgb)
        }
        img.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)
        var rgba = [UInt8](repeating: 0, count: w * h * 4)
        let done = rgba.withUnsafeMutableBytes { png_image_finish_read(&img, nil, $0.baseAddress, Int32(w * 4), nil) }
        guard done != 0 else { throw TesseraError.data(file: path, "corrupt PNG: \(message())") }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let a = Int(rgba[4 * i + 3])
            for c in 0..<3 {
                // Alpha over white, rounded: (v·a + 255·(255 − a)) / 255.
                rgb[3 * i + c] = UInt8((Int(rgba[4 * i + c]) * a + 255 * (255 - a) + 127) / 255)
            }
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }

    /// PNG bytes (8-bit RGB).
    public func encodePNG() throws -> Data {
        var img = png_image()
        img.version = UInt32(PNG_IMAGE_VERSION)
        img.width = UInt32(width)
        img.height = UInt32(height)
        img.format = UInt32(PNG_FORMAT_FLAG_COLOR)
        var size = 0
        let probe = pixels.withUnsafeBytes {
            png_image_write_to_memory(&img, nil, &size, 0, $0.baseAddress, Int32(width * 3), nil)
        }
        guard probe != 0, size > 0 else {
            throw TesseraError.data(file: "png", "cannot encode a \(width)×\(height) PNG")
        }
        var out = Data(count: size)
        let ok = out.withUnsafeMutableBytes { o in
            pixels.withUnsafeBytes {
                png_image_write_to_memory(&img, o.baseAddress, &size, 0, $0.baseAddress, Int32(width * 3), nil)
            }
        }
        guard ok != 0 else { throw TesseraError.data(file: "png", "PNG encoding failed") }
        out.count = size
        return out
    }

    /// Writes atomically.
    /// Atomic and fsynced; `durable: false` skips the fsync, for files inside a directory that
    /// `FileIO.buildDirectory` flushes once at the end.
    public func write(path: String, durable: Bool = true) throws {
        let data = try encodePNG()
        if durable { try FileIO.writeAtomically(path, data: data); return }
        // Not durable (no fsync: the caller syncs once for many images), but every failure named.
        guard let f = fopen(path, "wb") else {
            throw TesseraError.data(file: path, "cannot create: \(FileIO.errnoText())")
        }
        do { try FileIO.write(f, data, path: path) } catch { fclose(f); throw error }
        guard fclose(f) == 0 else { throw TesseraError.data(file: path, "write failed: \(FileIO.errnoText())") }
    }

    /// Square by padding the shorter side with white, the image centred (clip art keeps all of
    /// its drawing, where a crop would cut it).
    public func paddedSquare() -> RGBImage {
        guard width != height else { return self }
        let s = max(width, height), x0 = (s - width) / 2, y0 = (s - height) / 2
        var out = [UInt8](repeating: 255, count: s * s * 3)
        for y in 0..<height {
            let dst = ((y0 + y) * s + x0) * 3
            out.replaceSubrange(dst..<(dst + width * 3), with: pixels[(y * width * 3)..<((y + 1) * width * 3)])
        }
        return RGBImage(width: s, height: s, pixels: out)
    }

    /// The largest centred square.
    public func centreCropSquare() -> RGBImage {
        let s = min(width, height), x0 = (width - s) / 2, y0 = (height - s) / 2
        var out = [UInt8](repeating: 0, count: s * s * 3)
        for y in 0..<s {
            let src = ((y0 + y) * width + x0) * 3
            out.replaceSubrange((y * s * 3)..<((y + 1) * s * 3), with: pixels[src..<(src + s * 3)])
        }
        return RGBImage(width: s, height: s, pixels: out)
    }

    /// Resized by area averaging when shrinking and bilinear interpolation when enlarging,
    /// per axis, computed in Float and rounded.
    public func resized(width nw: Int, height nh: Int) -> RGBImage {
        precondition(nw > 0 && nh > 0)
        if nw == width && nh == height { return self }
        // Separable weights: for each output coordinate, (source index, weight) pairs.
        func weights(_ n: Int, _ size: Int) -> [[(Int, Float)]] {
            (0..<n).map { o in
                if n < size {  // area: the source span [o·s, (o+1)·s)
                    let scale = Float(size) / Float(n)
                    let a = Float(o) * scale, b = a + scale
                    var w: [(Int, Float)] = []
                    var i = Int(a)
                    while Float(i) < b && i < size {
                        let cover = min(b, Float(i + 1)) - max(a, Float(i))
                        if cover > 0 { w.append((i, cover / scale)) }
                        i += 1
                    }
                    return w
                }
                let x = (Float(o) + 0.5) * Float(size) / Float(n) - 0.5
                let i0 = max(0, min(size - 1, Int(x.rounded(.down))))
                let i1 = min(size - 1, i0 + 1)
                let t = max(0, min(1, x - Float(i0)))
                return [(i0, 1 - t), (i1, t)]
            }
        }
        let wx = weights(nw, width), wy = weights(nh, height)
        var tmp = [Float](repeating: 0, count: height * nw * 3)
        for y in 0..<height {
            for x in 0..<nw {
                for c in 0..<3 {
                    var v: Float = 0
                    for (i, w) in wx[x] { v += w * Float(pixels[(y * width + i) * 3 + c]) }
                    tmp[(y * nw + x) * 3 + c] = v
                }
            }
        }
        var out = [UInt8](repeating: 0, count: nw * nh * 3)
        for y in 0..<nh {
            for x in 0..<nw {
                for c in 0..<3 {
                    var v: Float = 0
                    for (i, w) in wy[y] { v += w * tmp[(i * nw + x) * 3 + c] }
                    out[(y * nw + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                }
            }
        }
        return RGBImage(width: nw, height: nh, pixels: out)
    }
}
