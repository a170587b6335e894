import Foundation

/// The colour bitmaps of an OpenType font, as Noto Color Emoji stores them: `cmap` maps code points
/// to glyph ids, `CBLC` indexes each glyph's bitmap in `CBDT`, and each bitmap is a PNG.
///
/// Read (OpenType 1.9, all big-endian; every offset and count is checked against the bytes
/// present before it is followed):
///   table directory: sfntVersion u32, numTables u16, 6 bytes, then numTables × {tag, checksum,
///     offset u32, length u32};
///   cmap: the Unicode subtable, format 12 (groups of start, end, startGlyph) or format 4 (BMP
///     segments);
///   CBLC: version u32, numSizes u32, numSizes × 48-byte BitmapSize {indexSubTableArrayOffset u32,
///     indexTablesSize u32, numberOfIndexSubTables u32, colorRef u32, 24 bytes of line metrics,
///     startGlyph u16, endGlyph u16, ppemX u8, ppemY u8, bitDepth u8, flags u8}; the strike with the
///     largest ppem is used; each IndexSubTableArray entry {first u16, last u16, offset u32} leads
///     to a subtable {indexFormat u16, imageFormat u16, imageDataOffset u32} of format 1 (u32
///     offsets), 2 (fixed size), 3 (u16 offsets), 4 (sparse glyph/offset pairs) or 5 (fixed size,
///     sparse glyph list);
///   CBDT glyph data: format 17 (5-byte small metrics, dataLen u32, PNG), 18 (8-byte big metrics,
///     dataLen u32, PNG) or 19 (dataLen u32, PNG).
public struct ColourBitmapFont {
    public let path: String
    /// Code point → glyph id, for the font's Unicode cmap.
    public let glyphs: [UInt32: Int]
    /// Glyph id → the PNG bytes' range in the file.
    public let bitmaps: [Int: Range<Int>]
    /// ppem of the strike read.
    public let ppem: Int
    private let bytes: [UInt8]

    /// Largest font read (the Noto file is 10 MB).
    public static let maxBytes = 256 << 20

