import CMalloc
import Foundation

/// Throughput figures for the training step and for single GEMMs, measured in-process.
public enum Benchmark {
    /// Peak resident set size of this process so far (since the last `resetPeakRSS`), in MB.
    public static var peakRSSMegabytes: Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }

    /// Resets the peak resident set size to the current one (Linux ≥ 4.0: "5" written to
    /// /proc/self/clear_refs), so that memory a benchmark's own calibration took and gave back
    /// — the 2048³ peak products' operands, 48 MB in fp32 — does not count as the measured
    /// work's. False where the kernel refuses: the peak then covers the whole process.
    /// Freed memory is first handed back to the system (`malloc_trim`): glibc keeps a freed block
    /// resident when something allocated later sits above it in the heap. Measured by hand on a
    /// small config under 3 CPU hogs: the steps' peak read 38, 85 and 85 MB without the trim,
    /// 37–38 MB in 4 runs with it. Inside the full test suite the two peaks still came out equal
    /// (CLITests.benchTrainCountsPeakRSSOverTheSteps; cause not found).
    @discardableResult
    public static func resetPeakRSS() -> Bool {
        malloc_trim(0)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// Best GFLOP/s of C = A·B for an m×k·k×n product over `repeats` runs (after one warm-up).
    /// `blasThreads` > 0 runs one sgemm call on OpenBLAS's own pool of that size instead of
    /// Tessera's sharding.
    public static func gemm(
        _ pool: Parallel, m: Int, k: Int, n: Int, transB: Bool = false, repeats: Int = 3,
        blasThreads: Int = 0, seed: UInt64 = 7
    ) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        var rng = RandomStream(seed: seed, name: "bench/gemm")
        for i in 0..<a.count { a[i] = rng.uniform() - 0.5 }
        for i in 0..<b.count { b[i] = rng.uniform() - 0.5 }
        func once() {
            if blasThreads > 0 {
                Gemm.sgemm(
                    transA: false, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: k,
                    b: b.pointer, ldb: transB ? k : n, beta: 0, c: c.pointer, ldc: n)
            } else {
                Gemm.parallel(
                    pool, transA: false, transB: transB, m: m, n: n, k: k, a: a.pointer, lda: k,
                    b: b.pointer, ldb: transB ? k : n, beta: 0, c: c.pointer, ldc: n)
            }
        }
        pool.prepareGemm()
        if blasThreads > 0 { Gemm.setBLASThreads(blasThreads) }
        defer { if blasThreads > 0 { Gemm.setBLASThreads(1) } }
        return bestGflops(2 * Double(m) * Double(n) * Double(k), repeats: repeats, once)
    }

    /// `flops` / the best of `repeats` timed calls of `once`, after one untimed call, in GFLOP/s.
    static func bestGflops(_ flops: Double, repeats: Int, _ once: () -> Void) -> Double {
        once()
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            once()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return flops / best / 1e9
    }

    /// Best GFLOP/s of the same product in bf16 through oneDNN (operands converted once, before
    /// timing; fp32 result), on `threads` OpenMP threads.
    public static func gemmBF16(
        threads: Int, m: Int, k: Int, n: Int, transB: Bool = false, repeats: Int = 3, seed: UInt64 = 7
    ) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        var rng = RandomStream(seed: seed, name: "bench/gemm")
        for i in 0..<a.count { a[i] = rng.uniform() - 0.5 }
        for i in 0..<b.count { b[i] = rng.uniform() - 0.5 }
        let a16 = UnsafeMutablePointer<UInt16>.allocate(capacity: a.count)
        let b16 = UnsafeMutablePointer<UInt16>.allocate(capacity: b.count)
        defer { a16.deallocate(); b16.deallocate() }
        DNNL.shared.toBF16(a.pointer, a16, count: a.count, threads: threads)
        DNNL.shared.toBF16(b.pointer, b16, count: b.count, threads: threads)
        func once() {
            DNNL.shared.matmul(
                threads: threads, transA: false, transB: transB, m: m, n: n, k: k, a: a16, lda: k, b: b16,
                ldb: transB ? k : n, accumulate: false, c: c.pointer, ldc: n)
        }
        return bestGflops(2 * Double(m) * Double(n) * Double(k), repeats: repeats, once)
    }

    /// The machine's matmul ceilings with `threads`: the best sgemm (fp32, the better of Tessera's
    /// sharding and OpenBLAS's own pool) and oneDNN bf16 rates on a 2048³ product, big enough to be
    /// compute-bound. Each benchmark reports its GFLOP/s against both, so fp32 and bf16 runs read on
    /// one scale.
    public struct Peaks: Sendable {
        public let fp32Gflops: Double
        /// nil on a CPU where oneDNN has no bf16 kernels (`DNNL.hasBF16Kernels`): no bf16 peak exists.
        public let bf16Gflops: Double?

        public init(fp32Gflops: Double, bf16Gflops: Double?) {
            self.fp32Gflops = fp32Gflops
            self.bf16Gflops = bf16Gflops
        }

        public static func measure(_ pool: Parallel, repeats: Int = 5) -> Peaks {
            Peaks(fp32Gflops: fp32(pool, repeats), bf16Gflops: bf16(pool, repeats))
        }

        /// The better sgemm rate on a 2048³ product of Tessera's blocks and OpenBLAS's own pool (the
        /// pool was ahead on squares on AMD EPYC Zen: 73 against 56–66 GFLOP/s in `bench gemm`).
        static func fp32(_ pool: Parallel, _ repeats: Int) -> Double {
            max(
                gemm(pool, m: 2048, k: 2048, n: 2048, repeats: repeats),
                pool.threads > 1
                    ? gemm(pool, m: 2048, k: 2048, n: 2048, repeats: repeats, blasThreads: pool.threads) : 0)
        }

        /// The bf16 rate on a 2048³ product, if this CPU has bf16 kernels.
        static func bf16(_ pool: Parallel, _ repeats: Int) -> Double? {
            DNNL.hasBF16Kernels ? gemmBF16(threads: pool.threads, m: 2048, k: 2048, n: 2048, repeats: repeats) : nil
        }

        /// "G GFLOP/s = x % of the P GFLOP/s sgemm peak, y % of the Q GFLOP/s bf16 peak".
        public func describe(gflops: Double) -> String {
            let fp32 = String(
                format: "%.1f GFLOP/s = %.1f%% of the %.1f GFLOP/s sgemm peak", gflops, 100 * gflops / fp32Gflops,
                fp32Gflops)
            guard let bf16Gflops else { return fp32 + ", no bf16 peak: oneDNN \(DNNL.isaName) has no bf16 kernels" }
            return fp32
                + String(format: ", %.1f%% of the %.1f GFLOP/s bf16 peak", 100 * gflops / bf16Gflops, bf16Gflops)
        }

        /// `precision`, the peaks and the shares of both, for a --json row (null: no bf16 peak).
        public func json(gflops: Double, precision: Precision) -> [String: Any] {
            func r(_ x: Double, _ scale: Double) -> Double { (x * scale).rounded() / scale }
            return [
                "precision": precision.rawValue, "blas_core": Gemm.coreName, "gemm_peak_gflops": r(fp32Gflops, 10),
                "bf16_peak_gflops": bf16Gflops.map { r($0, 10) } ?? NSNull(),
                "of_fp32_peak": r(gflops / fp32Gflops, 1000),
                "of_bf16_peak": bf16Gflops.map { r(gflops / $0, 1000) } ?? NSNull(),
            ]
        }
    }

    /// Model FLOPs per token, PaLM convention: 6·N_matmul + 12·L·d·T (attention counted in full;
    /// the embedding lookup is not a matmul, the output layer is).
    public static func flopsPerToken(_ c: ModelConfig, seqLen: Int) -> Double {
        let d = c.dModel, h = c.ffnHidden
        let perLayer = c.qkvDim * d + d * (c.nHeads * c.headDim) + 2 * h * d + d * h
        let matmul = c.nLayers * perLayer + c.vocabSize * d
        return 6 * Double(matmul) + 12 * Double(c.nLayers) * Double(c.nHeads * c.headDim) * Double(seqLen)
    }

    /// FLOPs of the timed part of drawing one image's `codes` codes after a `prompt`-token prompt
    /// (`TextToImageGenerator.sample`): code i is fed at position prompt + i, through every block
    /// (2·N_blocks) and attention over its prompt + i + 1 positions (4·L·d_attn·context), then the
    /// output layer over the `codeRows` image rows — the full vocabulary after the last code.
    public static func sampleFLOPs(_ c: ModelConfig, prompt: Int, codes n: Int, codeRows: Int) -> Double {
        let d = c.dModel, h = c.ffnHidden, attn = c.nHeads * c.headDim
        let blocks = Double(c.nLayers * (c.qkvDim * d + d * attn + 2 * h * d + d * h))
        let contexts = Double(n) * Double(prompt) + Double(n) * Double(n + 1) / 2  // Σ_i (prompt + i + 1)
        let head = 2 * Double(d) * (Double(n - 1) * Double(codeRows) + Double(c.vocabSize))
        return 2 * blocks * Double(n) + 4 * Double(c.nLayers * attn) * contexts + head
    }

    public struct TrainResult {
        public let tokensPerSecond: Double
        public let medianStepSeconds: Double
        public let bestStepSeconds: Double
        public let gflops: Double
        /// The best sgemm (fp32) and oneDNN bf16 rates on 2048³ with the same threads.
        public let peaks: Peaks
        public let precision: Precision
        /// Peak resident set size over the timed steps (model and optimizer made before them), or
        /// over the whole process where the peak could not be reset (`peakRSSScopedToSteps` false).
        public let peakRSSMegabytes: Double
        public let peakRSSScopedToSteps: Bool
        /// The whole process's peak, set-up and calibration included.
        public let processPeakRSSMegabytes: Double
        public let parameters: Int
        /// Seconds per step in each phase (empty unless profiled).
        public let phases: [(String, Double)]
        /// Data-parallel ranks, and the mean seconds per timed step spent summing gradients over them.
        public let ranks: Int
        public let allreduceSeconds: Double
        /// Against the peak of the run's own precision.
        public var mfu: Double { gflops / (precision == .bf16 ? peaks.bf16Gflops ?? .nan : peaks.fp32Gflops) }
    }

    /// Times full optimizer steps (forward, backward, clip, AdamW) on random tokens. With several
    /// ranks, each computes its share of the micro-batches and the gradients are summed as in
    /// training; tokens/s then counts the whole global batch.
    public static func train(
        config: TrainConfig, steps: Int, warmup: Int, profile: Bool = false,
        comm: Communicator = SingleProcess()
    ) throws -> TrainResult {
        let c = config
        let pool = c.makePool()
        let B = c.optim.microBatch, T = c.data.seqLen
        let model = Transformer(config: c.model, batch: B, seqLen: T, pool: pool, precision: c.precision)
        model.initialize(seed: c.seed)
        // optim.trainable as in training: frozen tensors get no optimizer state and no dW product.
        let trainable = try Freezing.trainable(c.optim.trainable, names: model.params.names, layers: c.model.nLayers)
        let adam = AdamW(
            store: model.params, config: c.optim.adam, trainable: { trainable.contains($0) },
            decays: { !Glob.matchesAny(c.optim.noDecay, $0) })
        model.frozen(Set(model.params.names).subtracting(trainable))
        var inputs = [Int32](repeating: 0, count: B * T), targets = inputs
        var rng = RandomStream(seed: c.seed, name: "bench/tokens")
        var times: [Double] = []
        let accum = c.accumulation
        guard accum % comm.size == 0 else {
            throw TesseraError.config(
                "\(accum) micro-batch(es) per step do not split over \(comm.size) ranks; make batch_tokens / (micro_batch × seq_len) a multiple of \(comm.size)"
            )
        }
        let timer = PhaseTimer()
        var allreduceBefore = 0.0
        let peakBefore = Peaks.fp32(pool, 5)
        // The peak RSS reported is the timed steps' (with the model and optimizer already made):
        // the calibration product's operands, freed by now, are not training memory.
        let setUpPeakRSS = peakRSSMegabytes
        let peakRSSScopedToSteps = resetPeakRSS()
        for s in 0..<(warmup + steps) {
            if profile && s == warmup { model.timer = timer }
            if s == warmup { allreduceBefore = comm.allreduceSeconds }
            let t0 = DispatchTime.now().uptimeNanoseconds
            model.params.zeroGrads()
            for m in stride(from: comm.rank, to: accum, by: comm.size) {
                for i in 0..<inputs.count {
                    inputs[i] = Int32(rng.int(below: c.model.vocabSize))
                    targets[i] = Int32(rng.int(below: c.model.vocabSize))
                }
                inputs.withUnsafeBufferPointer {
                    model.forward(tokens: $0.baseAddress!, weightsUnchanged: m != comm.rank)
                }
                _ = targets.withUnsafeBufferPointer {
                    model.lossAndBackward(targets: $0.baseAddress!, ignoreIndex: -1, scale: 1 / Float(B * T * accum))
                }
            }
            if comm.size > 1 { comm.allreduceSum(model.params.grads.pointer, count: model.params.grads.count) }
            let t1 = DispatchTime.now().uptimeNanoseconds
            let norm = adam.gradNorm()
            guard norm.isFinite else { throw TesseraError.divergence("benchmark step \(s): gradient norm \(norm)") }
            adam.update(lr: c.schedule.lr(at: s), gradScale: c.optim.clipScale(norm: norm), pool: pool)
            if model.timer != nil { timer.add("clip+adamw", Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9) }
            if s >= warmup { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
        }
        times.sort()
        let median = times[times.count / 2]
        let tokens = Double(c.tokensPerStep)
        let gflops = tokens * flopsPerToken(c.model, seqLen: T) / median / 1e9
        // The peak a matmul reaches here with the same threads: a square product big enough to be
        // compute-bound, best of runs before and after the timed steps (the second vCPU of a shared
        // host comes and goes; the best run is the honest ceiling).
        let peakRSS = peakRSSMegabytes  // before the calibration below
        let peak = max(peakBefore, Peaks.fp32(pool, 5))
        let peakBF16 = Peaks.bf16(pool, 5)
        return TrainResult(
            tokensPerSecond: tokens / median, medianStepSeconds: median, bestStepSeconds: times[0],
            gflops: gflops, peaks: Peaks(fp32Gflops: peak, bf16Gflops: peakBF16), precision: c.precision,
            peakRSSMegabytes: peakRSS, peakRSSScopedToSteps: peakRSSScopedToSteps,
            processPeakRSSMegabytes: max(setUpPeakRSS, peakRSSMegabytes),
            parameters: model.params.parameterCount,
            phases: timer.order.map { ($0, timer.totals[$0]! / Double(steps)) },
            ranks: comm.size, allreduceSeconds: (comm.allreduceSeconds - allreduceBefore) / Double(steps))
    }
}

