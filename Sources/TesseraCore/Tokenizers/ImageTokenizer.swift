import Foundation

/// A trained MoVQ tokenizer loaded from a `tessera train` (task: vq) checkpoint: images ↔ code grids.
/// `path` may be a checkpoint directory (config.json + model.safetensors [+ ema.safetensors]) or a
/// run directory, whose newest complete checkpoint is used. The EMA weights are used when present,
/// as they are the ones the run evaluated.
public final class ImageTokenizer {
    public let config: MoVQConfig
    public let model: MoVQModel
    public let checkpoint: String
    /// FNV-1a of the weights file: names exactly which tokenizer made a set of codes.
    public let hash: String
    public let weightsFile: String

    /// `useEMA: false` loads the raw training weights even when EMA weights exist.
    public init(path: String, maxBatch: Int, pool: Parallel, useEMA: Bool = true) throws {
        let dir = try Checkpoint.resolve(path, role: "the image tokenizer")
        let configPath = dir.appendingPathComponent("config.json")
        guard FileIO.exists(configPath) else {
            throw TesseraError.data(file: configPath, "missing: not a tokenizer checkpoint")
        }
        let vq = try VQTrainConfig.load(json: configPath)
        config = vq.model
        checkpoint = dir
        let ema = dir.appendingPathComponent("ema.safetensors")
        weightsFile = useEMA && FileIO.exists(ema) ? ema : dir.appendingPathComponent("model.safetensors")
        model = MoVQModel(config: config, maxBatch: maxBatch, pool: pool)
        // Encodes and decodes with the engine it trained on; bf16 ones in fp32 on a CPU without bf16.
        model.workspace.convolutions =
            vq.engine == .onednnBF16 && Precision.bf16.unsupported() != nil ? .onednn : vq.engine
        try Checkpoint.loadParameters(file: weightsFile, into: model.params)
        hash = TokenShards.fnv1a(try FileIO.read(weightsFile))
    }

    /// Codes of every image of `set` ([count · tokensPerImage], raster order per image).
    public func encode(_ set: ImageSet, progress: ((Int) -> Void)? = nil) -> [Int32] {
        precondition(set.side == config.resolution)
        let per = config.tokensPerImage, b = model.maxBatch
        var codes = [Int32](repeating: 0, count: set.count * per)
        let buffer = FloatBuffer(count: b * model.imageSize)
        var first = 0
        while first < set.count {
            let n = min(b, set.count - first)
            set.fill(Array(first..<(first + n)), into: buffer.pointer)
            model.encode(buffer.pointer, batch: n, countUsage: false)
            for i in 0..<(n * per) { codes[first * per + i] = model.indices[i] }
            first += n
            progress?(first)
        }
        return codes
    }

    /// Images (CHW bytes) decoded from `count` code grids.
    public func decode(_ codes: [Int32], count: Int) throws -> [[UInt8]] {
        let per = config.tokensPerImage
        guard codes.count == count * per else {
            throw TesseraError.data(file: "codes", "\(codes.count) codes do not make \(count) grids of \(per)")
        }
        if let bad = codes.first(where: { $0 < 0 || Int($0) >= config.nEmbed }) {
            throw TesseraError.data(file: "codes", "code \(bad) is outside the codebook of \(config.nEmbed)")
        }
        var out: [[UInt8]] = []
        var first = 0
        let size = model.imageSize
        while first < count {
            let n = min(model.maxBatch, count - first)
            codes.withUnsafeBufferPointer { model.setCodes($0.baseAddress! + first * per, batch: n) }
            let recon = model.decodeQuant(batch: n)
            for k in 0..<n { out.append((0..<size).map { ImageMetrics.byte(recon.p[k * size + $0]) }) }
            first += n
        }
        return out
    }

    /// CHW bytes → an RGB image.
    public static func image(_ chw: [UInt8], side: Int) -> RGBImage {
        let n = side * side
        var px = [UInt8](repeating: 0, count: 3 * n)
        for p in 0..<n { for c in 0..<3 { px[3 * p + c] = chw[c * n + p] } }
        return RGBImage(width: side, height: side, pixels: px)
    }
}

extension ImageTokenizer {
    /// Whether `path` (a checkpoint or run directory) holds an image tokenizer (config task: vq).
    public static func isImageTokenizer(_ path: String) throws -> Bool {
        if FileIO.exists(path.appendingPathComponent("config.json")) { return try RunDirectory.savedTask(path) == "vq" }
        guard let newest = Checkpoint.list(runDir: path).first else { return false }
        return try RunDirectory.savedTask(newest.path) == "vq"
    }
}
