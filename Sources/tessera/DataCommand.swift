import ArgumentParser
import Foundation
import TesseraCore

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Make and check image datasets (a folder of PNGs with captions.jsonl).",
        subcommands: [DataShapes.self, DataCheck.self])
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

    func run() throws {
        try guarded {
            guard count >= 1, val >= 0, val < count, size >= 8, size <= 1024 else {
                throw TesseraError.config("--count ≥ 1, 0 ≤ --val < --count and 8 ≤ --size ≤ 1024 are required")
            }
            try FileIO.prepareOutputDirectory(out, overwrite: overwrite)
            try CaptionedImageFolder.writeShapes(to: out, seed: seed, side: size, count: count, valCount: val)
            Console.log("wrote \(count) \(size)×\(size) images (\(val) held out) → \(out)")
        }
    }
}

struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Read every caption and image of a dataset folder; one-line error on the first problem.")

    @Argument(help: "Dataset folder (captions.jsonl + images).") var dir: String

    func run() throws {
        try guarded {
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
}
