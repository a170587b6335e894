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

/// Converters from the Debian image datasets to a captioned image folder (PNG files + captions.jsonl).
public enum ImageImporters {
    public static let fashionClasses = [
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
    ]

    /// "a photo of a coat", "an ankle boot": the class name with its article.
    public static func fashionCaption(_ label: Int) -> String {
        let name = fashionClasses[label]
        return "a photo of \("aeiou".contains(name.first!) ? "an" : "a") \(name)"
    }

    /// Fashion-MNIST from `dir` (Debian dataset-fashion-mnist: usr/share/datasets/fashion-mnist) to
    /// `out`: the 60,000 training images as "train", the 10,000 test images as "val". `limit` caps
    /// each split (0: all). Returns (train, val) counts.
    @discardableResult
    public static func fashionMNIST(from dir: String, to out: String, limit: Int = 0) throws -> (Int, Int) {
        var lines: [String] = []
        var counts: [Int] = []
        for (prefix, split) in [("train", "train"), ("t10k", "val")] {
            let imagesPath = dir.appendingPathComponent("\(prefix)-images-idx3-ubyte.gz")
            let labelsPath = dir.appendingPathComponent("\(prefix)-labels-idx1-ubyte.gz")
            let images = try IDXArray.read(gzip: imagesPath, dimensions: 3)
            let labels = try IDXArray.read(gzip: labelsPath, dimensions: 1)
            guard images.shape[0] == labels.shape[0] else {
                throw TesseraError.data(
                    file: labelsPath, "\(labels.shape[0]) labels for \(images.shape[0]) images in \(imagesPath)")
            }
            let h = images.shape[1], w = images.shape[2]
            guard h > 0, w > 0, h * w <= RGBImage.maxPixels else {
                throw TesseraError.data(file: imagesPath, "image size \(h)×\(w) is not usable")
            }
            let n = limit > 0 ? min(limit, images.shape[0]) : images.shape[0]
            let sub = "images/\(split)"
            try FileManager.default.createDirectory(
                atPath: out.appendingPathComponent(sub), withIntermediateDirectories: true)
            for i in 0..<n {
                let label = Int(labels.bytes[i])
                guard label < fashionClasses.count else {
                    throw TesseraError.data(file: labelsPath, "label \(label) at index \(i) is not a class 0–9")
                }
                var px = [UInt8](repeating: 0, count: h * w * 3)
                for p in 0..<(h * w) {
                    // Fashion-MNIST is light garments on black; keep it as it is (grey to RGB).
                    let v = images.bytes[i * h * w + p]
                    px[3 * p] = v; px[3 * p + 1] = v; px[3 * p + 2] = v
                }
                let file = String(format: "\(sub)/%05d.png", i)
                try RGBImage(width: w, height: h, pixels: px).write(
                    path: out.appendingPathComponent(file), durable: false)
                lines.append(
                    MetricsLog.line([
                        "file": file, "caption": fashionCaption(label), "split": split,
                        "class": fashionClasses[label],
                    ]))
            }
            counts.append(n)
        }
        try FileIO.writeAtomically(
            out.appendingPathComponent("captions.jsonl"),
            data: Data((lines.joined(separator: "\n") + "\n").utf8))
        return (counts[0], counts[1])
    }

    /// ruby-gemojione's config/index.json under `root`: its path and, in key order, each entry's
    /// hexadecimal code ("1f682", "1f1e6-1f1e8"), name and fields; an entry without them is an error.
    static func emojiOneIndex(_ root: String) throws -> (path: String, entries: [(code: String, name: String, fields: [String: Any])]) {
        let indexPath = root.appendingPathComponent("config/index.json")
        guard let index = (try? JSONSerialization.jsonObject(with: try FileIO.read(indexPath))) as? [String: Any] else {
            throw TesseraError.data(file: indexPath, "not a JSON object of emoji entries")
        }
        let entries = try index.keys.sorted().map { key -> (code: String, name: String, fields: [String: Any]) in
            guard let e = index[key] as? [String: Any], let code = e["unicode"] as? String,
                let name = e["name"] as? String,
                !code.isEmpty, code.allSatisfy({ $0.isHexDigit || $0 == "-" })
            else {
                throw TesseraError.data(
                    file: indexPath, "entry \"\(key)\" lacks a hexadecimal \"unicode\" or a \"name\"")
            }
            return (code, name, e)
        }
        return (indexPath, entries)
    }

    /// The EmojiOne 2 art of Debian's ruby-gemojione (`root` = the gem directory holding
    /// config/index.json and assets/png): one caption per emoji, its name ("steam locomotive"),
    /// with category and keywords kept as attributes. Names with "middle finger" are left out.
    /// Every 10th emoji by a hash of its name is held out, so the split does not depend on order.
    @discardableResult
    public static func emoji(from root: String, to out: String) throws -> (Int, Int) {
        let (indexPath, entries) = try emojiOneIndex(root)
        try FileManager.default.createDirectory(
            atPath: out.appendingPathComponent("images"), withIntermediateDirectories: true)
        var lines: [String] = []
        var train = 0, val = 0
        for (code, name, e) in entries {
            if name.contains("middle finger") { continue }
            let src = root.appendingPathComponent("assets/png/\(code).png")
            let image = try RGBImage.read(path: src)
            let file = "images/\(code.lowercased()).png"
            try image.write(path: out.appendingPathComponent(file), durable: false)
            let isVal = RandomStream.fnv1a(name) % 10 == 0
            if isVal { val += 1 } else { train += 1 }
            let keywords = (e["keywords"] as? [String] ?? []).joined(separator: ", ")
            lines.append(
                MetricsLog.line([
                    "file": file, "caption": name, "split": isVal ? "val" : "train",
                    "category": e["category"] as? String ?? "", "keywords": keywords,
                ]))
        }
        guard !lines.isEmpty else { throw TesseraError.data(file: indexPath, "lists no emoji") }
        try FileIO.writeAtomically(
            out.appendingPathComponent("captions.jsonl"),
            data: Data((lines.joined(separator: "\n") + "\n").utf8))
        return (train, val)
    }
}
