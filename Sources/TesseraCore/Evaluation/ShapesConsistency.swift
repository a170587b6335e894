import Foundation

/// Caption consistency of images of the synthetic shapes (`ShapesGenerator`): the caption's shape,
/// colour, size and position are parsed from its words, the image's are recovered from its pixels,
/// and each attribute is scored as right or wrong. The recogniser knows how the generator draws:
///  - foreground = pixels far from white; colour = the palette entry nearest their core's mean;
///  - each pixel's coverage = its projection on (white − colour), giving a soft mask;
///  - shape and size = the generator's own template (3 shapes × 2 sizes, placed on the mask's
///    centroid) with the best soft IoU; position = the nearest of the five region centres to
///    that template's centre.
/// Chance (uniform guessing) is 1/3 shape, 1/8 colour, 1/2 size, 1/5 position, 1/240 all four.
public struct ShapesAttributes: Equatable, Sendable {
    public var shape: ShapesGenerator.Shape
    public var colour: String
    public var size: String
    public var position: ShapesGenerator.Position

    public init(shape: ShapesGenerator.Shape, colour: String, size: String, position: ShapesGenerator.Position) {
        self.shape = shape; self.colour = colour; self.size = size; self.position = position
    }

    public var caption: String { "a \(size) \(colour) \(shape.rawValue) in the \(position.rawValue)" }

    /// "a small red circle in the top left" → attributes; nil for any other sentence.
    public init?(caption: String) {
        let words = caption.lowercased().split(separator: " ").map(String.init)
        guard words.count >= 6, words[0] == "a", words[4] == "in", words[5] == "the",
            ShapesGenerator.sizes.contains(where: { $0.name == words[1] }),
            ShapesGenerator.colours.contains(where: { $0.name == words[2] }),
            let shape = ShapesGenerator.Shape(rawValue: words[3]),
            let position = ShapesGenerator.Position(rawValue: words[6...].joined(separator: " "))
        else { return nil }
        self.init(shape: shape, colour: words[2], size: words[1], position: position)
    }

    /// The attributes drawn in a CHW byte image; nil when nothing differs from the white background.
    public init?(recognising chw: [UInt8], side: Int) {
        let n = side * side
        precondition(chw.count == 3 * n)
        func ink(_ p: Int) -> (Double, Double, Double) {
            (255 - Double(chw[p]), 255 - Double(chw[n + p]), 255 - Double(chw[2 * n + p]))
        }
        // Core pixels: strongly off-white. Their mean ink names the colour.
        var sum = (0.0, 0.0, 0.0), core = 0
        for threshold in [160.0, 96.0] where core == 0 {
            for p in 0..<n {
                let (r, g, b) = ink(p)
                if max(r, g, b) > threshold { sum = (sum.0 + r, sum.1 + g, sum.2 + b); core += 1 }
            }
        }
        guard core > 0 else { return nil }
        let mean = (sum.0 / Double(core), sum.1 / Double(core), sum.2 / Double(core))
        var best = ShapesGenerator.colours[0], bestD = Double.infinity
        for c in ShapesGenerator.colours {
            let ci = (255 - Double(c.rgb.0), 255 - Double(c.rgb.1), 255 - Double(c.rgb.2))
            let d =
                (ci.0 - mean.0) * (ci.0 - mean.0) + (ci.1 - mean.1) * (ci.1 - mean.1) + (ci.2 - mean.2)
                * (ci.2 - mean.2)
            if d < bestD { bestD = d; best = c }
        }
        // Soft coverage: projection of each pixel's ink on the colour's ink.
        let ci = (255 - Double(best.rgb.0), 255 - Double(best.rgb.1), 255 - Double(best.rgb.2))
        let norm2 = ci.0 * ci.0 + ci.1 * ci.1 + ci.2 * ci.2
        var alpha = [Double](repeating: 0, count: n)
        var mass = 0.0, mx = 0.0, my = 0.0
        for p in 0..<n {
            let (r, g, b) = ink(p)
            let a = min(1, max(0, (r * ci.0 + g * ci.1 + b * ci.2) / norm2))
            alpha[p] = a
            mass += a; mx += a * (Double(p % side) + 0.5); my += a * (Double(p / side) + 0.5)
        }
        guard mass > 0 else { return nil }
        let cx = mx / mass, cy = my / mass
        var fit: (iou: Double, shape: ShapesGenerator.Shape, size: String, centreY: Double) = (-1, .circle, "small", cy)
        for shape in ShapesGenerator.Shape.allCases {
            for size in ShapesGenerator.sizes {
                let half = size.fraction * Double(side) / 2
                // An upward triangle's centroid lies half/3 below its box centre.
                let centreY = shape == .triangle ? cy - half / 3 : cy
                let t = ShapesGenerator.coverage(shape: shape, cx: cx, cy: centreY, half: half, side: side)
                var inter = 0.0, union = 0.0
                for p in 0..<n { inter += min(t[p], alpha[p]); union += max(t[p], alpha[p]) }
                let iou = union > 0 ? inter / union : 0
                if iou > fit.iou { fit = (iou, shape, size.name, centreY) }
            }
        }
        let fx = cx / Double(side), fy = fit.centreY / Double(side)
        let position = ShapesGenerator.Position.allCases.min {
            let a = $0.centre, b = $1.centre
            return (a.0 - fx) * (a.0 - fx) + (a.1 - fy) * (a.1 - fy) < (b.0 - fx) * (b.0 - fx) + (b.1 - fy) * (b.1 - fy)
        }!
        self.init(shape: fit.shape, colour: best.name, size: fit.size, position: position)
    }
}

/// Per-attribute accuracy of recognised images against their captions.
public struct ShapesConsistency: Equatable, Sendable {
    public private(set) var images = 0, shape = 0, colour = 0, size = 0, position = 0, all = 0

    public static let chance: [String: Double] = [
        "shape": 1.0 / Double(ShapesGenerator.Shape.allCases.count),
        "colour": 1.0 / Double(ShapesGenerator.colours.count),
        "size": 1.0 / Double(ShapesGenerator.sizes.count),
        "position": 1.0 / Double(ShapesGenerator.Position.allCases.count),
        "all": 1.0
            / Double(
                ShapesGenerator.Shape.allCases.count * ShapesGenerator.colours.count
                    * ShapesGenerator.sizes.count * ShapesGenerator.Position.allCases.count),
    ]

    public init() {}

    /// Counts one image; `found` nil (a blank image) gets every attribute wrong.
    public mutating func add(expected e: ShapesAttributes, found f: ShapesAttributes?) {
        images += 1
        guard let f else { return }
        let hits = [e.shape == f.shape, e.colour == f.colour, e.size == f.size, e.position == f.position]
        if hits[0] { shape += 1 }
        if hits[1] { colour += 1 }
        if hits[2] { size += 1 }
        if hits[3] { position += 1 }
        if !hits.contains(false) { all += 1 }
    }

    public var accuracy: [String: Double] {
        let n = Double(max(1, images))
        return [
            "shape": Double(shape) / n, "colour": Double(colour) / n, "size": Double(size) / n,
            "position": Double(position) / n, "all": Double(all) / n,
        ]
    }

    public var summary: String {
        let a = accuracy, c = Self.chance
        return ["all", "shape", "colour", "size", "position"].map {
            String(format: "%@ %.1f%% (chance %.1f%%)", $0, 100 * a[$0]!, 100 * c[$0]!)
        }.joined(separator: ", ") + " over \(images) images"
    }
}
