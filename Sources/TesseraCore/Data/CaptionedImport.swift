import Foundation

/// One captioned image set from several real sources (Open Clip Art, Noto Color Emoji, EmojiOne 2):
/// every image composited on white, padded to a square with white and area-resized to one side;
/// identical images (same bytes at that side) kept once; categories with fewer than
/// `minCategory` images folded into "<source kind>/other"; held out by caption — every image
/// with the same caption lands in the same split — and stratified by category: within each
/// category the captions are ordered by a hash and every `valEvery`-th is held out.
/// Writes `images/<source>/<n>.png`, `captions.jsonl` (file, caption, split, source, category and
/// the source's own fields; rows in the hash order of their file names) and `import.json` (the
/// counts), all at once.
public enum CaptionedImport {
    /// One image of a source, before preprocessing.
    public struct Source {
        public let source: String
        public let category: String
        public let caption: String
        public let attributes: [String: String]
        public let load: () throws -> RGBImage

        public init(
            source: String, category: String, caption: String, attributes: [String: String],
            load: @escaping () throws -> RGBImage
        ) {
            self.source = source; self.category = category; self.caption = caption; self.attributes = attributes;
            self.load = load
        }
    }

    public struct Options {
        public var side = 32
        public var minCategory = 40
        public var valEvery = 10
        public init() {}
    }

    public struct Summary: Codable, Equatable {
        public var side: Int
        public var images: Int
        public var train: Int
        public var val: Int
        public var duplicates: Int
        /// Duplicates removed, by the source of the copy removed.
        public var duplicatesPerSource: [String: Int]
        /// Images over the decoder's pixel limit, by file.
        public var tooLarge: [String]
        public var perSource: [String: Int]
        public var perCategory: [String: Int]
        public var excluded: [String: Int]
        /// Licence of each source's images.
        public var licences: [String: String]
    }

    /// `root`, when given, is removed from the front of file names in the summary.
    public static func run(
        _ sources: [Source], to out: String, options: Options, excluded: [String: Int] = [:],
        licences: [String: String] = [:], root: String = "",
        overwrite: Bool, pool: Parallel, progress: (String) -> Void = { _ in }
    ) throws -> Summary {
        guard !sources.isEmpty else { throw TesseraError.config("no source images: give at least one source") }
        let side = options.side, size = 3 * side * side
        if let why = SizeLimits.memoryProblem(
            SizeLimits.bytes(sources.count, size), "\(sources.count) images of \(side)×\(side)")
        {
            throw TesseraError.config(why)
        }
        let (pixels, failures) = ImageSet.decode(count: sources.count, size: size, pool: pool) {
            try sources[$0].load().paddedSquare().resized(width: side, height: side).pixels
        }
        var tooLarge: [String] = []
        var usable = [Bool](repeating: true, count: sources.count)
        for (i, f) in failures.enumerated() {
            guard let f else { continue }
            // The pixel limit is a curation rule (a 10,535 × 16,000 poster); anything else is a broken input.
            if case TesseraError.data(let file, _) = f, RGBImage.isOverPixelLimit(f) {
                tooLarge.append(
                    !root.isEmpty && file.hasPrefix(root + "/") ? String(file.dropFirst(root.count + 1)) : file)
                usable[i] = false
                continue
            }
            throw f
        }
        // Identical images (the same bytes at this side): the first in source order is kept.
        var seen = Set<ArraySlice<UInt8>>()
        var duplicates = 0
        var duplicatesPerSource: [String: Int] = [:]
        for i in sources.indices where usable[i] && !seen.insert(pixels[(i * size)..<((i + 1) * size)]).inserted {
            usable[i] = false
            duplicates += 1
            duplicatesPerSource[sources[i].source, default: 0] += 1
        }
        let kept = sources.indices.filter { usable[$0] }
        guard !kept.isEmpty else { throw TesseraError.data(file: out, "no usable images remain") }
        // Small categories fold into "<kind>/other".
        var counts: [String: Int] = [:]
        for i in kept { counts[sources[i].category, default: 0] += 1 }
        func category(_ i: Int) -> String {
            let c = sources[i].category
            guard counts[c]! < options.minCategory else { return c }
            return (c.split(separator: "/").first.map(String.init) ?? c) + "/other"
        }
        // Held-out captions, stratified by category.
        var captionCategory: [String: String] = [:]
        for i in kept where captionCategory[sources[i].caption.lowercased()] == nil {
            captionCategory[sources[i].caption.lowercased()] = category(i)
        }
        var byCategory: [String: [String]] = [:]
        for (caption, c) in captionCategory { byCategory[c, default: []].append(caption) }
        var heldOut = Set<String>()
        for (_, captions) in byCategory {
            let ordered = captions.sorted { (RandomStream.fnv1a($0), $0) < (RandomStream.fnv1a($1), $1) }
            for (k, c) in ordered.enumerated() where k % options.valEvery == options.valEvery - 1 { heldOut.insert(c) }
        }
        var summary = Summary(
            side: side, images: kept.count, train: 0, val: 0, duplicates: duplicates,
            duplicatesPerSource: duplicatesPerSource, tooLarge: tooLarge,
            perSource: [:], perCategory: [:], excluded: excluded, licences: licences)
        try FileIO.buildDirectory(out, overwrite: overwrite) { dir in
            // Rows in an order mixed by a hash, so any prefix of a split (the first held-out
            // captions sampled, an evaluation token budget) draws from every source and category.
            var lines: [(key: UInt64, line: String)] = []
            var n: [String: Int] = [:]
            for i in kept {
                let s = sources[i]
                let number = n[s.source, default: 0]
                n[s.source] = number + 1
                let folder = "images/\(s.source)"
                if number == 0 {
                    try FileManager.default.createDirectory(
                        atPath: dir.appendingPathComponent(folder), withIntermediateDirectories: true)
                }
                let file = String(format: "%@/%05d.png", folder, number)
                try RGBImage(width: side, height: side, pixels: Array(pixels[(i * size)..<((i + 1) * size)]))
                    .write(path: dir.appendingPathComponent(file), durable: false)
                let split = heldOut.contains(s.caption.lowercased()) ? "val" : "train"
                if split == "val" { summary.val += 1 } else { summary.train += 1 }
                summary.perSource[s.source, default: 0] += 1
                summary.perCategory[category(i), default: 0] += 1
                var row: [String: Any] = [
                    "file": file, "caption": s.caption, "split": split, "source": s.source, "category": category(i),
                ]
                for (k, v) in s.attributes where row[k] == nil { row[k] = v }
                lines.append((RandomStream.fnv1a(file), MetricsLog.line(row)))
                if lines.count % 1000 == 0 { progress("wrote \(lines.count)/\(kept.count) images") }
            }
            try FileIO.writeAtomically(
                dir.appendingPathComponent("captions.jsonl"),
                data: Data((lines.sorted { $0.key < $1.key }.map(\.line).joined(separator: "\n") + "\n").utf8))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try FileIO.writeAtomically(dir.appendingPathComponent("import.json"), data: try encoder.encode(summary))
        }
        return summary
    }

