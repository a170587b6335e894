import ArgumentParser
import Foundation
import TesseraCore

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make and check image datasets (a folder of PNGs with captions.jsonl).",
        subcommands: [DataShapes.self, DataImport.self, DataCheck.self])
}

struct DataShapes: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shapes",
        abstract: "Write the seeded synthetic captioned-shapes dataset (shape, colour, size, position → caption).")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Number of images.") var count: Int = 1000
    @Option(help: "Held-out images (the last ones).") var val: Int = 100
    @Option(help: "Image side in pixels.") var size: Int = 16
    @Option(help: "Seed.") var seed: UInt64 = 1337
    @Flag(help: "Replace an existing folder.") var overwrite = false

    func validate() throws {
        guard count >= 1, val >= 0, val < count, size >= 8, size <= 1024 else {
            throw TesseraError.config("--count ≥ 1, 0 ≤ --val < --count and 8 ≤ --size ≤ 1024 are required")
        }
    }

    func run() throws {
        try FileIO.buildDirectory(out, overwrite: overwrite) {
            try CaptionedImageFolder.writeShapes(to: $0, seed: seed, side: size, count: count, valCount: val)
        }
        Console.log("wrote \(count) \(size)×\(size) images (\(val) held out) → \(out)")
    }
}

struct DataImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a Debian image dataset to a captioned image folder.",
        discussion: """
            fashion-mnist: --from is dataset-fashion-mnist's usr/share/datasets/fashion-mnist (the four \
            IDX .gz files); 60,000 train and 10,000 val images, captions "a photo of a <class>".
            emoji: --from is ruby-gemojione's gem directory (config/index.json, assets/png); captions are \
            the emoji names, every 10th name (by hash) held out. scripts/data/{fashion-mnist,emoji}.sh \
            fetch the packages and run this.
            captioned: --from is a root into which Debian packages are unpacked (dpkg -x): Open Clip Art \
            (openclipart-png, openclipart-svg for titles), Noto Color Emoji (fonts-noto-color-emoji, \
            unicode-data, unicode-cldr-core) and EmojiOne 2 (ruby-gemojione) merged into one set of \
            --size × --size images with source, category and caption, identical images once, held out \
            by caption and stratified by category; import.json records the counts. \
            scripts/data/captioned.sh fetches the packages and runs this.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case fashionMNIST = "fashion-mnist", emoji, captioned }

    @Argument(help: "fashion-mnist | emoji | captioned") var kind: Kind
    @Option(help: "Source directory.") var from: String
    @Option(help: "Output folder.") var out: String
    @Option(help: "At most this many images per split (0: all; fashion-mnist only).") var limit: Int = 0
    @Option(help: "Image side of the merged set (captioned only).") var size: Int = 32
    @Option(help: "Sources of the merged set, comma-separated (captioned only): openclipart, noto, gemojione.")
    var sources: String = "openclipart,noto,gemojione"
    @OptionGroup var workers: ThreadsOption
    @Flag(help: "Replace an existing folder.") var overwrite = false

    func validate() throws {
        guard limit >= 0 else { throw TesseraError.config("--limit must be ≥ 0, got \(limit)") }
        guard (8...256).contains(size) else { throw TesseraError.config("--size must be 8…256, got \(size)") }
        _ = try sourceList()
    }

    /// --sources as a list: known names, each once, at least one.
    func sourceList() throws -> [DebianImageSources] {
        var kinds: [DebianImageSources] = []
        for name in sources.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let k = DebianImageSources(rawValue: name) else {
                throw TesseraError.config("--sources: unknown source \"\(name)\" (openclipart, noto, gemojione)")
            }
            if !kinds.contains(k) { kinds.append(k) }
        }
        guard !kinds.isEmpty else { throw TesseraError.config("--sources names no source") }
        return kinds
    }

    func run() throws {
        guard FileIO.isDirectory(from) else { throw TesseraError.config("--from \(from) is not a directory") }
        switch kind {
        case .captioned: try importCaptioned()
        case .fashionMNIST, .emoji:
            let (train, val) = try FileIO.buildDirectory(out, overwrite: overwrite) { dir in
                kind == .emoji
                    ? try ImageImporters.emoji(from: from, to: dir)
                    : try ImageImporters.fashionMNIST(from: from, to: dir, limit: limit)
            }
            Console.log("wrote \(train) train + \(val) val images → \(out)")
        }
    }

    func importCaptioned() throws {
        let kinds = try sourceList()
        let (images, excluded) = try DebianImageSources.load(kinds, root: from)
        var options = CaptionedImport.Options()
        options.side = size
        let s = try CaptionedImport.run(
            images, to: out, options: options, excluded: excluded,
            licences: Dictionary(uniqueKeysWithValues: kinds.map { ($0.rawValue, $0.licence) }),
            root: from.standardizingPath, overwrite: overwrite,
            pool: Parallel(threads: workers.threads)
        ) { Console.log($0) }
        let perSource = s.perSource.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        Console.log(
            "wrote \(s.train) train + \(s.val) val \(size)×\(size) images → \(out) (\(s.duplicates) duplicates, "
                + "\(s.tooLarge.count) over the pixel limit; per source \(perSource))")
    }
}

struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Read every caption and image of a dataset folder; one-line error on the first problem.")

    @Argument(help: "Dataset folder (captions.jsonl + images).") var dir: String

    func run() throws {
        let ds = try CaptionedImageFolder(dir: dir)
        var sizes: [String: Int] = [:]
        for item in ds.items {
            let img = try ds.image(item)
            sizes["\(img.width)×\(img.height)", default: 0] += 1
        }
        let train = ds.items.filter { $0.split == "train" }.count
        Console.out("\(ds.items.count) images (\(train) train, \(ds.items.count - train) val); sizes \(sizes)")
    }
}
