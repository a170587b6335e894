import Dispatch

/// Wall time per named phase, accumulated across calls (`tessera bench train --profile`).
public final class PhaseTimer {
    public private(set) var totals: [String: Double] = [:]
    public private(set) var order: [String] = []

    public init() {}

    @inline(__always)
    public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try body()
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if totals[name] == nil { order.append(name) }
        totals[name, default: 0] += dt
        return r
    }

    public func add(_ name: String, _ seconds: Double) {
        if totals[name] == nil { order.append(name) }
        totals[name, default: 0] += seconds
    }

    public func reset() { totals = [:]; order = [] }
}

extension Optional where Wrapped == PhaseTimer {
    /// Runs `body`, timing it when a timer is attached.
    @inline(__always)
    func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        if let t = self { return try t.measure(name, body) }
        return try body()
    }
}
