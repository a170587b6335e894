/// Parameters live in one `ParameterStore` under SBER-MoVQGAN's names; a block holds `Param`
/// handles that are bound to the store's memory once it exists.

/// A named tensor in the store, resolved after the whole network has been declared.
public final class Param {
    public let name: String
    public let shape: [Int]
    public enum Init { case uniform(Float), normal(mean: Float, std: Float), ones, zeros }
    let initializer: Init
    var value: UnsafeMutablePointer<Float>!
    var grad: UnsafeMutablePointer<Float>!
    init(_ name: String, _ shape: [Int], _ initializer: Init) {
        self.name = name; self.shape = shape; self.initializer = initializer
    }
    var count: Int { shape.reduce(1, *) }
}
