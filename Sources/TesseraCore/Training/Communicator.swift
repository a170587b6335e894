import Foundation

/// The collective operations data-parallel training needs. `SingleProcess` is the identity; the
/// Open MPI implementation lives in the TesseraMPI target, so the core never links MPI itself.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// In-place sum over all ranks of `count` floats (the gradient buffer).
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// In-place sum over all ranks of a few doubles (losses, target counts).
    func allreduceSum(_ values: inout [Double])
    /// The largest value over all ranks (a stop request any rank received).
    func allreduceMax(_ value: Int32) -> Int32
    /// Rank 0's string, on every rank.
    func broadcast(_ value: String) -> String
    func barrier()
    /// Ends every rank of the job with `code` (a rank that fails must not leave the others waiting).
    func abort(code: Int32) -> Never
    /// Seconds spent in allreduceSum of floats since the start (the benchmark reports it).
    var allreduceSeconds: Double { get }
}

public extension Communicator {
    var isRoot: Bool { rank == 0 }
}

/// One process: every collective is the identity.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSum(_ values: inout [Double]) {}
    public func allreduceMax(_ value: Int32) -> Int32 { value }
    public func broadcast(_ value: String) -> String { value }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
    public var allreduceSeconds: Double { 0 }
}