    // MARK: - Sources

    /// Open Clip Art (see `OpenClipArt` for the caption rule), category "clipart/<top folder>".
    public static func openClipArt(
        pngRoot: String, svgRoot: String
    ) throws -> (sources: [Source], excluded: [String: Int]) {
        let (items, excluded) = try OpenClipArt.items(pngRoot: pngRoot, svgRoot: svgRoot)
        let sources = items.map { item in
            let path = pngRoot.appendingPathComponent(item.relativePath)
            return Source(
                source: "openclipart", category: "clipart/\(item.category)", caption: item.caption,
                attributes: [
                    "path": item.relativePath, "title": item.metadata.title, "author": item.metadata.creator,
                    "keywords": item.metadata.keywords.joined(separator: ", "),
                ]
            ) { try RGBImage.read(path: path) }
        }
        return (sources, excluded.reduce(into: [:]) { $0["openclipart:" + $1.key] = $1.value })
    }

    /// The emoji of a colour-bitmap font that are one code point (U+FE0F aside) and named by
    /// `names` (not skin-tone or hair components): sequences — skin tones, ZWJ families, flags,
    /// keycaps — are variants or compositions of these and are left out. Category "emoji/<group>";
    /// the caption is the CLDR name, lower-cased as EmojiOne's names are.
    public static func colourFont(_ font: ColourBitmapFont, names: EmojiNames, source: String = "noto") -> [Source] {
        var out: [Source] = []
        for cp in font.glyphs.keys.sorted() {
            guard let e = names.entries[[cp]], e.status != "component", font.png(codepoint: cp) != nil else { continue }
            let hex = String(format: "%04x", cp)
            out.append(
                Source(
                    source: source, category: "emoji/\(e.group.lowercased())", caption: e.name.lowercased(),
                    attributes: [
                        "codepoint": hex, "subgroup": e.subgroup,
                        "keywords": (names.keywords[[cp]] ?? []).joined(separator: ", "),
                    ]
                ) {
                    try RGBImage.decode(png: font.png(codepoint: cp)!, path: "\(font.path) (U+\(hex.uppercased()))")
                })
        }
        return out
    }

    /// EmojiOne 2 art of Debian's ruby-gemojione (`root` holds config/index.json and assets/png),
    /// by the same one-code-point rule, with the group of `names` where the emoji is listed there;
    /// names with "middle finger" are left out.
    public static func gemojione(root: String, names: EmojiNames) throws -> [Source] {
        let (indexPath, entries) = try ImageImporters.emojiOneIndex(root)
        var out: [Source] = []
        for (code, name, e) in entries {
            let scalars = EmojiNames.key(code.split(separator: "-").compactMap { UInt32($0, radix: 16) })
            guard scalars.count == 1, !name.contains("middle finger") else { continue }
            if let entry = names.entries[scalars], entry.status == "component" { continue }
            let group = names.entries[scalars]?.group.lowercased() ?? "other"
            let src = root.appendingPathComponent("assets/png/\(code).png")
            out.append(
                Source(
                    source: "gemojione", category: "emoji/\(group)", caption: name.lowercased(),
                    attributes: [
                        "codepoint": code.lowercased(),
                        "keywords": (e["keywords"] as? [String] ?? []).joined(separator: ", "),
                    ]
                ) {
                    try RGBImage.read(path: src)
                })
        }
        guard !out.isEmpty else { throw TesseraError.data(file: indexPath, "lists no single-code-point emoji") }
        return out
    }
}