    public init(path: String) throws {
        let size = FileIO.fileSize(path) ?? 0
        guard size <= Self.maxBytes else {
            throw TesseraError.data(file: path, "font of \(size) bytes exceeds the \(Self.maxBytes)-byte limit")
        }
        try self.init(bytes: [UInt8](try FileIO.read(path)), path: path)
    }

    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        self.bytes = bytes
        let r = Reader(bytes: bytes, path: path)
        guard bytes.count >= 12 else { throw r.error("too short for an OpenType table directory") }
        let version = try r.u32(0)
        guard version == 0x0001_0000 || version == 0x7472_7565 else {
            throw r.error(String(format: "sfnt version 0x%08x is not a TrueType/OpenType font", version))
        }
        var tables: [String: Range<Int>] = [:]
        let count = try r.u16(4)
        guard 12 + 16 * count <= bytes.count else {
            throw r.error("a table directory of \(count) tables runs past the end of the \(bytes.count)-byte file")
        }
        for i in 0..<count {
            let o = 12 + 16 * i
            let tag = String(try r.slice(o, 4).map { (32...126).contains($0) ? Character(UnicodeScalar($0)) : "?" })
            let start = try r.u32(o + 8), length = try r.u32(o + 12)
            guard start <= bytes.count, length <= bytes.count - start else {
                throw r.error("table '\(tag)' [\(start), +\(length)) lies outside the \(bytes.count)-byte file")
            }
            tables[tag] = start..<(start + length)
        }
        let missing = ["cmap", "CBLC", "CBDT"].filter { tables[$0] == nil }
        guard missing.isEmpty else {
            throw r.error(
                "has no \(missing.joined(separator: ", ")) table\(missing.count > 1 ? "s" : "") (a colour-bitmap emoji font carries cmap, CBLC and CBDT)"
            )
        }
        glyphs = try Self.readCmap(r, tables["cmap"]!)
        (bitmaps, ppem) = try Self.readBitmaps(r, cblc: tables["CBLC"]!, cbdt: tables["CBDT"]!)
    }

    /// The PNG of `codepoint`'s glyph, if the font has a colour bitmap for it.
    public func png(codepoint: UInt32) -> Data? {
        guard let g = glyphs[codepoint], let range = bitmaps[g] else { return nil }
        return Data(bytes[range])
    }

    // MARK: - cmap

    static func readCmap(_ r: Reader, _ table: Range<Int>) throws -> [UInt32: Int] {
        let base = table.lowerBound
        let n = try r.u16(base + 2)
        var best: (rank: Int, offset: Int)?
        for i in 0..<n {
            let o = base + 4 + 8 * i
            let platform = try r.u16(o), encoding = try r.u16(o + 2), offset = base + (try r.u32(o + 4))
            let format = try r.u16(offset)
            // Full-repertoire Unicode (format 12) first, then the BMP (format 4).
            let rank: Int
            switch (platform, encoding, format) {
            case (3, 10, 12), (0, 4, 12), (0, 6, 12): rank = 2
            case (3, 1, 4), (0, 3, 4), (0, 0, 4), (0, 1, 4): rank = 1
            default: continue
            }
            if best == nil || rank > best!.rank { best = (rank, offset) }
        }
        guard let best else { throw r.error("cmap has no Unicode subtable of format 4 or 12") }
        var map: [UInt32: Int] = [:]
        if best.rank == 2 {
            let groups = try r.u32(best.offset + 12)
            guard groups <= (r.bytes.count - best.offset) / 12 else {
                throw r.error("cmap format 12 promises \(groups) groups beyond the file")
            }
            for g in 0..<groups {
                let o = best.offset + 16 + 12 * g
                let start = try r.u32(o), end = try r.u32(o + 4), glyph = try r.u32(o + 8)
                guard start <= end, end <= 0x10FFFF, map.count + (end - start) <= 0x110000 else {
                    throw r.error("cmap group \(g) [\(start), \(end)] is not a range of Unicode code points")
                }
                for c in start...end { map[UInt32(c)] = glyph + (c - start) }
            }
        } else {
            let segments = try r.u16(best.offset + 6) / 2
            let ends = best.offset + 14, starts = ends + 2 * segments + 2
            let deltas = starts + 2 * segments, rangeOffsets = deltas + 2 * segments
            for s in 0..<segments {
                let end = try r.u16(ends + 2 * s), start = try r.u16(starts + 2 * s)
                let delta = try r.u16(deltas + 2 * s), rangeOffset = try r.u16(rangeOffsets + 2 * s)
                guard start <= end else { continue }
                for c in start...end where c != 0xFFFF {
                    var glyph: Int
                    if rangeOffset == 0 {
                        glyph = (c + delta) & 0xFFFF
                    } else {
                        // idRangeOffset counts bytes from its own slot to the glyph id.
                        glyph = try r.u16(rangeOffsets + 2 * s + rangeOffset + 2 * (c - start))
                        if glyph != 0 { glyph = (glyph + delta) & 0xFFFF }
                    }
                    if glyph != 0 { map[UInt32(c)] = glyph }
                }
            }
        }
        return map
    }

    // MARK: - CBLC / CBDT

    static func readBitmaps(_ r: Reader, cblc: Range<Int>, cbdt: Range<Int>) throws -> ([Int: Range<Int>], Int) {
        let base = cblc.lowerBound
        let major = try r.u16(base)
        guard major == 2 || major == 3 else { throw r.error("CBLC version \(major) is not 2 or 3") }
        let sizes = try r.u32(base + 4)
        guard sizes >= 1, sizes <= 256 else { throw r.error("CBLC lists \(sizes) strikes (1–256 expected)") }
        var strike = 0, ppem = -1
        for s in 0..<sizes {
            let p = Int(try r.u8(base + 8 + 48 * s + 44))
            if p > ppem { (strike, ppem) = (s, p) }
        }
        let size = base + 8 + 48 * strike
        let arrayOffset = base + (try r.u32(size)), subtables = try r.u32(size + 8)
        guard subtables <= 65536 else { throw r.error("CBLC strike lists \(subtables) index subtables") }
        var out: [Int: Range<Int>] = [:]
        func glyph(_ id: Int, at start: Int, _ end: Int, imageFormat: Int) throws {
            guard start <= end, start >= cbdt.lowerBound, end <= cbdt.upperBound else {
                throw r.error("glyph \(id)'s bitmap [\(start), \(end)) lies outside CBDT")
            }
            let header: Int
            switch imageFormat {
            case 17: header = 5
            case 18: header = 8
            case 19: header = 0
            default:
                throw r.error(
                    "glyph \(id) has image format \(imageFormat) (17, 18 and 19 are PNG; others are not colour bitmaps)"
                )
            }
            guard end - start >= header + 4 else {
                throw r.error("glyph \(id)'s bitmap record is \(end - start) bytes, too short")
            }
            let length = try r.u32(start + header)
            let png = start + header + 4
            guard length <= end - png else {
                throw r.error("glyph \(id)'s PNG of \(length) bytes overruns its \(end - start)-byte record")
            }
            out[id] = png..<(png + length)
        }
        for i in 0..<subtables {
            let entry = arrayOffset + 8 * i
            let first = try r.u16(entry), last = try r.u16(entry + 2)
            guard first <= last else { throw r.error("index subtable \(i) covers glyphs \(first)…\(last)") }
            let sub = arrayOffset + (try r.u32(entry + 4))
            let indexFormat = try r.u16(sub), imageFormat = try r.u16(sub + 2)
            let data = cbdt.lowerBound + (try r.u32(sub + 4))
            switch indexFormat {
            case 1, 3:
                let w = indexFormat == 1 ? 4 : 2
                for (k, id) in (first...last).enumerated() {
                    let a = try r.uint(sub + 8 + w * k, w), b = try r.uint(sub + 8 + w * (k + 1), w)
                    if b > a { try glyph(id, at: data + a, data + b, imageFormat: imageFormat) }  // equal: no bitmap
                }
            case 2:
                let each = try r.u32(sub + 8)
                for (k, id) in (first...last).enumerated() {
                    try glyph(id, at: data + k * each, data + (k + 1) * each, imageFormat: imageFormat)
                }
            case 4:
                let n = try r.u32(sub + 8)
                guard n <= last - first + 1 else {
                    throw r.error("index subtable \(i) lists \(n) glyphs for a range of \(last - first + 1)")
                }
                for k in 0..<n {
                    let id = try r.u16(sub + 12 + 4 * k)
                    let a = try r.u16(sub + 12 + 4 * k + 2), b = try r.u16(sub + 12 + 4 * (k + 1) + 2)
                    try glyph(id, at: data + a, data + b, imageFormat: imageFormat)
                }
            case 5:
                let each = try r.u32(sub + 8), n = try r.u32(sub + 20)
                guard n <= last - first + 1 else {
                    throw r.error("index subtable \(i) lists \(n) glyphs for a range of \(last - first + 1)")
                }
                for k in 0..<n {
                    try glyph(
                        try r.u16(sub + 24 + 2 * k), at: data + k * each, data + (k + 1) * each,
                        imageFormat: imageFormat)
                }
            default:
                throw r.error("index subtable \(i) has format \(indexFormat) (1–5 expected)")
            }
        }
        guard !out.isEmpty else { throw r.error("CBLC indexes no bitmaps") }
        return (out, ppem)
    }

    /// Bounds-checked big-endian reads; every failure names the file.
    struct Reader {
        let bytes: [UInt8]
        let path: String
        func error(_ m: String) -> TesseraError { .data(file: path, m) }
        func check(_ o: Int, _ n: Int) throws {
            guard o >= 0, n >= 0, o <= bytes.count - n else {
                throw error("truncated: a read of \(n) bytes at offset \(o) passes the end (\(bytes.count) bytes)")
            }
        }
        func slice(_ o: Int, _ n: Int) throws -> ArraySlice<UInt8> { try check(o, n); return bytes[o..<(o + n)] }
        func uint(_ o: Int, _ n: Int) throws -> Int { try slice(o, n).reduce(0) { $0 << 8 | Int($1) } }
        func u8(_ o: Int) throws -> Int { try uint(o, 1) }
        func u16(_ o: Int) throws -> Int { try uint(o, 2) }
        func u32(_ o: Int) throws -> Int { try uint(o, 4) }
    }
}
