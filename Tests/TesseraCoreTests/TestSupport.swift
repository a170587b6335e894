import Foundation
import Testing
import TesseraCore

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
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tesseraBinary())
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
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: e, as: UTF8.self))
}
