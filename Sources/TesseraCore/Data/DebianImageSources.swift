import Foundation

/// Where the real captioned images live inside the Debian packages, unpacked (`dpkg -x`) into one
/// root: the source kinds of `tessera data import captioned` and the package each one needs.
public enum DebianImageSources: String, CaseIterable {
    case openclipart, noto, gemojione

    /// (path inside the root, Debian package) pairs the source reads.
    public var needs: [(path: String, package: String)] {
        switch self {
        case .openclipart:
            return [("usr/share/openclipart/png", "openclipart-png"), ("usr/share/openclipart/svg", "openclipart-svg")]
        case .noto:
            return [
                ("usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", "fonts-noto-color-emoji"),
                ("usr/share/unicode/emoji/emoji-test.txt", "unicode-data"),
                ("usr/share/unicode/cldr/common/annotations/en.xml", "unicode-cldr-core"),
            ]
        case .gemojione:
            return [
                ("usr/share/rubygems-integration/all/gems", "ruby-gemojione"),
                ("usr/share/unicode/emoji/emoji-test.txt", "unicode-data"),
            ]
        }
    }

    /// Licence of the images, for the dataset's record.
    public var licence: String {
        switch self {
        case .openclipart: return "public domain (Open Clip Art Library; Debian openclipart-png copyright)"
        case .noto: return "SIL Open Font License 1.1 (font); Unicode License v3 (names, CLDR keywords)"
        case .gemojione: return "CC-BY-SA-4.0 (EmojiOne 2 art, Ranks.com); names from the gem's index"
        }
    }

    /// The sources' images, checking first that every package they need is unpacked in `root`.
    public static func load(
        _ kinds: [DebianImageSources], root: String
    ) throws -> (sources: [CaptionedImport.Source], excluded: [String: Int]) {
        for kind in kinds {
            for (path, package) in kind.needs where !FileIO.exists(root.appendingPathComponent(path)) {
                throw TesseraError.data(
                    file: root.appendingPathComponent(path),
                    "missing: unpack Debian package \(package) into \(root) (scripts/data/captioned.sh does)")
            }
        }
        func at(_ p: String) -> String { root.appendingPathComponent(p) }
        var names: EmojiNames?
        func emojiNames() throws -> EmojiNames {
            if let names { return names }
            var n = try EmojiNames(emojiTest: at("usr/share/unicode/emoji/emoji-test.txt"))
            let cldr = at("usr/share/unicode/cldr/common/annotations/en.xml")
            if FileIO.exists(cldr) { try n.readAnnotations(cldr) }
            names = n
            return n
        }
        var sources: [CaptionedImport.Source] = []
        var excluded: [String: Int] = [:]
        for kind in kinds {
            switch kind {
            case .openclipart:
                let r = try CaptionedImport.openClipArt(
                    pngRoot: at("usr/share/openclipart/png"), svgRoot: at("usr/share/openclipart/svg"))
                sources += r.sources
                excluded.merge(r.excluded) { a, _ in a }
            case .noto:
                let font = try ColourBitmapFont(path: at("usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"))
                sources += CaptionedImport.colourFont(font, names: try emojiNames())
            case .gemojione:
                let gems = at("usr/share/rubygems-integration/all/gems")
                let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: gems)) ?? []).filter {
                    $0.hasPrefix("gemojione-")
                }.sorted()
                guard let gem = dirs.last else {
                    throw TesseraError.data(
                        file: gems, "holds no gemojione-<version> directory (Debian ruby-gemojione)")
                }
                sources += try CaptionedImport.gemojione(
                    root: gems.appendingPathComponent(gem), names: try emojiNames())
            }
        }
        return (sources, excluded)
    }
}
