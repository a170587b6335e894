import Foundation
import Synchronization
import TesseraCore
import Testing

/// oneDNN's convolution primitives against Tessera's im2col + GEMM (itself checked against PyTorch
/// and finite differences): forward, input and weight gradients with Conv2d's contract (y
/// overwritten, dx, dW, dB accumulated onto what is there), for the MoVQ shape classes — 3×3 with
/// padding 1, the downsampling 3×3 stride 2 padded (0, 1), 1×1, a 3-channel input, no bias. fp32
/// within 1e-5; bf16 operands within 2⁻⁷ of the fp32 result (8-bit mantissas) and visibly rounded.
@Suite struct ConvolutionEngineTests {
    static let shapes = [
        Conv2dShape(batch: 3, inChannels: 3, outChannels: 8, height: 9, width: 7, kernel: 3, stride: 1, padding: 1),
        Conv2dShape(
            batch: 2, inChannels: 8, outChannels: 16, height: 8, width: 8, kernel: 3, stride: 2, padBefore: 0,
            padAfter: 1),
        Conv2dShape(batch: 2, inChannels: 16, outChannels: 4, height: 5, width: 5, kernel: 1),
        Conv2dShape(batch: 1, inChannels: 4, outChannels: 4, height: 6, width: 6, kernel: 3, stride: 1, padding: 1),
    ]

    struct Result { var y, dx, dw, db: [Float] }

    static func run(_ engine: ConvolutionEngine, _ s: Conv2dShape, bias: Bool) -> Result {
        func random(_ n: Int, _ name: String) -> [Float] { FiniteDifferences.random(n, name) }
        let x = random(s.batch * s.inSize, "x"), w = random(s.outChannels * s.patch, "w")
        let b = random(s.outChannels, "b"), dy = random(s.batch * s.outSize, "dy")
        var r = Result(
            y: [Float](repeating: 7, count: s.batch * s.outSize), dx: random(s.batch * s.inSize, "dx0"),
            dw: random(s.outChannels * s.patch, "dw0"), db: random(s.outChannels, "db0"))
        let pool = Parallel(threads: 2)
        let cols = FloatBuffer(count: s.scratch)
        b.withUnsafeBufferPointer { b in
            engine.forward(
                pool, s, x: x, weight: w, bias: bias ? b.baseAddress! : nil, y: &r.y, columns: { cols.pointer })
        }
        r.db.withUnsafeMutableBufferPointer { db in
            engine.backward(
                pool, s, x: x, weight: w, dy: dy, dx: &r.dx, dWeight: &r.dw, dBias: bias ? db.baseAddress! : nil,
                columns: { cols.pointer })
        }
        return r
    }

    @Test(arguments: [true, false], [ConvolutionEngine.onednn, .auto])
    func onednnMatchesIm2col(bias: Bool, engine: ConvolutionEngine) {
        for s in Self.shapes {
            let want = Self.run(.im2col, s, bias: bias), got = Self.run(engine, s, bias: bias)
            #expect(relativeError(got.y, want.y) <= 1e-5, "\(s) forward")
            #expect(relativeError(got.dx, want.dx) <= 1e-5, "\(s) input gradient")
            #expect(relativeError(got.dw, want.dw) <= 1e-5, "\(s) weight gradient")
            #expect(relativeError(got.db, want.db) <= 1e-5, "\(s) bias gradient")
        }
    }

