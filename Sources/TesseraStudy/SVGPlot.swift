import Foundation
import TesseraCore

/// A line chart as standalone SVG text: series of (x, y) points, linear x, linear or log-10 y,
/// "nice" tick marks, a legend. No scripts, no external resources, so the page renders anywhere.
public struct SVGPlot {
    public struct Series {
        public var label: String
        public var points: [(x: Double, y: Double)]
        public var colour: String
        public var dashed = false
        public var width = 2.0
        /// Thin, unlabelled companions (e.g. single seeds around their mean) stay out of the legend.
        public var inLegend = true
        /// A dot on every point (sparse series, where a lone point draws no line).
        public var markers = false
        public init(
            label: String, points: [(x: Double, y: Double)], colour: String, dashed: Bool = false, width: Double = 2,
            inLegend: Bool = true, markers: Bool = false
        ) {
            self.label = label; self.points = points; self.colour = colour; self.dashed = dashed; self.width = width
            self.inLegend = inLegend; self.markers = markers
        }
    }

    public var id: String
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY = false
    /// The y range covers only points with x ≥ this (the first steps' huge losses would flatten
    /// everything after them); lines above the range are clipped.
    public var yRangeFromX = -Double.infinity
    public var series: [Series]
    public var width = 560.0, height = 340.0

    public init(
        id: String, title: String, xLabel: String, yLabel: String, logY: Bool = false, yRangeFromX: Double = -.infinity,
        series: [Series]
    ) {
        self.id = id; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY
        self.yRangeFromX = yRangeFromX; self.series = series
    }

    /// The same colour for the same arm in every figure.
    public static func colour(arm: String, index: Int) -> String {
        switch arm.split(separator: " ").first.map(String.init) ?? arm {
        case "random": return palette[0]
        case "aligned": return palette[2]
        case "pretrained" where arm == "pretrained" || arm.hasPrefix("pretrained (mean"): return palette[1]
        default: return palette[3 + index % (palette.count - 3)]
        }
    }

