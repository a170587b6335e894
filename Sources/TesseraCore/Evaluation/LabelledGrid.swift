import Foundation

/// A grid of images, each with its caption printed beneath it in the 5×7 bitmap font: word-wrapped,
/// "\n" starts a new line, at most `maxLines` lines (a cut shows as a trailing "~"). Images are CHW
/// bytes, scaled up by pixel replication to at least `minCell` pixels; characters outside
/// printable ASCII print as "?".
public enum LabelledGrid {
    public static func render(
        images: [[UInt8]], captions: [String], side: Int, columns: Int = 8,
        minCell: Int = 96, maxLines: Int = 6
    ) -> RGBImage {
        precondition(images.count == captions.count && !images.isEmpty && columns >= 1)
        let scale = max(1, (minCell + side - 1) / side), cell = side * scale, gap = 4
        let charsPerLine = max(1, cell / (BitmapFont.width + 1))
        let lineHeight = BitmapFont.height + 2
        let wrapped = captions.map { wrap($0, width: charsPerLine, maxLines: maxLines) }
        let textHeight = (wrapped.map(\.count).max() ?? 0) * lineHeight + 2
        let cols = min(columns, images.count), rows = (images.count + cols - 1) / cols
        let cellW = cell + gap, cellH = cell + textHeight + gap
        let width = cols * cellW + gap, height = rows * cellH + gap
        var px = [UInt8](repeating: 255, count: width * height * 3)
        for (i, img) in images.enumerated() {
            let x0 = gap + (i % cols) * cellW, y0 = gap + (i / cols) * cellH
            for y in 0..<cell {
                for x in 0..<cell {
                    let src = (y / scale) * side + x / scale
                    for c in 0..<3 { px[((y0 + y) * width + x0 + x) * 3 + c] = img[c * side * side + src] }
                }
            }
            for (l, line) in wrapped[i].enumerated() {
                draw(line, x: x0, y: y0 + cell + 2 + l * lineHeight, into: &px, width: width)
            }
        }
        return RGBImage(width: width, height: height, pixels: px)
    }

    /// Greedy word wrap; words longer than a line are split; a cut after `maxLines` ends in "~".
    public static func wrap(_ text: String, width: Int, maxLines: Int) -> [String] {
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines += wrapParagraph(String(paragraph), width: width)
        }
        if lines.count > maxLines {
            lines = Array(lines.prefix(maxLines))
            lines[maxLines - 1] = String(lines[maxLines - 1].prefix(width - 1)) + "~"
        }
        return lines
    }

    static func wrapParagraph(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            var w = String(word)
            while w.count > width {
                if !current.isEmpty { lines.append(current); current = "" }
                lines.append(String(w.prefix(width))); w = String(w.dropFirst(width))
            }
            if current.isEmpty {
                current = w
            } else if current.count + 1 + w.count <= width {
                current += " " + w
            } else {
                lines.append(current); current = w
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    static func draw(_ text: String, x: Int, y: Int, into px: inout [UInt8], width: Int) {
        let height = px.count / 3 / width
        for (k, scalar) in text.unicodeScalars.enumerated() {
            let code = (32...126).contains(scalar.value) ? Int(scalar.value) : 63
            for gy in 0..<BitmapFont.height {
                let bits = BitmapFont.rows[(code - 32) * BitmapFont.height + gy]
                for gx in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - gx)) != 0 {
                    let xx = x + k * (BitmapFont.width + 1) + gx, yy = y + gy
                    guard xx < width, yy < height else { continue }
                    for c in 0..<3 { px[(yy * width + xx) * 3 + c] = 0 }
                }
            }
        }
    }
}
