import Foundation
import TesseraCore
import Testing

/// oneDNN's team size is the OpenMP `nthreads` value of the calling thread, not of the process:
/// each call must set its own. (A primitive made for 2 threads and run by a team of 1 sums some
/// gradients in another order: the full suite once saw other bits from a conv test on 2 threads
/// while another test called oneDNN on 1.)
@Suite struct OneDNNThreadTests {
    /// Thread A calls oneDNN on 1 thread, thread B on 2, then A on 2: A's team must be 2. (A
    /// process-wide note of "the count last set", as DNNL once kept, skipped A's switch back to 2
    /// and this test failed.)
    @Test func eachCallingThreadGetsTheTeamItAskedFor() {
        let x = [Float](repeating: 1.5, count: 64)
        var y = [UInt16](repeating: 0, count: 64)
        func convert(threads: Int) -> Int {
            DNNL.shared.toBF16(x, &y, count: 64, threads: threads, viaOneDNN: true)
            return DNNL.callingThreadTeamSize
        }
        let a = PinnedThread(), b = PinnedThread()
        defer {
            a.stop()
            b.stop()
        }
        #expect(a.run { convert(threads: 1) } == 1)
        #expect(b.run { convert(threads: 2) } == 2)
        #expect(a.run { convert(threads: 2) } == 2)
        #expect(b.run { convert(threads: 1) } == 1)
    }
}

/// One OS thread that runs the closures given to it, one after another (a DispatchQueue may hop
/// between threads; OpenMP's settings belong to a thread).
final class PinnedThread: @unchecked Sendable {
    private let ready = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
    private var job: (() -> Void)?
    private var stopping = false

    init() {
        let thread = Thread { [self] in
            while true {
                ready.wait()
                if stopping { return }
                job?()
                done.signal()
            }
        }
        thread.start()
    }

    func run<T>(_ body: @escaping () -> T) -> T {
        var result: T?
        job = { result = body() }
        ready.signal()
        done.wait()
        return result!
    }

    func stop() {
        stopping = true
        ready.signal()
    }
}
