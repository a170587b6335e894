import Foundation
import TesseraCore
import Testing

enum Fixtures {
    static func path(_ name: String) -> String {
        Bundle.module.bundleURL.appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }
}

/// max |a − b| / max |b|: the relative error of a whole tensor, robust to entries near zero.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        num = max(num, Double(abs(a[i] - b[i])))
        den = max(den, Double(abs(b[i])))
    }
    return den == 0 ? num : num / den
}

func tempDirectory(_ tag: String = "t") -> String {
    let dir = NSTemporaryDirectory() + "tessera-test-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    TemporaryDirectories.shared.add(dir)
    return dir
}

/// Every directory `tempDirectory` made, removed when the test process exits (Swift Testing has
/// no suite-wide teardown), so a run of the suite leaves nothing in /tmp.
final class TemporaryDirectories: @unchecked Sendable {
    static let shared: TemporaryDirectories = {
        let t = TemporaryDirectories()
        atexit { TemporaryDirectories.shared.removeAll() }
        return t
    }()
    private let lock = NSLock()
    private var dirs: [String] = []

    func add(_ dir: String) { lock.lock(); dirs.append(dir); lock.unlock() }

    func removeAll() {
        lock.lock(); defer { lock.unlock() }
        for d in dirs {
            // Read-only leftovers (the file-system failure tests) are made writable first.
            _ = chmod(d, 0o755)
            try? FileManager.default.removeItem(atPath: d)
        }
        dirs.removeAll()
    }
}

/// Path of the built `tessera` executable: it sits beside the test bundle.
func tesseraBinary() -> String {
    let dir = Bundle.module.bundleURL.deletingLastPathComponent()
    return dir.appendingPathComponent("tessera").path
}

struct RunResult { let status: Int32; let stdout: String; let stderr: String }

/// Runs the CLI with arguments and returns its exit status and output.
func runTessera(_ args: [String], cwd: String? = nil, env: [String: String] = [:]) throws -> RunResult {
    try runProcess(tesseraBinary(), args, cwd: cwd, env: env)
}

/// Runs one of scripts/ with bash, the test build of `tessera` as $TESSERA_BIN.
func runScript(_ name: String, _ args: [String], env: [String: String] = [:]) throws -> RunResult {
    try runProcess(
        "/bin/bash", [packageRoot + "/scripts/" + name] + args,
        env: env.merging(["TESSERA_BIN": tesseraBinary()]) { a, _ in a })
}

func runProcess(
    _ executable: String, _ args: [String], cwd: String? = nil, env: [String: String] = [:]
) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(
        status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
        stderr: String(decoding: e, as: UTF8.self))
}

/// The package root (configs/ and the embedded corpus live there).
let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A small byte-level training config for tests; `extra` is appended YAML.
func testConfigYAML(steps: Int, extra: String = "") -> String {
    """
    seed: 7
    threads: 2
    model: {d_model: 32, n_layers: 2, n_heads: 4, n_kv_heads: 2, vocab_size: 256, ffn_hidden: 64, norm: rmsnorm, rope: half}
    data: {train: \(packageRoot)/configs/corpus/pride-and-prejudice.txt, val_fraction: 0.05, seq_len: 32}
    optim: {steps: \(steps), micro_batch: 4, batch_tokens: 256, lr: 3.0e-3, min_lr: 3.0e-4, warmup_steps: 3, grad_clip: 1.0}
    eval: {every: 4, tokens: 2048}
    checkpoint: {every: 3, keep_last: 2}
    log_every: 1
    \(extra)
    """
}

/// Central finite differences for every layer's gradient check: L = Σ y·r with r fixed and
/// random, accumulated in Double, step h = 1e-2 (float32 layers); the largest
/// |finite difference − analytic| over the checked entries must be ≤ 1e-2 · max |analytic|.
enum FiniteDifferences {
    static let tolerance = 1e-2

    static func random(_ n: Int, _ name: String, scale: Float = 1) -> [Float] {
        var r = RandomStream(seed: 99, name: name)
        return (0..<n).map { _ in r.normal() * scale }
    }

    static func dot(_ y: UnsafePointer<Float>, _ r: [Float]) -> Double {
        var s = 0.0
        for i in 0..<r.count { s += Double(y[i]) * Double(r[i]) }
        return s
    }

    /// Relative error of `analytic` against finite differences of `loss` w.r.t. `x`.
    static func check(
        _ x: inout [Float], analytic: [Float], samples: Int = 120, h: Float = 1e-2,
        _ loss: ([Float]) -> Double
    ) -> Double {
        precondition(x.count == analytic.count)
        var idx = Array(0..<x.count)
        if x.count > samples {
            var r = RandomStream(seed: 5, name: "fd/sample")
            idx = (0..<samples).map { _ in r.int(below: x.count) }
        }
        var maxErr = 0.0
        for i in idx {
            let saved = x[i]
            x[i] = saved + h
            let up = loss(x)
            x[i] = saved - h
            let down = loss(x)
            x[i] = saved
            let fd = (up - down) / Double(2 * h)
            maxErr = max(maxErr, abs(fd - Double(analytic[i])))
        }
        let scale = analytic.map { abs(Double($0)) }.max() ?? 0
        return scale == 0 ? maxErr : maxErr / scale
    }
}
