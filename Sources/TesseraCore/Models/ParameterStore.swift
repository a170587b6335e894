/// All parameters of a model in one flat buffer, and their gradients in a second one with the
/// same layout, addressed by name.
///
/// Naming scheme (open_lm's, so freezing globs and imports address tensors the same way):
///   tok_embeddings.weight                      [V, d]
///   layers.{i}.attention_norm.{weight,bias}    [d]
///   layers.{i}.attention.in_proj.weight        [(H + 2·Hkv)·hd, d]   rows: q | k | v
///   layers.{i}.attention.out_proj.weight       [d, H·hd]
///   layers.{i}.ffn_norm.{weight,bias}          [d]
///   layers.{i}.feed_forward.w12.weight         [2h, d]               rows: gate | up
///   layers.{i}.feed_forward.w3.weight          [d, h]
///   norm.{weight,bias}                         [d]
///   output.weight                              [V, d]   (absent when embeddings are tied)
/// Biases exist only for LayerNorm with bias; linear layers have none.
public final class ParameterStore {
    public let slots: [TensorSlot]
    public let values: FloatBuffer
    public let grads: FloatBuffer
    private let index: [String: Int]

    public init(shapes: [(String, [Int])]) {
        var slots: [TensorSlot] = []
        var offset = 0
        for (name, shape) in shapes {
            slots.append(TensorSlot(name: name, shape: shape, offset: offset))
            // Keep every tensor 64-byte aligned for the SIMD kernels.
            offset += (shape.reduce(1, *) + 15) / 16 * 16
        }
        self.slots = slots
        values = FloatBuffer(count: offset)
        grads = FloatBuffer(count: offset)
        var index: [String: Int] = [:]
        for (i, s) in slots.enumerated() {
            precondition(index[s.name] == nil, "duplicate parameter name \(s.name)")
            index[s.name] = i
        }
        self.index = index
    }

    public var names: [String] { slots.map(\.name) }
    public var parameterCount: Int { slots.reduce(0) { $0 + $1.count } }

    public func slot(_ name: String) -> TensorSlot? { index[name].map { slots[$0] } }

    public func value(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let s = slot(name) else { fatalError("no parameter named \(name)") }
        return values.pointer + s.offset
    }

    public func grad(_ name: String) -> UnsafeMutablePointer<Float> {
        guard let s = slot(name) else { fatalError("no parameter named \(name)") }
        return grads.pointer + s.offset
    }

    public func zeroGrads() { grads.zero() }
}