extension Benchmark {
    public struct ImageTokenizerResult {
        public let encodeImagesPerSecond, decodeImagesPerSecond, trainImagesPerSecond: Double
        public let encodeGflops, decodeGflops, trainGflops: Double
        public let parameters: Int
        public let peakRSSMegabytes: Double
        /// bf16 when the convolutions take bf16 operands (onednn-bf16).
        public let precision: Precision
        /// Measured after the timed passes, with the same threads.
        public let peaks: Peaks
        /// Seconds per training pass by kind of work (empty unless profiled); what the timed
        /// phases leave of the pass is "other" (quantizer, losses' gradient, parameter zeroing).
        public let trainPhases: [(String, Double)]
    }

    /// Median-timed encode, decode and full training passes (forward + backward, no optimizer)
    /// of a MoVQ model on random images in [−1, 1]. Training FLOPs are counted as 3× forward.
    public static func imageTokenizer(
        config: MoVQConfig, batch: Int, threads: Int, repeats: Int, convolutions: ConvolutionEngine = .auto,
        profile: Bool = false
    ) -> ImageTokenizerResult {
        let pool = Parallel(threads: threads)
        let model = MoVQModel(config: config, maxBatch: batch, pool: pool)
        model.workspace.convolutions = convolutions
        model.initialize(seed: 1)
        var rng = RandomStream(seed: 1, name: "bench/images")
        let images = (0..<(batch * model.imageSize)).map { _ in rng.uniform() * 2 - 1 }
        let dRecon = [Float](repeating: 1e-3, count: images.count)
        func median(_ body: () -> Void) -> Double {
            body()  // warm-up: scratch buffers grow once
            let times = (0..<repeats).map { _ -> Double in
                let t0 = Date(); body(); return Date().timeIntervalSince(t0)
            }
            return times.sorted()[times.count / 2]
        }
        let enc = images.withUnsafeBufferPointer { x in median { model.encode(x.baseAddress!, batch: batch) } }
        let dec = median { model.decodeQuant(batch: batch) }
        func trainPass() {
            images.withUnsafeBufferPointer { x in
                dRecon.withUnsafeBufferPointer { d in
                    model.params.zeroGrads()
                    _ = model.reconstruct(x.baseAddress!, batch: batch)
                    model.backward(dRecon: d.baseAddress!, vqScale: 1, batch: batch)
                }
            }
        }
        let train = median(trainPass)
        // The profile is taken over passes of its own, after the timed ones, so that the timer's
        // reads (a clock call per phase, ~100 per pass) never touch the headline figures.
        var phases: [(String, Double)] = []
        if profile {
            let timer = PhaseTimer()
            model.workspace.timer = timer
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { trainPass() }
            let total = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            model.workspace.timer = nil
            phases = timer.order.map { ($0, timer.totals[$0]! / Double(repeats)) }
            phases.append(("other", max(0, total / Double(repeats) - phases.reduce(0) { $0 + $1.1 })))
        }
        let b = Double(batch), fwd = model.encodeFLOPs + model.decodeFLOPs
        return ImageTokenizerResult(
            encodeImagesPerSecond: b / enc, decodeImagesPerSecond: b / dec, trainImagesPerSecond: b / train,
            encodeGflops: b * model.encodeFLOPs / enc / 1e9, decodeGflops: b * model.decodeFLOPs / dec / 1e9,
            trainGflops: 3 * b * fwd / train / 1e9, parameters: model.params.parameterCount,
            peakRSSMegabytes: peakRSSMegabytes, precision: convolutions == .onednnBF16 ? .bf16 : .fp32,
            peaks: Peaks.measure(pool), trainPhases: phases)
    }
}
