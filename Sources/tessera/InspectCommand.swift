import ArgumentParser
import Foundation
import TesseraCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read and check any file Tessera reads, and summarise it.",
        discussion: """
            By kind: *.safetensors (tensors, dtypes, shapes, metadata), *.gguf (metadata, tensors), *.png, *.gz (gzip'd IDX), \
            *.ttf / *.otf (a colour-bitmap emoji font: cmap, CBLC, CBDT), \
            tokenizer.json / vocab.json (vocabulary, merges, pre-tokenizer, added tokens), *.yaml / *.yml \
            (the resolved config), a token-shard or image-code directory (manifest; every file verified), a checkpoint \
            directory (config, state, weights). A malformed file gives a one-line error and exit 2 (config) \
            or 3 (data).
            """)

    @Argument(help: "File or directory.") var path: String

    func run() throws {
        if FileIO.isDirectory(path) { return try directory() }
        if path.hasSuffix(".safetensors") {
            let f = try SafetensorsFile(path: path)
            Console.out("safetensors: \(f.entries.count) tensors, metadata \(f.metadata)")
            for n in f.names { let e = f.entries[n]!; Console.out("  \(n)\t\(e.dtype.rawValue)\t\(e.shape)") }
        } else if path.hasSuffix(".gguf") {
            let g = try GGUFFile(path: path)
            Console.out(
                "GGUF v\(g.version): \(g.metadata.count) metadata keys, \(g.tensors.count) tensors, architecture \(g.metadata["general.architecture"]?.string ?? "?")"
            )
            for n in g.tensorOrder { let t = g.tensors[n]!; Console.out("  \(n)\t\(t.type)\t\(t.dims)") }
            if g.metadata["tokenizer.ggml.model"] != nil {
                let t = try GGUFImport.tokenizer(g)
                Console.out(
                    "  tokenizer: \(t.vocabSize) tokens, \(t.merges.count) merges, pre-tokenizer \(t.preTokenizer.rawValue)"
                )
            }
        } else if path.hasSuffix(".png") {
            let img = try RGBImage.read(path: path)
            Console.out("PNG \(img.width)×\(img.height), read as 8-bit RGB (alpha over white)")
        } else if path.hasSuffix(".ttf") || path.hasSuffix(".otf") {
            let f = try ColourBitmapFont(path: path)
            let drawn = f.glyphs.values.filter { f.bitmaps[$0] != nil }.count
            Console.out(
                "colour bitmap font: \(f.bitmaps.count) PNG bitmaps at \(f.ppem) ppem; \(f.glyphs.count) code points mapped, \(drawn) of them drawn"
            )
        } else if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            Console.out(
                String(
                    decoding: try RunConfig(reader: ConfigFile.reader(path, overrides: [], threads: nil)).json,
                    as: UTF8.self))
        } else if path.hasSuffix(".gz") {
            let raw = try Gzip.decompress(path: path)
            let dims = raw.count >= 4 ? Int(raw[raw.startIndex + 3]) : 0
            guard (1...4).contains(dims) else {
                throw TesseraError.data(file: path, "not an IDX file: \(dims) dimensions in its magic")
            }
            let a = try IDXArray(data: raw, path: path, dimensions: dims)
            Console.out("IDX unsigned bytes, shape \(a.shape)")
        } else if path.hasSuffix(".json") {
            let t = try TokenizerFiles.load(path)
            Console.out(
                "tokenizer: \(t.vocabSize) tokens, \(t.merges.count) merges, pre-tokenizer \(t.preTokenizer.rawValue), added \(t.added.map(\.content))"
            )
        } else {
            throw TesseraError.data(
                file: path,
                "unknown kind of file (expected .safetensors, .gguf, .png, .ttf, .json, .yaml, or a directory)")
        }
    }

    func directory() throws {
        let manifest = path.appendingPathComponent(TokenShards.manifestName)
        if FileIO.exists(manifest),
            (try? JSONSerialization.jsonObject(with: FileIO.read(manifest)) as? [String: Any])?["format"] as? String
                == ImageCodes.format
        {
            let m = try ImageCodes.readManifest(path)
            for name in m.splits.keys.sorted() {
                let s = try ImageCodes.load(dir: path, split: name)
                Console.out("\(name): \(s.captions.count) images × \(m.tokensPerImage) codes, verified")
            }
            Console.out(
                "image codes: \(m.gridSide)×\(m.gridSide) grid, codebook \(m.codebookSize), tokenizer \(m.tokenizer) (\(m.tokenizerHash))"
            )
        } else if FileIO.exists(manifest) {
            let m = try TokenShards.readManifest(path)
            _ = try TokenShards.verifyTokenizer(dir: path, manifest: m)
            for (name, split) in m.splits.sorted(by: { $0.key < $1.key }) {
                _ = try TokenShards.load(dir: path, split: name)
                Console.out("\(name): \(split.tokens) tokens in \(split.shards.count) shard(s), verified")
            }
            Console.out("vocabulary \(m.vocabSize), tokenizer \(m.tokenizer) (\(m.tokenizerHash))")
        } else if FileIO.exists(path.appendingPathComponent("captions.jsonl")) {
            let ds = try CaptionedImageFolder(dir: path)
            for item in ds.items { _ = try ds.image(item) }
            Console.out("image dataset: \(ds.items.count) captioned images, all readable")
        } else if FileIO.exists(path.appendingPathComponent("model.safetensors")),
            (try? ImageTokenizer.isImageTokenizer(path)) == true
        {
            let t = try ImageTokenizer(path: path, maxBatch: 1, pool: Parallel(threads: 1))
            Console.out(
                "image tokenizer: MoVQ \(t.model.params.parameterCount) parameters, \(t.config.resolution)² images → \(t.config.gridSide)² codes of \(t.config.nEmbed), weights \(t.weightsFile.lastPathComponent) (\(t.hash))"
            )
        } else if FileIO.exists(path.appendingPathComponent("model.safetensors")) {
            // As every reader loads one: checksums, shapes against config.json before allocating, finite weights.
            let loaded = try LoadedCheckpoint(path: path, batch: 1, threads: 1, seqLen: 1)
            let c = loaded.config, model = loaded.model
            if FileIO.exists(path.appendingPathComponent("state.json")) {
                let s = try Checkpoint.loadState(path)
                Console.out("checkpoint at step \(s.step), \(s.tokensSeen) tokens")
            }
            Console.out(
                "model: \(model.params.parameterCount) parameters, d_model \(c.model.dModel), \(c.model.nLayers) layers, vocabulary \(c.model.vocabSize)"
            )
        } else {
            throw TesseraError.data(
                file: path,
                "directory is neither token shards (manifest.json), an image dataset (captions.jsonl) nor a checkpoint (model.safetensors)"
            )
        }
    }
}
