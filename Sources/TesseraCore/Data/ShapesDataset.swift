import Foundation

/// A seeded generator of captioned images: one shape (circle, square or triangle) of a named
/// colour and size at one of five positions, on white, with the caption that describes it
/// ("a small red circle in the top left"). The generator knows the truth, so samples of a
/// text-to-image model can be scored for caption consistency from their pixels.
/// Sample i is a pure function of (seed, i): datasets of any size agree on their common prefix.
public struct ShapesGenerator: Sendable {
    public enum Shape: String, CaseIterable, Sendable { case circle, square, triangle }
    public enum Position: String, CaseIterable, Sendable {
        case topLeft = "top left", topRight = "top right", bottomLeft = "bottom left", bottomRight = "bottom right",
            center = "center"
        /// Centre of the region as a fraction of the image side.
        var centre: (Double, Double) {
            switch self {
            case .topLeft: return (0.27, 0.27)
            case .topRight: return (0.73, 0.27)
            case .bottomLeft: return (0.27, 0.73)
            case .bottomRight: return (0.73, 0.73)
            case .center: return (0.5, 0.5)
            }
        }
    }
    public static let colours: [(name: String, rgb: (UInt8, UInt8, UInt8))] = [
        ("red", (220, 30, 30)), ("green", (30, 160, 50)), ("blue", (30, 60, 220)), ("yellow", (235, 200, 20)),
        ("purple", (140, 40, 170)), ("orange", (245, 130, 20)), ("black", (20, 20, 20)), ("cyan", (20, 190, 210)),
    ]
    public static let sizes: [(name: String, fraction: Double)] = [("small", 0.22), ("large", 0.42)]

    public struct Sample: Sendable {
        public let image: RGBImage
        public let caption: String
        public let shape: Shape
        public let colour: String
        public let size: String
        public let position: Position
    }

    public let seed: UInt64
    public let side: Int

    /// Fraction of each pixel (row-major, `side`²) inside the shape of half-extent `half` centred at
    /// (cx, cy) pixels; 4×4 supersampling gives smooth edges even at 16×16. Triangles point up.
    public static func coverage(shape: Shape, cx: Double, cy: Double, half: Double, side: Int) -> [Double] {
        let ss = 4
        var cover = [Double](repeating: 0, count: side * side)
        for y in 0..<side {
            for x in 0..<side {
                var inside = 0
                for sy in 0..<ss {
                    for sx in 0..<ss {
                        let dx = Double(x) + (Double(sx) + 0.5) / Double(ss) - cx
                        let dy = Double(y) + (Double(sy) + 0.5) / Double(ss) - cy
                        let hit: Bool
                        switch shape {
                        case .circle: hit = dx * dx + dy * dy <= half * half
                        case .square: hit = abs(dx) <= half * 0.9 && abs(dy) <= half * 0.9
                        case .triangle:  // apex up: |dx| ≤ half·(dy + half)/(2·half)
                            hit = dy >= -half && dy <= half && abs(dx) <= (dy + half) / 2
                        }
                        if hit { inside += 1 }
                    }
                }
                cover[y * side + x] = Double(inside) / Double(ss * ss)
            }
        }
        return cover
    }

    public init(seed: UInt64, side: Int) {
        precondition(side >= 8, "shapes need at least 8×8 pixels")
        self.seed = seed
        self.side = side
    }