    /// `backward` reorders dy once for its two passes, and reads x as the forward pass kept it;
    /// the gradients are those of `backwardData` then `backwardWeights`, bit for bit, on every
    /// shape class, on a second call (the plans are reused), when only the weight gradient is
    /// asked for, and when the kept copy is another shape's (then x is reordered again). Sharing
    /// and keeping save reorders (counted over the backward calls of all shapes).
    @Test func sharedBackwardIsBitIdenticalToTheTwoPasses() {
        let c = DNNLConvolution.shared
        enum Way { case twoPasses, shared, kept, keptElsewhere }
        var reorders: [Way: Int] = [:]
        for (index, s) in Self.shapes.enumerated() {
            func random(_ n: Int, _ name: String) -> [Float] { FiniteDifferences.random(n, name) }
            let x = random(s.batch * s.inSize, "x"), w = random(s.outChannels * s.patch, "w")
            let dy = random(s.batch * s.outSize, "dy")
            var y = [Float](repeating: 0, count: s.batch * s.outSize)
            func grads(_ way: Way, withInput: Bool) -> [Float] {
                var dx = random(s.batch * s.inSize, "dx0"), dw = random(s.outChannels * s.patch, "dw0")
                var db = random(s.outChannels, "db0")
                let kept = DNNLConvolution.KeptInput()
                if way == .kept { c.forward(threads: 2, s, bf16: false, x: x, weight: w, bias: nil, y: &y, keep: kept) }
                if way == .keptElsewhere {
                    let o = Self.shapes[(index + 1) % Self.shapes.count]
                    let ox = random(o.batch * o.inSize, "ox"), ow = random(o.outChannels * o.patch, "ow")
                    var oy = [Float](repeating: 0, count: o.batch * o.outSize)
                    c.forward(threads: 2, o, bf16: false, x: ox, weight: ow, bias: nil, y: &oy, keep: kept)
                }
                for _ in 0..<2 {
                    if way == .twoPasses {
                        if withInput {
                            reorders[way, default: 0] += c.backwardData(
                                threads: 2, s, bf16: false, weight: w, dy: dy, dx: &dx)
                        }
                        reorders[way, default: 0] += c.backwardWeights(
                            threads: 2, s, bf16: false, x: x, dy: dy, dWeight: &dw, dBias: &db)
                    } else {
                        reorders[way, default: 0] += dx.withUnsafeMutableBufferPointer { dxp in
                            c.backward(
                                threads: 2, s, bf16: false, x: x, weight: w, dy: dy,
                                dx: withInput ? dxp.baseAddress! : nil, dWeight: &dw, dBias: &db,
                                kept: way == .shared ? nil : kept)
                        }
                    }
                }
                return dx + dw + db
            }
            for withInput in [true, false] {
                let want = grads(.twoPasses, withInput: withInput)
                for way in [Way.shared, .kept, .keptElsewhere] {
                    let got = grads(way, withInput: withInput)
                    #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(s), \(way), dx \(withInput)")
                }
            }
        }
        let r = reorders
        #expect(r[.shared]! < r[.twoPasses]! && r[.kept]! < r[.shared]! && r[.keptElsewhere]! == r[.shared]!, "\(r)")
    }

