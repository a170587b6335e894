import Foundation
import TesseraCore
import Testing

/// Data-parallel training through Open MPI's own launcher (scripts/setup.sh installs openmpi-bin;
/// the suite is skipped, saying so, where mpirun is absent).
@Suite(.serialized) struct DistributedTrainingTests {
    static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    static func mpi(_ ranks: Int, _ args: [String]) throws -> RunResult {
        try runProcess(mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", "\(ranks)", tesseraBinary()] + args)
    }

    /// configs/smoke.yaml (2 micro-batches per step) shortened, with a checkpoint every 10 steps.
    static func config(steps: Int = 30) throws -> String {
        let dir = tempDirectory("mpi-config")
        let text = try String(contentsOfFile: packageRoot + "/configs/smoke.yaml", encoding: .utf8)
            .replacingOccurrences(of: "steps: 60", with: "steps: \(steps)")
            .replacingOccurrences(of: "train: configs/corpus/", with: "train: \(packageRoot)/configs/corpus/")
            .replacingOccurrences(of: "every: 20\n  keep_last: 2", with: "every: 10\n  keep_last: 5")
        try text.write(toFile: dir + "/smoke.yaml", atomically: true, encoding: .utf8)
        return dir + "/smoke.yaml"
    }

    /// A 2-rank training run in the background, returned once it has a checkpoint at step ≥ 10.
    static func startTwoRanks(config c: String, runDir: String, extra: [String] = []) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: mpirun!)
        p.arguments =
            [
                "--allow-run-as-root", "--oversubscribe", "-np", "2", tesseraBinary(), "train", "--config", c,
                "--run-dir", runDir,
            ] + extra
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline, !Checkpoint.list(runDir: runDir).contains(where: { $0.step >= 10 }) { usleep(20_000) }
        return p
    }

    static func losses(_ run: String) throws -> [Double] {
        try MetricsLog.rows(run + "/metrics.jsonl", as: TrainingStepRow.self).map(\.loss)
    }

    /// Two ranks, each computing one of the step's two micro-batches, follow the one-process run:
    /// the same data and global batch; only the order of the gradient sum differs (float
    /// rounding), so losses agree to 1e-4 relative over 30 steps. One metrics row per step.
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed (scripts/setup.sh installs openmpi-bin)"))
    func twoRanksFollowOneProcess() throws {
        let c = try Self.config()
        let one = tempDirectory("mpi-one") + "/run", two = tempDirectory("mpi-two") + "/run"
        let a = try runTessera(["train", "--config", c, "--run-dir", one])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try Self.mpi(2, ["train", "--config", c, "--run-dir", two])
        #expect(b.status == 0, "\(b.stderr.suffix(2000))")
        let la = try Self.losses(one), lb = try Self.losses(two)
        #expect(la.count == 30 && lb.count == 30)
        let worst = zip(la, lb).map { abs($0 - $1) / abs($0) }.max() ?? 1
        #expect(worst <= 1e-4, "largest relative loss difference \(worst)")
        #expect(la[0] == lb[0] || abs(la[0] - lb[0]) / la[0] < 1e-12)  // the same first batch, the same weights
        let log = try String(contentsOfFile: two + "/train.log", encoding: .utf8)
        #expect(log.contains("2 MPI ranks (1 micro-batch(es) each)"))
        #expect(b.stderr.components(separatedBy: "run directory:").count == 2)  // rank 0 alone prints
    }

    /// SIGTERM to the ranks mid-run, then `--resume` under mpirun: the same losses and final weights as
    /// an uninterrupted 2-rank run, bit for bit (the same ranks sum in the same order).
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed (scripts/setup.sh installs openmpi-bin)"))
    func resumeUnderMPIMatchesUninterrupted() throws {
        let c = try Self.config(steps: 300)
        let whole = tempDirectory("mpi-whole") + "/run", cut = tempDirectory("mpi-cut") + "/run"
        #expect(try Self.mpi(2, ["train", "--config", c, "--run-dir", whole]).status == 0)

        let p = try Self.startTwoRanks(config: c, runDir: cut)
        // What a scheduler's preemption does: SIGTERM to every rank (mpirun's children).
        _ = try runProcess("/usr/bin/pkill", ["-TERM", "-P", "\(p.processIdentifier)"])
        p.waitUntilExit()
        let stopped = Checkpoint.list(runDir: cut).map(\.step).max() ?? 0
        #expect(stopped >= 10 && stopped < 300, "stopped at \(stopped)")  // the resume below is real
        let s = try JSONSerialization.jsonObject(with: try FileIO.read(cut + "/summary.json")) as! [String: Any]
        #expect(s["status"] as? String == "interrupted")
        let r = try Self.mpi(2, ["train", "--resume", "--run-dir", cut])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
        #expect(try Self.losses(whole) == Self.losses(cut))
        let name = Checkpoint.name(step: 300)
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(whole)/checkpoints/\(name)/model.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: "\(cut)/checkpoints/\(name)/model.safetensors"))
        #expect(a == b)
    }

    /// Thread counts under mpirun are the machine's, split between the ranks; config.json keeps a
    /// rank's. A resume compares like with like: given the machine's count again it continues on
    /// the rank's saved count (not half of it), and given another count where that changes the
    /// bits (gemm_threading: openblas) it refuses (exit 5) instead of halving the saved count after
    /// the check.
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed (scripts/setup.sh installs openmpi-bin)"))
    func resumeKeepsEachRanksThreads() throws {
        let c = try Self.config(steps: 60)
        let run = tempDirectory("mpi-threads") + "/run"
        let p = try Self.startTwoRanks(
            config: c, runDir: run, extra: ["--threads", "4", "--set", "gemm_threading=openblas"])
        _ = try runProcess("/usr/bin/pkill", ["-TERM", "-P", "\(p.processIdentifier)"])
        p.waitUntilExit()
        let stopped = Checkpoint.list(runDir: run).map(\.step).max() ?? 0
        #expect(stopped >= 10 && stopped < 60, "stopped at \(stopped)")
        let saved = try JSONSerialization.jsonObject(with: try FileIO.read(run + "/config.json")) as! [String: Any]
        #expect(saved["threads"] as? Int == 2)  // 4 on the machine, 2 ranks on it
        let other = try Self.mpi(2, ["train", "--resume", "--run-dir", run, "--threads", "2"])
        #expect(other.status == 5, "\(other.stderr.suffix(1500))")
        #expect(other.stderr.contains("ran on 2 thread(s)"))
        let same = try Self.mpi(2, ["train", "--resume", "--run-dir", run, "--threads", "4"])
        #expect(same.status == 0, "\(same.stderr.suffix(1500))")
        let log = try String(contentsOfFile: run + "/train.log", encoding: .utf8)
        let models = log.split(separator: "\n").filter { $0.contains("model: ") }
        #expect(models.count == 2 && models.allSatisfy { $0.contains(", 2 thread(s),") }, "\(models)")
    }

    /// A rank killed outright (SIGKILL: no handler runs) takes the job down within seconds instead
    /// of leaving the other rank blocked in the allreduce; its checkpoints still resume.
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed (scripts/setup.sh installs openmpi-bin)"))
    func killedRankEndsTheJob() throws {
        let c = try Self.config(steps: 300)
        let run = tempDirectory("mpi-kill") + "/run"
        let p = try Self.startTwoRanks(config: c, runDir: run)
        let ranks = try runProcess("/usr/bin/pgrep", ["-P", "\(p.processIdentifier)"]).stdout.split(separator: "\n")
            .compactMap { Int32($0) }
        #expect(ranks.count == 2)
        kill(ranks.last!, SIGKILL)
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!p.isRunning, "mpirun still running 60 s after a rank died")
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationStatus != 0)
        let r = try Self.mpi(2, ["train", "--resume", "--run-dir", run])
        #expect(r.status == 0, "\(r.stderr.suffix(2000))")
    }

    /// A failure takes the whole job down with one clear message instead of leaving ranks waiting:
    /// 3 micro-batches per step cannot split over 2 ranks, and nothing is written.
    @Test(.enabled(if: mpirun != nil, "mpirun is not installed (scripts/setup.sh installs openmpi-bin)"))
    func failureEndsEveryRank() throws {
        let c = try Self.config()
        let dir = tempDirectory("mpi-bad") + "/run"
        let r = try Self.mpi(2, ["train", "--config", c, "--run-dir", dir, "--set", "optim.batch_tokens=1536"])
        #expect(r.status == 2, "\(r.stderr.suffix(1500))")
        #expect(r.stderr.contains("not a multiple of the 2 MPI ranks"))
        #expect(!FileIO.exists(dir))
    }
}
