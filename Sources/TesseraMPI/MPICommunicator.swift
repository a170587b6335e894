import CMPI
import Foundation
import TesseraCore

/// Open MPI behind `Communicator`. Created only when the process was started by mpirun (its
/// environment says so), so a plain `tessera train` pays no MPI initialisation. MPI is called from
/// the main thread only (the Dispatch workers never communicate), so MPI_Init's default thread
/// level suffices.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// Ranks on this machine (to split the machine's threads between them).
    public let localSize: Int
    public private(set) var allreduceSeconds = 0.0
    let comm = tessera_mpi_comm_world()
    /// Gradients are reduced in buckets of this many floats: bounded temporary memory inside MPI,
    /// and the first bucket's transfer starts before the whole buffer is walked.
    static let bucket = 1 << 20

    /// The communicator of this mpirun job, or nil when the process was not started by a launcher.
    public static func fromEnvironment() -> MPICommunicator? {
        let env = ProcessInfo.processInfo.environment
        guard let n = env["OMPI_COMM_WORLD_SIZE"] ?? env["PMIX_SIZE"] ?? env["PMI_SIZE"], Int(n) != nil else {
            return nil
        }
        return MPICommunicator(localSize: Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1)
    }

    init(localSize: Int) {
        MPI_Init(nil, nil)
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r); size = Int(s); self.localSize = max(1, localSize)
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        let t0 = MPI_Wtime()
        var offset = 0
        while offset < count {
            let n = min(Self.bucket, count - offset)
            check(
                MPI_Allreduce(
                    tessera_mpi_in_place(), buffer + offset, Int32(n), tessera_mpi_float(), tessera_mpi_sum(), comm),
                "MPI_Allreduce")
            offset += n
        }
        allreduceSeconds += MPI_Wtime() - t0
    }

    public func allreduceSum(_ values: inout [Double]) {
        let n = Int32(values.count)
        values.withUnsafeMutableBufferPointer {
            check(
                MPI_Allreduce(
                    tessera_mpi_in_place(), $0.baseAddress!, n, tessera_mpi_double(), tessera_mpi_sum(), comm),
                "MPI_Allreduce")
        }
    }

    public func allreduceMax(_ value: Int32) -> Int32 {
        var v = value
        check(MPI_Allreduce(tessera_mpi_in_place(), &v, 1, tessera_mpi_int(), tessera_mpi_max(), comm), "MPI_Allreduce")
        return v
    }

    public func broadcast(_ value: String) -> String {
        var bytes = Array(value.utf8).map { CChar(bitPattern: $0) }
        var n = Int32(bytes.count)
        check(MPI_Bcast(&n, 1, tessera_mpi_int(), 0, comm), "MPI_Bcast")
        if rank != 0 { bytes = [CChar](repeating: 0, count: Int(n)) }
        if n > 0 { check(MPI_Bcast(&bytes, n, tessera_mpi_char(), 0, comm), "MPI_Bcast") }
        return String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func barrier() { check(MPI_Barrier(comm), "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    public func finalize() { MPI_Finalize() }

    /// A config's thread count shared by the ranks on this machine (at least one each).
    public func threads(forConfigured n: Int) -> Int { max(1, n / localSize) }

    /// Open MPI's default handler already aborts the job on a failed call; this covers a
    /// handler set otherwise.
    func check(_ rc: Int32, _ what: String) {
        guard rc != MPI_SUCCESS else { return }
        FileHandle.standardError.write(
            Data("tessera: rank \(rank): \(what) failed (MPI error \(rc)); aborting the job\n".utf8))
        abort(code: 1)
    }
}
