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
    return dir
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
