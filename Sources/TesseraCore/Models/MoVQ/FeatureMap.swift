/// A [batch, C, H, W] map in a flat buffer allocated for `maxBatch` images.
public final class FeatureMap {
    public let channels, height, width, maxBatch: Int
    public let buffer: FloatBuffer
    public init(_ c: Int, _ h: Int, _ w: Int, maxBatch: Int) {
        channels = c; height = h; width = w; self.maxBatch = maxBatch
        buffer = FloatBuffer(count: max(1, c * h * w * maxBatch))
    }
    public var size: Int { channels * height * width }
    public var p: UnsafeMutablePointer<Float> { buffer.pointer }
    func count(_ batch: Int) -> Int { size * batch }
}