    /// A qualitative palette (Tableau 10), readable on white.
    public static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]

    public var svg: String {
        let left = 64.0, right = 16.0, top = 30.0, bottom = 44.0
        let pw = width - left - right, ph = height - top - bottom
        let pts = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        var out =
            "<svg id=\"\(Self.escape(id))\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(Self.escape(title))\">"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
        out +=
            "<text x=\"\(Int(width / 2))\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(Self.escape(title))</text>"
        guard let x0 = pts.map(\.x).min(), let x1 = pts.map(\.x).max() else {
            return out
                + "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\" font-size=\"13\" fill=\"#555\">no data</text></svg>"
        }
        let t = logY ? { (v: Double) in Foundation.log10(v) } : { (v: Double) in v }
        let ranged = pts.filter { $0.x >= yRangeFromX }.isEmpty ? pts : pts.filter { $0.x >= yRangeFromX }
        var y0 = ranged.map { t($0.y) }.min()!, y1 = ranged.map { t($0.y) }.max()!
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad
        let xr = x1 > x0 ? x1 - x0 : 1
        func px(_ x: Double) -> Double { left + (x - x0) / xr * pw }
        func py(_ y: Double) -> Double { top + (1 - (t(y) - y0) / (y1 - y0)) * ph }
        // Axes, grid and ticks.
        out += "<g font-size=\"11\" fill=\"#333\">"
        for v in Self.ticks(x0, x1) {
            let x = px(v)
            out += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + ph))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(f(x))\" y=\"\(f(top + ph + 14))\" text-anchor=\"middle\">\(Self.label(v))</text>"
        }
        let yTicks: [Double] = logY ? Self.logTicks(y0, y1) : Self.ticks(y0, y1)
        for v in yTicks {
            let y = logY ? top + (1 - (Foundation.log10(v) - y0) / (y1 - y0)) * ph : py(v)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + pw))\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(f(left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.label(v))</text>"
        }
        out +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#999\"/>"
        out +=
            "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>"
        out +=
            "<text transform=\"translate(14 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel + (logY ? " (log scale)" : "")))</text></g>"
        // Lines, thin ones first so the labelled ones draw on top, clipped to the plot area.
        out +=
            "<clipPath id=\"\(Self.escape(id))-area\"><rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\"/></clipPath>"
        out += "<g clip-path=\"url(#\(Self.escape(id))-area)\">"
        for s in series.sorted(by: { $0.width < $1.width }) {
            let visible = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
            guard !visible.isEmpty else { continue }
            let d = visible.enumerated().map {
                "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.x))),\(f(py($0.element.y)))"
            }.joined()
            out +=
                "<path d=\"\(d)\" fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"\(s.width)\""
                + (s.dashed ? " stroke-dasharray=\"6 4\"" : "")
                + (s.inLegend ? "" : " stroke-opacity=\"0.45\"") + "><title>\(Self.escape(s.label))</title></path>"
            if s.markers {
                for p in visible {
                    out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(s.colour)\"/>"
                }
            }
        }
        out += "</g>"
        // Legend inside the plot, in the corner that covers the fewest points.
        let labelled = series.filter(\.inLegend)
        let lw = min(pw * 0.6, Double((labelled.map(\.label.count).max() ?? 0) * 6 + 34))
        if !labelled.isEmpty {
            let lh = Double(labelled.count * 15 + 6)
            let screen = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }.map {
                (px($0.x), py($0.y))
            }
            let corners = [
                (left + pw - lw - 6, top + 6), (left + pw - lw - 6, top + ph - lh - 6), (left + 6, top + 6),
                (left + 6, top + ph - lh - 6),
            ]
            let covered = corners.map { c in
                screen.filter { $0.0 >= c.0 - 8 && $0.0 <= c.0 + lw + 8 && $0.1 >= c.1 - 8 && $0.1 <= c.1 + lh + 8 }
                    .count
            }
            let (lx, ly) = corners[covered.firstIndex(of: covered.min()!)!]
            out +=
                "<g font-size=\"11\"><rect x=\"\(f(lx))\" y=\"\(f(ly))\" width=\"\(f(lw))\" height=\"\(f(lh))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>"
            for (i, s) in labelled.enumerated() {
                let y = ly + 13 + Double(i * 15)
                out +=
                    "<line x1=\"\(f(lx + 5))\" y1=\"\(f(y - 4))\" x2=\"\(f(lx + 25))\" y2=\"\(f(y - 4))\" stroke=\"\(s.colour)\" stroke-width=\"\(s.width)\""
                    + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>"
                out += "<text x=\"\(f(lx + 30))\" y=\"\(f(y))\">\(Self.escape(s.label))</text>"
            }
            out += "</g>"
        }
        return out + "</svg>"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// About five round ticks (1, 2 or 5 × 10^k apart) inside [a, b].
    public static func ticks(_ a: Double, _ b: Double) -> [Double] {
        guard b > a else { return [a] }
        let raw = (b - a) / 5, mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var v = Foundation.ceil(a / step) * step, out: [Double] = []
        while v <= b + step * 1e-9 { out.append(abs(v) < step * 1e-9 ? 0 : v); v += step }
        return out
    }

    /// Ticks for a log-10 axis spanning [10^a, 10^b]: 1-2-5 per decade, thinned to at most ~8.
    public static func logTicks(_ a: Double, _ b: Double) -> [Double] {
        var out: [Double] = []
        for e in Int(Foundation.floor(a))...Int(Foundation.ceil(b)) {
            for m in [1.0, 2, 5] {
                let v = m * Foundation.pow(10, Double(e))
                if Foundation.log10(v) >= a && Foundation.log10(v) <= b { out.append(v) }
            }
        }
        if out.count < 2 { return ticks(Foundation.pow(10, a), Foundation.pow(10, b)) }
        let stride = max(1, out.count / 8)
        return out.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(format: "%.0e", v) }
        if a >= 100 || v == v.rounded() { return String(format: "%.0f", v) }
        return String(format: a >= 1 ? "%.2g" : "%.3g", v)
    }

    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }
}
