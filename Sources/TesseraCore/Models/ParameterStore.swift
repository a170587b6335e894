/// All parameters of a model in one flat buffer, and their gradients in a second one with the
/// same layout, addressed by name.
///
/// The transformer's names and shapes are declared in `TransformerWeights`.
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
