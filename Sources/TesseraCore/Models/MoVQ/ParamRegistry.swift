/// Collects parameter declarations in order, then makes the store and binds every handle to it.
public final class ParamRegistry {
    private(set) var params: [Param] = []
    /// Multiply-adds ×2 per image of every convolution and attention product, by module path
    /// (for benchmarks' GFLOP/s).
    var flops: [(name: String, perImage: Double)] = []
    /// Every convolution's shape at the model's largest batch, by module path (`bench conv`).
    var convolutions: [(name: String, shape: Conv2dShape)] = []
    func add(_ name: String, _ shape: [Int], _ initializer: Param.Init) -> Param {
        let p = Param(name, shape, initializer)
        params.append(p)
        return p
    }
    /// Draws every parameter from its initializer, each tensor from its own named stream.
    func initialize(seed: UInt64) {
        for p in params {
            let v = p.value!
            switch p.initializer {
            case .ones: v.update(repeating: 1, count: p.count)
            case .zeros: v.update(repeating: 0, count: p.count)
            case .uniform(let bound):
                var rng = RandomStream(seed: seed, name: "init/" + p.name)
                for i in 0..<p.count { v[i] = (rng.uniform() * 2 - 1) * bound }
            case .normal(let mean, let std):
                var rng = RandomStream(seed: seed, name: "init/" + p.name)
                for i in 0..<p.count { v[i] = mean + std * rng.normal() }
            }
        }
    }

    func makeStore() -> ParameterStore {
        let store = ParameterStore(shapes: params.map { ($0.name, $0.shape) })
        for p in params { p.value = store.value(p.name); p.grad = store.grad(p.name) }
        return store
    }
}