    public func sample(_ index: Int) -> Sample {
        var rng = RandomStream(seed: seed, name: "data/shapes", counter: UInt64(index) << 8)
        let shape = Shape.allCases[rng.int(below: Shape.allCases.count)]
        let colour = Self.colours[rng.int(below: Self.colours.count)]
        let size = Self.sizes[rng.int(below: Self.sizes.count)]
        let position = Position.allCases[rng.int(below: Position.allCases.count)]
        // Small jitter keeps the shapes from sitting on a fixed grid.
        let jx = (Double(rng.uniform()) - 0.5) * 0.06, jy = (Double(rng.uniform()) - 0.5) * 0.06
        let s = Double(side)
        let cx = (position.centre.0 + jx) * s, cy = (position.centre.1 + jy) * s
        let half = size.fraction * s / 2
        let cover = Self.coverage(shape: shape, cx: cx, cy: cy, half: half, side: side)
        var pixels = [UInt8](repeating: 255, count: side * side * 3)
        let rgb = [colour.rgb.0, colour.rgb.1, colour.rgb.2]
        for p in 0..<(side * side) {
            for c in 0..<3 { pixels[p * 3 + c] = UInt8((cover[p] * Double(rgb[c]) + (1 - cover[p]) * 255).rounded()) }
        }
        let caption = "a \(size.name) \(colour.name) \(shape.rawValue) in the \(position.rawValue)"
        return Sample(
            image: RGBImage(width: side, height: side, pixels: pixels), caption: caption, shape: shape,
            colour: colour.name, size: size.name, position: position)
    }
}

/// A folder of images with `captions.jsonl`: one object per line with `file` (relative to the
/// folder), `caption` and `split` ("train" or "val"), plus any extra string fields. Every line and
/// every image file is checked when the dataset is opened.
public struct CaptionedImageFolder {
    public struct Item: Equatable {
        public let file: String
        public let caption: String
        public let split: String
        public let attributes: [String: String]
    }

    public let dir: String
    public let items: [Item]

    public init(dir: String) throws {
        self.dir = dir
        let path = dir.appendingPathComponent("captions.jsonl")
        let text = String(decoding: try FileIO.read(path), as: UTF8.self)
        var items: [Item] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty
        {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw TesseraError.data(file: path, "line \(n + 1) is not a JSON object")
            }
            guard let file = o["file"] as? String, !file.isEmpty, !file.hasPrefix("/"), !file.contains("..") else {
                throw TesseraError.data(file: path, "line \(n + 1): \"file\" must be a relative path inside the folder")
            }
            guard let caption = o["caption"] as? String else {
                throw TesseraError.data(file: path, "line \(n + 1): \"caption\" is missing")
            }
            let split = o["split"] as? String ?? "train"
            guard split == "train" || split == "val" else {
                throw TesseraError.data(file: path, "line \(n + 1): split \"\(split)\" is not train or val")
            }
            guard FileIO.exists(dir.appendingPathComponent(file)) else {
                throw TesseraError.data(
                    file: dir.appendingPathComponent(file), "listed on line \(n + 1) of \(path) but missing")
            }
            var attrs: [String: String] = [:]
            for (k, v) in o where !["file", "caption", "split"].contains(k) { if let s = v as? String { attrs[k] = s } }
            items.append(Item(file: file, caption: caption, split: split, attributes: attrs))
        }
        guard !items.isEmpty else { throw TesseraError.data(file: path, "lists no images") }
        self.items = items
    }

    public func image(_ item: Item) throws -> RGBImage {
        try RGBImage.read(path: dir.appendingPathComponent(item.file))
    }

    /// Writes a synthetic shapes dataset: `count` samples, the last `valCount` held out.
    public static func writeShapes(to dir: String, seed: UInt64, side: Int, count: Int, valCount: Int) throws {
        let images = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        let gen = ShapesGenerator(seed: seed, side: side)
        var lines: [String] = []
        for i in 0..<count {
            let s = gen.sample(i)
            let file = String(format: "images/%06d.png", i)
            try s.image.write(path: dir.appendingPathComponent(file), durable: false)
            let row: [String: Any] = [
                "file": file, "caption": s.caption, "split": i >= count - valCount ? "val" : "train",
                "shape": s.shape.rawValue, "colour": s.colour, "size": s.size, "position": s.position.rawValue,
            ]
            lines.append(MetricsLog.line(row))
        }
        try FileIO.writeAtomically(
            dir.appendingPathComponent("captions.jsonl"),
            data: Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