    /// Two threads running `backward` on the same shape at once (two models, or two tests) get
    /// their own gradients: dy, reordered once for both passes, waits in a buffer the shape's
    /// plans share, so the two passes must not let another call in between.
    @Test func concurrentBackwardsOfOneShapeKeepTheirOwnDy() {
        let s = Self.shapes[1], c = DNNLConvolution.shared
        func random(_ n: Int, _ name: String) -> [Float] { FiniteDifferences.random(n, name) }
        let x = random(s.batch * s.inSize, "x"), w = random(s.outChannels * s.patch, "w")
        let dys = [random(s.batch * s.outSize, "dy0"), random(s.batch * s.outSize, "dy1")]
        func grads(_ dy: [Float]) -> [Float] {
            var dx = [Float](repeating: 0, count: s.batch * s.inSize)
            var dw = [Float](repeating: 0, count: s.outChannels * s.patch)
            c.backward(threads: 1, s, bf16: false, x: x, weight: w, dy: dy, dx: &dx, dWeight: &dw, dBias: nil)
            return dx + dw
        }
        let want = dys.map(grads)
        let wrong = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            for _ in 0..<200 where grads(dys[t]) != want[t] { wrong.add(1, ordering: .relaxed) }
        }
        #expect(wrong.load(ordering: .relaxed) == 0)
    }

    /// `accumulateDx: false` writes dx: the values of accumulating onto zeros (exactly, −0 = +0),
    /// whatever dx held before, on both engines; the weight gradients do not change.
    @Test(arguments: [ConvolutionEngine.im2col, .onednn])
    func overwritingDxEqualsAccumulatingOntoZeros(engine: ConvolutionEngine) {
        for s in Self.shapes {
            func random(_ n: Int, _ name: String) -> [Float] { FiniteDifferences.random(n, name) }
            let x = random(s.batch * s.inSize, "x"), w = random(s.outChannels * s.patch, "w")
            let dy = random(s.batch * s.outSize, "dy")
            let cols = FloatBuffer(count: s.scratch), pool = Parallel(threads: 2)
            func grads(accumulate: Bool) -> (dx: [Float], dw: [Float], db: [Float]) {
                var dx =
                    accumulate ? [Float](repeating: 0, count: s.batch * s.inSize) : random(s.batch * s.inSize, "junk")
                var dw = random(s.outChannels * s.patch, "dw0"), db = random(s.outChannels, "db0")
                engine.backward(
                    pool, s, x: x, weight: w, dy: dy, dx: &dx, dWeight: &dw, dBias: &db, columns: { cols.pointer },
                    accumulateDx: accumulate)
                return (dx, dw, db)
            }
            let want = grads(accumulate: true), got = grads(accumulate: false)
            #expect(got.dx == want.dx, "\(s) dx")
            #expect(got.dw.map(\.bitPattern) == want.dw.map(\.bitPattern) && got.db == want.db, "\(s) dw, db")
        }
    }

    /// `auto` is a rule of the shape alone: im2col for 1×1 with C_in·C_out ≤ 128, else oneDNN fp32;
    /// the other engines are themselves for every shape.
    @Test func autoPicksAnEnginePerShape() {
        let picks = Self.shapes.map { ConvolutionEngine.auto.engine(for: $0) }
        #expect(picks == [.onednn, .onednn, .im2col, .onednn])  // the third is 16→4 1×1
        let narrow = Conv2dShape(batch: 2, inChannels: 4, outChannels: 4, height: 8, width: 8, kernel: 1)
        let wide = Conv2dShape(batch: 2, inChannels: 4, outChannels: 64, height: 8, width: 8, kernel: 1)
        #expect(ConvolutionEngine.auto.engine(for: narrow) == .im2col)
        #expect(ConvolutionEngine.auto.engine(for: wide) == .onednn)
        for e in [ConvolutionEngine.im2col, .onednn, .onednnBF16] { #expect(e.engine(for: narrow) == e) }
    }

    /// A VQ config's `precision` and `convolutions`: auto and fp32 by default; bf16 runs every
    /// convolution on oneDNN bf16 and hashes like `convolutions: onednn-bf16`; bf16 with im2col, or
    /// fp32 with onednn-bf16, is a config error naming the key.
    @Test func vqPrecisionPicksTheEngine() throws {
        let plain = try VQTrainingTests.tinyConfig()
        #expect(plain.convolutions == .auto && plain.precision == .fp32 && plain.engine == .auto)
        func error(_ extra: [String: Any]) -> String {
            do { _ = try VQTrainingTests.tinyConfig(extra) } catch { return "\(error)" }
            return "accepted"
        }
        if Precision.bf16.unsupported() != nil {
            #expect(error(["precision": "bf16"]).contains("precision"))
            return
        }
        let bf16 = try VQTrainingTests.tinyConfig(["precision": "bf16"])
        let legacy = try VQTrainingTests.tinyConfig(["convolutions": "onednn-bf16"])
        #expect(bf16.engine == .onednnBF16 && legacy.engine == .onednnBF16 && legacy.precision == .bf16)
        #expect(bf16.hash == legacy.hash && bf16.hash != plain.hash)
        #expect(error(["precision": "bf16", "convolutions": "im2col"]).contains("convolutions: im2col runs in fp32"))
        #expect(error(["precision": "fp32", "convolutions": "onednn-bf16"]).contains("precision: fp32 contradicts"))
    }

    /// bf16 is checked against the CPU of a config a user gives (the error names the key and the
    /// missing instructions), not against a recorded config.json's, so bf16 checkpoints load anywhere.
    @Test func bf16IsCheckedAgainstTheCPUOfAGivenConfigOnly() throws {
        let old: Set<String> = ["avx2", "avx512f"]
        for (extra, key) in [(["precision": "bf16"], "precision"), (["convolutions": "onednn-bf16"], "convolutions")] {
            do {
                _ = try VQTrainingTests.tinyConfig(extra, cpuFlags: old)
                Issue.record("\(extra) accepted on a CPU without bf16")
            } catch {
                #expect("\(error)".contains("test: \(key): bf16 needs the avx512_bf16"), "\(error)")
            }
            let recorded = try VQTrainingTests.tinyConfig(extra, cpuFlags: nil)
            #expect(recorded.precision == .bf16 && recorded.engine == .onednnBF16)
        }
        #expect(try VQTrainingTests.tinyConfig(["precision": "bf16"], cpuFlags: ["avx512_bf16"]).engine == .onednnBF16)
    }

    /// A run's recorded config.json without `convolutions` was written for im2col (the key is left
    /// out for im2col): it resumes on im2col with its own hash, while a config a user writes without
    /// the key gets `auto`.
    @Test func aRecordedConfigWithoutTheKeyRunsOnIm2col() throws {
        let dir = tempDirectory("vq-recorded")
        let run = dir + "/run"
        let first = try runTessera(
            [
                "train", "--config", "configs/vq-smoke.yaml", "--run-dir", run, "--set", "convolutions=im2col",
                "--set", "optim.steps=2", "--set", "checkpoint.every=1", "--set", "data.shapes.count=40",
                "--set", "data.shapes.val_count=8", "--set", "eval.every=0",
            ], cwd: packageRoot)
        #expect(first.status == 0, "\(first.stderr)")
        let recorded = try VQTrainConfig.load(json: run + "/config.json")
        #expect(recorded.convolutions == .im2col && recorded.engine == .im2col)
        // Resuming on the run's own config.json loads its checkpoint: the hash it reads back matches.
        let resumed = try runTessera(["train", "--resume", "--run-dir", run], cwd: packageRoot)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let given = try VQTrainingTests.tinyConfig()
        #expect(given.convolutions == .auto)
    }

    @Test func bf16OperandsAreRoundedToEightBits() {
        for s in Self.shapes {
            let want = Self.run(.im2col, s, bias: true), got = Self.run(.onednnBF16, s, bias: true)
            for (name, a, b) in [("forward", got.y, want.y), ("input gradient", got.dx, want.dx)] {
                let e = relativeError(a, b)
                #expect(e <= 1.0 / 128 && e > 1.0 / 65536, "\(s) \(name): \(e)")
            }
            #expect(relativeError(got.dw, want.dw) <= 1.0 / 128, "\(s) weight gradient")
        }
    }

    /// A MoVQ run with `convolutions: onednn` repeats bit for bit and follows the im2col run's
    /// losses (8 steps of configs/vq-smoke.yaml: within 1e-3 relative); the config key is in the hash.
    @Test func vqTrainingOnOnednnRepeatsAndTracksIm2col() throws {
        let root = tempDirectory("vq-onednn")
        func losses(_ name: String, _ engine: String) throws -> [Double] {
            let r = try runTessera(
                [
                    "train", "--config", "configs/vq-smoke.yaml", "--run-dir", root + "/" + name, "--set",
                    "optim.steps=8", "--set", "convolutions=\(engine)", "--set", "data.shapes.count=96", "--set",
                    "data.shapes.val_count=16",
                    "--set", "eval.every=0",
                ], cwd: packageRoot)
            #expect(r.status == 0, "\(r.stderr)")
            return try MetricsLog.rows(root + "/" + name + "/metrics.jsonl", as: VQStepRow.self).map(\.loss)
        }
        let a = try losses("a", "onednn"), b = try losses("b", "onednn"), ref = try losses("ref", "im2col")
        #expect(a.count == 8 && a == b)
        for (x, y) in zip(a, ref) { #expect(abs(x - y) <= 1e-3 * abs(y), "\(a) vs \(ref)") }
        let hashA = try TrainConfigHash.of(root + "/a"), hashRef = try TrainConfigHash.of(root + "/ref")
        #expect(hashA != hashRef)
    }

    /// `bench conv`: the shape classes together cover every convolution of the model once (its
    /// 4-D weights), each timed on every engine asked for; the command prints one JSON row per
    /// class, and an unknown engine is a config error.
    @Test func benchConvCoversEveryConvolutionOnce() throws {
        let c = try VQTrainingTests.tinyConfig()
        let model = MoVQModel(config: c.model, maxBatch: 1, pool: Parallel(threads: 1))
        let rows = Benchmark.convolutions(
            shapes: model.convolutionShapes, batch: 2, threads: 1, repeats: 1, engines: [.im2col, .onednn])
        let layers = rows.flatMap(\.layers)
        #expect(!rows.isEmpty && Set(layers).count == layers.count)
        let weights = model.params.slots.filter { $0.shape.count == 4 }.map(\.name)
        #expect(Set(layers.map { $0 + ".weight" }) == Set(weights))
        for row in rows {
            #expect(Set(row.forwardMs.keys) == ["im2col", "onednn"] && row.forwardMs.values.allSatisfy { $0 > 0 })
            #expect(Set(row.backwardMs.keys) == ["im2col", "onednn"] && row.backwardMs.values.allSatisfy { $0 > 0 })
        }
        let r = try runTessera(
            ["bench", "conv", "--config", "configs/vq-smoke.yaml", "--batch", "2", "--repeats", "1", "--json"],
            cwd: packageRoot)
        #expect(r.status == 0, "\(r.stderr)")
        let printed = try r.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(Benchmark.ConvolutionRow.self, from: Data($0.utf8))
        }
        #expect(!printed.isEmpty)
        let bad = try runTessera(
            ["bench", "conv", "--config", "configs/vq-smoke.yaml", "--engines", "cudnn"], cwd: packageRoot)
        #expect(bad.status == 2 && bad.stderr.contains("cudnn"), "\(bad.stderr)")
    }

    /// bench conv and bench vq refuse what they cannot run before allocating: an engine named twice,
    /// a --batch whose feature maps exceed the machine's memory (4,096 images of 512²: 550 GB).
    @Test func benchRefusesDuplicateEnginesAndOversizedBatches() throws {
        let twice = try runTessera(
            ["bench", "conv", "--config", "configs/vq-smoke.yaml", "--engines", "im2col,im2col"], cwd: packageRoot)
        #expect(twice.status == 2 && twice.stderr.contains("named twice"), "\(twice.stderr)")
        for command in ["conv", "vq"] {
            let huge = try runTessera(
                [
                    "bench", command, "--config", "configs/vq-emoji.yaml", "--batch", "4096", "--set",
                    "model.resolution=512",
                ],
                cwd: packageRoot)
            #expect(huge.status == 2 && huge.stderr.contains("--batch (4096)"), "\(command): \(huge.stderr)")
        }
    }
}

/// A run directory's recorded config hash (its config.json's `convolutions` counts).
enum TrainConfigHash {
    static func of(_ run: String) throws -> String {
        try VQTrainConfig.load(json: run + "/config.json").hash
    }
}
