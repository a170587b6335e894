import Foundation
import TesseraCore
import Testing

/// The real captioned image importers: the colour-emoji font reader against fontTools
/// (scripts/reference/make_emoji_font_fixture.py), Unicode's emoji names, the Open Clip Art
/// caption rule, the merge (padding, de-duplication, held-out split by caption and category), and
/// one-line refusals of a truncated PNG, a font without colour tables and a missing package.
@Suite struct CaptionedImportTests {
    struct ExpectedGlyph: Decodable {
        let codepoint: UInt32
        let glyph: Int
        let width: Int
        let height: Int
        let png_bytes: Int
        let png_fnv1a64: String
    }
    struct Expected: Decodable { let glyphs: [ExpectedGlyph] }

    @Test func colourFontMatchesFontTools() throws {
        let font = try ColourBitmapFont(path: Fixtures.path("emoji_font/noto-subset.ttf"))
        let expected = try JSONDecoder().decode(
            Expected.self, from: try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("emoji_font/expected.json"))))
        #expect(font.ppem == 109)
        for g in expected.glyphs {
            #expect(font.glyphs[g.codepoint] == g.glyph)
            let png = try #require(font.png(codepoint: g.codepoint))
            #expect(png.count == g.png_bytes)
            #expect(TokenShards.fnv1a(png) == g.png_fnv1a64)
            let image = try RGBImage.decode(png: png, path: "glyph")
            #expect(image.width == g.width && image.height == g.height)
        }
        #expect(font.png(codepoint: 0x41) == nil)
    }

    @Test func fontWithoutColourTablesIsRefused() throws {
        let path = Fixtures.path("emoji_font/no-colour.ttf")
        #expect(
            throws: TesseraError.data(
                file: path, "has no CBLC, CBDT tables (a colour-bitmap emoji font carries cmap, CBLC and CBDT)")
        ) {
            _ = try ColourBitmapFont(path: path)
        }
    }

    @Test func truncatedFontIsRefusedAtEveryCut() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("emoji_font/noto-subset.ttf"))))
        // Every cut either fails with a data error naming the file or (past the last table) reads.
        for cut in stride(from: 0, to: bytes.count, by: 97) {
            do {
                _ = try ColourBitmapFont(bytes: Array(bytes[..<cut]), path: "cut.ttf")
                // Only the last table's 4-byte padding may go unnoticed.
                if cut < bytes.count - 3 { Issue.record("a font cut at \(cut) of \(bytes.count) bytes was accepted") }
            } catch let TesseraError.data(file, message) {
                #expect(file == "cut.ttf" && !message.contains("\n"))
            }
        }
    }

    @Test func emojiNamesKeyWithoutPresentationSelector() throws {
        let dir = tempDirectory("names")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let test = dir + "/emoji-test.txt"
        try """
        # group: Smileys & Emotion
        # subgroup: face-smiling
        1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
        # group: Component
        # subgroup: skin-tone
        1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
        # group: Smileys & Emotion
        # subgroup: heart
        2764 FE0F                                              ; fully-qualified     # ❤️ E0.6 red heart
        2764                                                   ; unqualified         # ❤ E0.6 red heart
        """.write(toFile: test, atomically: true, encoding: .utf8)
        var names = try EmojiNames(emojiTest: test)
        #expect(
            names.entries[[0x2764]]
                == .init(name: "red heart", group: "Smileys & Emotion", subgroup: "heart", status: "fully-qualified"))
        #expect(names.entries[[0x1F3FB]]?.status == "component")
        let cldr = dir + "/en.xml"
        try """
        <annotations>
            <annotation cp="😀">face | grin | grinning face</annotation>
            <annotation cp="😀" type="tts">grinning face</annotation>
            <annotation cp="❤">heart &amp; love</annotation>
        </annotations>
        """.write(toFile: cldr, atomically: true, encoding: .utf8)
        try names.readAnnotations(cldr)
        #expect(names.keywords[[0x1F600]] == ["face", "grin", "grinning face"])
        #expect(names.keywords[[0x2764]] == ["heart & love"])

        try "1F600 ; fully-qualified\n".write(toFile: test, atomically: true, encoding: .utf8)
        #expect(throws: TesseraError.data(file: test, "line 1 is not \"code points ; status # emoji E<version> name\""))
        {
            _ = try EmojiNames(emojiTest: test)
        }
    }

    @Test func clipArtCaptionRule() {
        let svg = """
            <svg><metadata><rdf:RDF><cc:Work rdf:about="">
              <dc:title>Cigno di spalle</dc:title>
              <dc:subject><rdf:Bag><rdf:li>bird</rdf:li><rdf:li>swan &amp; lake</rdf:li></rdf:Bag></dc:subject>
              <dc:creator><cc:Agent><dc:title>Architetto Francesco Rollandin</dc:title></cc:Agent></dc:creator>
              <dc:publisher><cc:Agent><dc:title>Open Clip Art Library</dc:title></cc:Agent></dc:publisher>
            </cc:Work></rdf:RDF></metadata></svg>
            """
        let m = OpenClipArt.metadata(svg: svg)
        #expect(
            m
                == .init(
                    title: "Cigno di spalle", creator: "Architetto Francesco Rollandin",
                    keywords: ["bird", "swan & lake"]))
        #expect(OpenClipArt.metadata(svg: "<svg/>") == .init())
        #expect(
            OpenClipArt.titleFromFileName("cigno_architetto_frances_01", creator: "Architetto Francesco Rollandin")
                == "cigno")
        #expect(OpenClipArt.titleFromFileName("meatgrinder_benji_park_", creator: "Benji Park") == "meatgrinder")
        #expect(OpenClipArt.titleFromFileName("flowerandpot_daniel_ste_r", creator: "Daniel Steger") == "flowerandpot")
        #expect(
            OpenClipArt.titleFromFileName("hotel_icon_in_room_bagg_01", creator: "Gerald G.")
                == "hotel icon in room bagg")
        #expect(
            OpenClipArt.titleFromFileName("architetto_01", creator: "Architetto Francesco Rollandin") == "architetto")
        #expect(
            OpenClipArt.cleanTitle("Clipart by Nicu Buculei - jigsaw_red_10", creator: "Nicu Buculei")
                == "jigsaw red 10")
        #expect(OpenClipArt.cleanTitle("  Cherry Pie (B and W) ", creator: "") == "cherry pie (b and w)")
        #expect(OpenClipArt.cleanTitle("truck1", creator: "") == "truck")
        #expect(OpenClipArt.cleanTitle("blueman#201", creator: "") == "blueman")
        #expect(
            OpenClipArt.cleanTitle(String(repeating: "long word ", count: 20), creator: "").count
                <= OpenClipArt.maxTitleLength)
        #expect(OpenClipArt.categoryWords("animals/birds/cigno.png") == ("animals", "birds"))
        #expect(
            OpenClipArt.categoryWords("signs_and_symbols/flags/europe/france/f.png") == (
                "signs_and_symbols", "flags europe france"
            ))
        #expect(OpenClipArt.categoryWords("signs_and_symbols/f.png") == ("signs_and_symbols", "signs and symbols"))
        #expect(OpenClipArt.categoryWords("unsorted/lam.png") == ("unsorted", ""))
    }

    /// A miniature openclipart-png + openclipart-svg tree in `root`.
    func writeClipArt(_ root: String, truncate: String? = nil) throws {
        let png = root + "/usr/share/openclipart/png", svg = root + "/usr/share/openclipart/svg"
        let files: [(String, String, String, UInt8)] = [
            ("animals/birds/cigno_architetto_frances_01", "Cigno", "Architetto Francesco Rollandin", 10),
            ("food/fruit/apple_01", "", "Gerald G.", 60),
            ("food/fruit/apple_copy_01", "Apple", "Gerald G.", 60),  // the same picture as apple_01
            ("shapes/stars/star_10pt01step", "gramastar", "codifiedivining", 90),
        ]
        for (path, title, creator, shade) in files {
            for dir in [png, svg] {
                try FileManager.default.createDirectory(
                    atPath: (dir + "/" + path).deletingLastPathComponent, withIntermediateDirectories: true)
            }
            // A 12 × 6 drawing: padding to a square must add white above and below.
            try RGBImage(width: 12, height: 6, pixels: [UInt8](repeating: shade, count: 12 * 6 * 3)).write(
                path: png + "/" + path + ".png", durable: false)
            try
                "<svg><cc:Work><dc:title>\(title)</dc:title><dc:creator><cc:Agent><dc:title>\(creator)</dc:title></cc:Agent></dc:creator></cc:Work></svg>"
                .write(toFile: svg + "/" + path + ".svg", atomically: true, encoding: .utf8)
        }
        if let truncate {
            let file = png + "/" + truncate + ".png"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: file))
        }
    }

    @Test func clipArtImportPadsDeduplicatesAndExcludes() throws {
        let root = tempDirectory("clip")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeClipArt(root)
        let (sources, excluded) = try DebianImageSources.load([.openclipart], root: root)
        #expect(excluded == ["openclipart:shapes/stars/": 1])
        #expect(sources.map(\.caption) == ["cigno, birds", "apple, fruit", "apple, fruit"])
        var o = CaptionedImport.Options()
        o.side = 8; o.minCategory = 1
        let out = root + "/set"
        let s = try CaptionedImport.run(sources, to: out, options: o, overwrite: false, pool: Parallel(threads: 2))
        #expect(s.images == 2 && s.duplicates == 1 && s.duplicatesPerSource == ["openclipart": 1])
        let folder = try CaptionedImageFolder(dir: out)
        let image = try folder.image(try #require(folder.items.first { $0.caption == "cigno, birds" }))
        #expect(image.width == 8 && image.height == 8)
        #expect(Array(image.pixels[0..<3]) == [255, 255, 255])  // padding on top
        #expect(Array(image.pixels[(4 * 8) * 3..<(4 * 8) * 3 + 3]) == [10, 10, 10])  // the drawing in the middle
        #expect(folder.items.compactMap { $0.attributes["category"] }.sorted() == ["clipart/animals", "clipart/food"])
        // The category as the class of `eval classifier --label category`.
        let first = folder.items[0]
        let byCategory = try ImageSet.load(
            folder: folder, split: first.split, side: 8, pool: Parallel(threads: 1), label: "category")
        #expect(byCategory.captions.first == first.attributes["category"])
        #expect(throws: TesseraError.data(file: out + "/captions.jsonl", "\(first.file) has no \"colour\" field")) {
            _ = try ImageSet.load(
                folder: folder, split: first.split, side: 8, pool: Parallel(threads: 1), label: "colour")
        }
    }

    @Test func truncatedClipArtPNGIsRefused() throws {
        let root = tempDirectory("clipcut")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try writeClipArt(root, truncate: "food/fruit/apple_01")
        let (sources, _) = try DebianImageSources.load([.openclipart], root: root)
        do {
            _ = try CaptionedImport.run(
                sources, to: root + "/set", options: .init(), overwrite: false, pool: Parallel(threads: 1))
            Issue.record("a truncated PNG was imported")
        } catch let TesseraError.data(file, message) {
            #expect(file.hasSuffix("usr/share/openclipart/png/food/fruit/apple_01.png"))
            #expect(!message.contains("\n"))
        }
        #expect(!FileIO.exists(root + "/set"))
    }

    @Test func missingPackageIsNamed() throws {
        let root = tempDirectory("nopkg")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(
            throws: TesseraError.data(
                file: root + "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
                "missing: unpack Debian package fonts-noto-color-emoji into \(root) (scripts/data/captioned.sh does)")
        ) {
            _ = try DebianImageSources.load([.noto], root: root)
        }
        let r = try runTessera(["data", "import", "captioned", "--from", root, "--out", root + "/out"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("unpack Debian package openclipart-png"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func splitIsByCaptionAndStratifiedByCategory() throws {
        // 3 categories × 30 captions × 2 images each (different shades), one tiny category.
        var sources: [CaptionedImport.Source] = []
        for c in 0..<3 {
            for k in 0..<30 {
                for copy in 0..<2 {
                    let shade = UInt8(c * 60 + copy * 30 + k % 2), extra = UInt8(k)
                    sources.append(
                        .init(source: "s", category: "kind/c\(c)", caption: "thing \(c) \(k)", attributes: [:]) {
                            var px = [UInt8](repeating: shade, count: 4 * 4 * 3)
                            px[0] = extra
                            return RGBImage(width: 4, height: 4, pixels: px)
                        })
                }
            }
        }
        sources.append(
            .init(source: "s", category: "kind/tiny", caption: "lonely", attributes: [:]) {
                RGBImage(width: 4, height: 4, pixels: [UInt8](repeating: 250, count: 48))
            })
        let dir = tempDirectory("split")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = CaptionedImport.Options()
        o.side = 4; o.minCategory = 5; o.valEvery = 10
        let s = try CaptionedImport.run(
            sources, to: dir + "/set", options: o, overwrite: false, pool: Parallel(threads: 2))
        #expect(s.perCategory["kind/other"] == 1 && s.perCategory["kind/tiny"] == nil)
        let items = try CaptionedImageFolder(dir: dir + "/set").items
        var splitOf: [String: Set<String>] = [:]
        for i in items { splitOf[i.caption, default: []].insert(i.split) }
        #expect(splitOf.values.allSatisfy { $0.count == 1 })  // a caption never straddles the split
        for c in 0..<3 {  // 3 of 30 captions per category
            #expect(
                Set(items.filter { $0.attributes["category"] == "kind/c\(c)" && $0.split == "val" }.map(\.caption))
                    .count == 3)
        }
    }
}
