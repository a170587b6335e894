import CZlib
import Foundation

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
    static func emojiOneIndex(
        _ root: String
    ) throws -> (path: String, entries: [(code: String, name: String, fields: [String: Any])]) {
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
