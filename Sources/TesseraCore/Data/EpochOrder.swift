/// The order in which a data set of `count` items is visited: epoch e is a Fisher–Yates permutation
/// drawn from the stream "<name>/epoch-e", so item p of the whole run is a pure function of
/// (seed, p) and a resume continues it exactly. The current epoch's permutation is kept, so
/// consecutive lookups cost O(1) and a new epoch is shuffled once.
public final class EpochOrder: @unchecked Sendable {
    public let count: Int
    let seed: UInt64
    let name: String
    private var epoch = -1
    private var order: [Int] = []

    public init(count: Int, seed: UInt64, name: String) {
        precondition(count > 0)
        self.count = count; self.seed = seed; self.name = name
    }

    /// Item visited at global position `p`.
    public func index(_ p: Int) -> Int {
        let e = p / count
        if e != epoch {
            order = Array(0..<count)
            var rng = RandomStream(seed: seed, name: "\(name)/epoch-\(e)")
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(below: i + 1)) }
            epoch = e
        }
        return order[p % count]
    }
}
