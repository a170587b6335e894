import Foundation

/// Images of one split held in memory as bytes, CHW, centre-cropped and resized to a square
/// side; converted to floats in [−1, 1] (x/127.5 − 1, as MoVQGAN) one batch at a time.
public struct ImageSet {
    public let side: Int
    public let count: Int
    public let captions: [String]
    /// [count, 3, side, side] bytes.
    public let pixels: [UInt8]

    public var imageSize: Int { 3 * side * side }

    public init(side: Int, captions: [String], pixels: [UInt8]) {
        precondition(pixels.count == captions.count * 3 * side * side)
        self.side = side; self.captions = captions; self.pixels = pixels; count = captions.count
    }

    /// CHW bytes of an RGB image made square and `side`×`side`.
    public static func chw(_ image: RGBImage, side: Int) -> [UInt8] {
        let img =
            image.width == side && image.height == side
            ? image : image.centreCropSquare().resized(width: side, height: side)
        var out = [UInt8](repeating: 0, count: 3 * side * side)
        let n = side * side
        for p in 0..<n { for c in 0..<3 { out[c * n + p] = img.pixels[3 * p + c] } }
        return out
    }

    /// One split of a captioned image folder; decoding runs on `pool`. The first unreadable
    /// image ends the load with an error naming its file. With `label`, the set's "captions" are
    /// that field of each row instead (a class: `category` of the real captioned set).
    public static func load(
        folder: CaptionedImageFolder, split: String, side: Int, pool: Parallel, label: String? = nil
    ) throws -> ImageSet {
        let items = folder.items.filter { $0.split == split }
        let file = folder.dir.appendingPathComponent("captions.jsonl")
        guard !items.isEmpty else { throw TesseraError.data(file: file, "has no \(split) images") }
        var texts = items.map(\.caption)
        if let label {
            texts = try items.map { item in
                guard let v = item.attributes[label] else {
                    throw TesseraError.data(file: file, "\(item.file) has no \"\(label)\" field")
                }
                return v
            }
        }
        let (pixels, errors) = decode(count: items.count, size: 3 * side * side, pool: pool) {
            chw(try folder.image(items[$0]), side: side)
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        return ImageSet(side: side, captions: texts, pixels: pixels)
    }

    /// `count` images of `size` bytes each made on `pool` into one buffer; image i's error, if any,
    /// at errors[i] (its bytes stay zero).
    public static func decode(
        count: Int, size: Int, pool: Parallel, _ make: (Int) throws -> [UInt8]
    ) -> (pixels: [UInt8], errors: [Error?]) {
        var pixels = [UInt8](repeating: 0, count: count * size)
        var errors = [Error?](repeating: nil, count: count)
        pixels.withUnsafeMutableBufferPointer { px in
            errors.withUnsafeMutableBufferPointer { err in
                pool.forEachChunk(count, grain: 16) { r in
                    for i in r {
                        do {
                            let b = try make(i)
                            precondition(b.count == size)
                            for j in 0..<size { px[i * size + j] = b[j] }
                        } catch { err[i] = error }
                    }
                }
            }
        }
        return (pixels, errors)
    }

    /// The synthetic shapes: images [first, first + count) of the seeded generator.
    public static func shapes(seed: UInt64, side: Int, first: Int, count: Int) -> ImageSet {
        let gen = ShapesGenerator(seed: seed, side: side)
        var pixels: [UInt8] = []
        var captions: [String] = []
        pixels.reserveCapacity(count * 3 * side * side)
        for i in first..<(first + count) {
            let s = gen.sample(i)
            pixels += chw(s.image, side: side)
            captions.append(s.caption)
        }
        return ImageSet(side: side, captions: captions, pixels: pixels)
    }

    /// Images `indices` as floats in [−1, 1] into `out` ([n, 3, side, side]).
    public func fill(_ indices: [Int], into out: UnsafeMutablePointer<Float>) {
        let size = imageSize
        for (k, i) in indices.enumerated() {
            let src = i * size, dst = out + k * size
            for j in 0..<size { dst[j] = Float(pixels[src + j]) / 127.5 - 1 }
        }
    }
}

extension ImageSet {
    /// The first `n` images (all when fewer).
    public func prefix(_ n: Int) -> ImageSet {
        let k = min(n, count)
        return ImageSet(side: side, captions: Array(captions.prefix(k)), pixels: Array(pixels.prefix(k * imageSize)))
    }
}
