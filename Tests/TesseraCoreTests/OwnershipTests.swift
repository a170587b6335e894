import Foundation
import TesseraCore
import Testing

/// Careless hands: `--overwrite` deletes only what Tessera made, a live run is locked, a closed
/// pipe or a second signal still leaves a record, bytes pass through `tokenize` unchanged.
@Suite struct OwnershipTests {
    func config(steps: Int) -> String {
        let path = tempDirectory("own") + "/c.yaml"
        try! testConfigYAML(steps: steps).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A user's folder survives `--overwrite` (exit 5, named, untouched); a run Tessera made is replaced.
    @Test func overwriteReplacesOnlyWhatTesseraMade() throws {
        let c = config(steps: 2)
        let user = tempDirectory("user-folder")
        try "keep me".write(toFile: user + "/notes.txt", atomically: true, encoding: .utf8)
        let r = try runTessera(["train", "--config", c, "--run-dir", user, "--overwrite"], cwd: packageRoot)
        #expect(r.status == 5 && r.stderr.contains(user) && r.stderr.contains("not made by Tessera"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(FileIO.exists(user + "/notes.txt") && !FileIO.exists(user + "/config.json"))

        let run = tempDirectory("own-run") + "/run"
        #expect(try runTessera(["train", "--config", c, "--run-dir", run]).status == 0)
        #expect(FileIO.exists(run + "/" + FileIO.ownerMarker))
        try "old".write(toFile: run + "/extra.txt", atomically: true, encoding: .utf8)
        let again = try runTessera(["train", "--config", c, "--run-dir", run, "--overwrite"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!FileIO.exists(run + "/extra.txt") && FileIO.exists(run + "/summary.json"))

        // The same rule for every output folder: a probe or sample directory over a user's folder.
        let out = tempDirectory("user-out")
        try "mine".write(toFile: out + "/a.txt", atomically: true, encoding: .utf8)
        #expect(throws: TesseraError.self) { try FileIO.buildDirectory(out, overwrite: true) { _ in } }
        #expect(FileIO.exists(out + "/a.txt"))
        let made = tempDirectory("made") + "/out"
        try FileIO.buildDirectory(made, overwrite: false) {
            try FileIO.writeAtomically($0 + "/x", data: Data("1".utf8))
        }
        try FileIO.buildDirectory(made, overwrite: true) { try FileIO.writeAtomically($0 + "/y", data: Data("2".utf8)) }
        #expect(FileIO.exists(made + "/y") && !FileIO.exists(made + "/x"))
    }

    /// While a process holds a run directory, a second resume and an --overwrite are refused (exit 5,
    /// naming the holder); the lock goes with the process.
    @Test func liveRunIsLocked() throws {
        let run = tempDirectory("locked") + "/run"
        #expect(try runTessera(["train", "--config", config(steps: 2), "--run-dir", run]).status == 0)
        var lock: DirectoryLock? = try DirectoryLock(run)  // this test process plays the live trainer
        #expect(DirectoryLock.holder(run) == "pid \(getpid())")
        let resume = try runTessera(["train", "--resume", "--run-dir", run])
        #expect(
            resume.status == 5 && resume.stderr.contains("in use by another process (pid \(getpid()))"),
            "\(resume.stderr)")
        let over = try runTessera(["train", "--config", config(steps: 2), "--run-dir", run, "--overwrite"])
        #expect(over.status == 5 && over.stderr.contains("in use"), "\(over.stderr)")
        #expect(FileIO.exists(run + "/summary.json"))
        #expect(lock != nil)
        lock = nil
        #expect(DirectoryLock.holder(run) == nil)
        #expect(try runTessera(["train", "--config", config(steps: 2), "--run-dir", run, "--overwrite"]).status == 0)
    }

    /// stderr closed before the run starts: no SIGPIPE death, the run completes and says so.
    @Test func closedStderrDoesNotKillARun() throws {
        let run = tempDirectory("pipe") + "/run"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tesseraBinary())
        p.arguments = ["train", "--config", config(steps: 5), "--run-dir", run]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try err.fileHandleForReading.close()  // the reader goes away: every write to stderr is EPIPE
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "status \(p.terminationStatus)")
        let s = try JSONSerialization.jsonObject(with: try FileIO.read(run + "/summary.json")) as! [String: Any]
        #expect(s["status"] as? String == "completed")
    }

    /// A second SIGTERM does not wait: exit 143 and a summary that says interrupted.
    @Test func secondSignalStillLeavesASummary() throws {
        let run = tempDirectory("twice") + "/run"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tesseraBinary())
        p.arguments = ["train", "--config", config(steps: 100000), "--run-dir", run]
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline,
            ((try? MetricsLog.rows(run + "/metrics.jsonl", as: TrainingStepRow.self))?.count ?? 0) < 2
        { usleep(20_000) }
        kill(p.processIdentifier, SIGTERM)
        usleep(2_000)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 143)
        let s = try JSONSerialization.jsonObject(with: try FileIO.read(run + "/summary.json")) as! [String: Any]
        #expect(s["status"] as? String == "interrupted" && s["exit_code"] as? Int == 143, "\(s)")
        #expect(!(s["exit_reason"] as? String ?? "").isEmpty)
    }

    func pipe(_ args: [String], stdin: Data) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tesseraBinary())
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        let i = Pipe(), o = Pipe(), e = Pipe()
        p.standardInput = i; p.standardOutput = o; p.standardError = e
        try p.run()
        i.fileHandleForWriting.write(stdin)
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile(), err = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, out, String(decoding: err, as: UTF8.self))
    }

    /// --tokenizer bytes promises any byte string round-trips: invalid UTF-8, CR, NUL included.
    /// A BPE tokenizer refuses invalid UTF-8 with the line and byte offset instead of U+FFFD.
    @Test func bytesRoundTripAndInvalidUTF8IsRefused() throws {
        let raw = Data([0x61, 0xFF, 0xFE, 0x0D, 0x00, 0xC3, 0x28, 0x0A, 0xE2, 0x82, 0xAC, 0x0A])  // two lines
        let enc = try pipe(["tokenize", "encode", "--tokenizer", "bytes"], stdin: raw)
        #expect(enc.status == 0, "\(enc.err)")
        let dec = try pipe(["tokenize", "decode", "--tokenizer", "bytes"], stdin: enc.out)
        #expect(dec.status == 0 && dec.out == raw, "\(Array(dec.out)) vs \(Array(raw))")
        let tok = Fixtures.path("bpe_austen4k.tokenizer.json")
        let bad = try pipe(
            ["tokenize", "encode", "--tokenizer", tok], stdin: Data("fine\nab\u{00e9}".utf8) + Data([0xFF, 0x0A]))
        #expect(bad.status == 3 && bad.err.contains("line 2: invalid UTF-8 at byte 4"), "\(bad.err)")
        let good = try pipe(["tokenize", "encode", "--tokenizer", tok], stdin: Data("Elizabeth smiled.\n".utf8))
        let back = try pipe(["tokenize", "decode", "--tokenizer", tok], stdin: good.out)
        #expect(good.status == 0 && String(decoding: back.out, as: UTF8.self) == "Elizabeth smiled.\n")
    }

    @Test func machineErrorsAreNamed() {
        #expect(FileIO.errnoText(ENOSPC).hasSuffix("(ENOSPC)") && FileIO.errnoText(EROFS).hasSuffix("(EROFS)"))
        // A read-only target is named as such, not as bad data.
        #expect(throws: TesseraError.self) { try FileIO.writeAtomically("/proc/tessera-test", data: Data("x".utf8)) }
    }
}
