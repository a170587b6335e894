import ArgumentParser
import Foundation
import TesseraCore
import TesseraMPI

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput and GEMM speed on this machine.",
        subcommands: [
            BenchTrain.self, BenchImageTokenizer.self, BenchConvolutions.self, BenchSample.self, BenchGemm.self,
            BenchTokenize.self, BenchKernel.self,
        ])
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Tokens/s, GFLOP/s, MFU and peak RSS of full training steps of a config, on random tokens.",
        discussion: """
            FLOPs per token = 6·N_matmul + 12·L·d·T (PaLM's MFU convention). MFU is against the best \
            cblas_sgemm 2048³ rate measured in the same process with the same threads. The step time \
            is the median of the timed steps. Peak RSS is counted over the warm-up and timed steps, \
            the model and optimizer already made (the high-water mark is reset before them, so the \
            calibration product's operands do not count; the whole process's peak is printed beside \
            it). Under mpirun the ranks split each step's micro-batches \
            and sum gradients as in training; rank 0 prints the global tokens/s and the allreduce time.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Timed steps.") var steps: Int = 5
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 1
    @Flag(help: "One JSON line on stdout.") var json = false
    @Flag(help: "Also print the time per step of each phase (norm, linear, attention, ...).") var profile = false

    func validate() throws {
        guard steps >= 1, warmup >= 0 else { throw TesseraError.config("--steps must be ≥ 1 and --warmup ≥ 0") }
    }

    func run() throws {
        var c = try options.load()
        let mpi = MPICommunicator.fromEnvironment()
        defer { mpi?.finalize() }
        if let mpi { c.threads = mpi.threads(forConfigured: c.threads) }
        let r: Benchmark.TrainResult
        do {
            r = try Benchmark.train(
                config: c, steps: steps, warmup: warmup, profile: profile, comm: mpi ?? SingleProcess())
        } catch {
            if let mpi, mpi.size > 1 { _ = report(error); mpi.abort(code: (error as? TesseraError)?.exitCode ?? 1) };
            throw error
        }
        guard mpi?.isRoot ?? true else { return }
        if json {
            Console.out(
                MetricsLog.line(
                    [
                        "config": options.config ?? "", "threads": c.threads, "blas_core": Gemm.coreName,
                        "parameters": r.parameters, "tokens_per_step": c.tokensPerStep,
                        "tokens_per_s": (r.tokensPerSecond * 10).rounded() / 10,
                        "step_ms": (r.medianStepSeconds * 1e4).rounded() / 10,
                        "best_step_ms": (r.bestStepSeconds * 1e4).rounded() / 10,
                        "gflops": (r.gflops * 10).rounded() / 10,
                        "mfu": (r.mfu * 1000).rounded() / 1000,
                        "peak_rss_mb": r.peakRSSMegabytes.rounded(),
                        "peak_rss_scope": r.peakRSSScopedToSteps ? "steps" : "process",
                        "process_peak_rss_mb": r.processPeakRSSMegabytes.rounded(), "ranks": r.ranks,
                        "allreduce_ms_per_step": (r.allreduceSeconds * 1e4).rounded() / 10,
                    ].merging(r.peaks.json(gflops: r.gflops, precision: r.precision)) { a, _ in a }.merging(
                        profile
                            ? [
                                "phases_ms": phasesJSON(r.phases)
                            ] : [:]
                    ) { a, _ in a }))
        } else {
            Console.out(
                String(
                    format: """
                        config %@: %d parameters, %d tokens/step, %d thread(s), %@, OpenBLAS kernel %@
                          %.0f tokens/s   step %.1f ms (median of %d, best %.1f)
                          %@   peak RSS %.0f MB (%@; whole process %.0f MB)
                        """, options.config ?? "", r.parameters, c.tokensPerStep, c.threads, r.precision.rawValue,
                    Gemm.coreName, r.tokensPerSecond, r.medianStepSeconds * 1000, steps, r.bestStepSeconds * 1000,
                    r.peaks.describe(gflops: r.gflops), r.peakRSSMegabytes,
                    r.peakRSSScopedToSteps ? "timed steps" : "could not be reset", r.processPeakRSSMegabytes))
            if r.ranks > 1 {
                Console.out(
                    String(
                        format:
                            "  %d MPI ranks × %d thread(s); gradient allreduce %.1f ms per step (%.1f%% of the step)",
                        r.ranks, c.threads, r.allreduceSeconds * 1000, 100 * r.allreduceSeconds / r.medianStepSeconds))
            }
            printPhases(r.phases, per: "step")
        }
    }
}

struct BenchImageTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vq",
        abstract: "Images/s and GFLOP/s of the MoVQ image tokenizer of a task: vq config: encode, decode, train pass.",
        discussion: """
            Random images of the config's resolution; the median of --repeats timed passes after one \
            warm-up. FLOPs count every convolution, attention product and code distance; a training \
            pass (forward + backward) counts 3× the forward. scripts/bench/compare-vq.sh runs the same \
            network in PyTorch beside it.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Images per pass (default: the config's optim.batch).") var batch: Int?
    @Option(help: "Timed passes.") var repeats = 5
    @Option(
        help:
            "Who runs the convolutions: auto (per shape), im2col (+ OpenBLAS GEMM), onednn, onednn-bf16 (default: the config's)."
    )
    var convolutions: ConvolutionEngine?
    @Flag(help: "One JSON line on stdout.") var json = false
    @Flag(
        help: "Also print the time per training pass of each kind of work (convolutions by shape and pass, norms, ...)."
    )
    var profile = false

    func validate() throws {
        if convolutions == .onednnBF16, let why = Precision.bf16.unsupported() {
            throw TesseraError.config("--convolutions onednn-bf16: \(why)")
        }
        guard (batch ?? 1) >= 1, repeats >= 1 else { throw TesseraError.config("--batch and --repeats must be ≥ 1") }
    }

    func run() throws {
        guard case .vq(let c) = try options.loadRun() else {
            throw TesseraError.config("\(options.config ?? ""): bench vq needs a task: vq config")
        }
        let convolutions = self.convolutions ?? c.engine
        let b = batch ?? c.optim.batch
        if let why = VQTrainConfig.batchMemoryProblem(c.model, batch: b, what: "--batch") {
            throw TesseraError.config(why)
        }
        let r = Benchmark.imageTokenizer(
            config: c.model, batch: b, threads: c.threads, repeats: repeats, convolutions: convolutions,
            profile: profile)
        func r1(_ x: Double) -> Double { (x * 10).rounded() / 10 }
        let ompPolicy = OpenMPWaitPolicy.inForce(in: ProcessInfo.processInfo.environment)
        if json {
            Console.out(
                MetricsLog.line(
                    [
                        "impl": "tessera-" + convolutions.rawValue, "convolutions": convolutions.rawValue,
                        "omp_wait_policy": ompPolicy,
                        "config": options.config ?? "", "threads": c.threads, "batch": b,
                        "parameters": r.parameters,
                        "encode_images_per_s": r1(r.encodeImagesPerSecond),
                        "decode_images_per_s": r1(r.decodeImagesPerSecond),
                        "train_images_per_s": r1(r.trainImagesPerSecond), "encode_gflops": r1(r.encodeGflops),
                        "decode_gflops": r1(r.decodeGflops), "train_gflops": r1(r.trainGflops),
                        "peak_rss_mb": r.peakRSSMegabytes.rounded(),
                    ].merging(r.peaks.json(gflops: r.trainGflops, precision: r.precision)) { a, _ in a }.merging(
                        profile ? ["train_phases_ms": phasesJSON(r.trainPhases)] : [:]
                    ) { a, _ in a }))
        } else {
            Console.out(
                String(
                    format: """
                        config %@: MoVQ %d parameters, %d² images, batch %d, %d thread(s), OpenBLAS kernel %@, convolutions %@, OpenMP wait %@
                          encode %.1f images/s (%.1f GFLOP/s)   decode %.1f images/s (%.1f GFLOP/s)
                          train pass %.1f images/s (%@)   peak RSS %.0f MB
                        """, options.config ?? "", r.parameters, c.model.resolution, b, c.threads, Gemm.coreName,
                    convolutions.rawValue, ompPolicy, r.encodeImagesPerSecond, r.encodeGflops, r.decodeImagesPerSecond,
                    r.decodeGflops, r.trainImagesPerSecond, r.peaks.describe(gflops: r.trainGflops),
                    r.peakRSSMegabytes))
            printPhases(r.trainPhases, per: "pass")
        }
    }
}

struct BenchConvolutions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conv",
        abstract:
            "Each convolution shape class of a task: vq config, forward and backward, on each engine side by side.",
        discussion: """
            A shape class is one (channels, size, kernel, stride, padding) wherever it occurs in the \
            encoder and decoder. Random tensors; the engines alternate round by round and each figure \
            is the median of --repeats rounds after a warm-up. Backward = input and weight gradients.
            """)

    @OptionGroup var options: ConfigOptions
    @Option(help: "Images per pass (default: the config's optim.batch).") var batch: Int?
    @Option(help: "Timed rounds.") var repeats = 5
    @Option(help: "Engines, comma-separated (im2col, onednn, onednn-bf16).") var engines = "im2col,onednn"
    @Flag(help: "One JSON line per shape class on stdout.") var json = false

    /// --engines as a list: each a known engine this CPU can run, none twice, at least one.
    func engineList() throws -> [ConvolutionEngine] {
        var list: [ConvolutionEngine] = []
        for name in engines.split(separator: ",") {
            guard let e = ConvolutionEngine(rawValue: String(name)) else {
                throw TesseraError.config(
                    "--engines: unknown engine \"\(name)\" (\(ConvolutionEngine.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            if e == .onednnBF16, let why = Precision.bf16.unsupported() {
                throw TesseraError.config("--engines onednn-bf16: \(why)")
            }
            guard !list.contains(e) else { throw TesseraError.config("--engines: \(e.rawValue) is named twice") }
            list.append(e)
        }
        guard !list.isEmpty else { throw TesseraError.config("--engines names no engine") }
        return list
    }

    func validate() throws {
        _ = try engineList()
        guard (1...4096).contains(batch ?? 1), (1...1000).contains(repeats) else {
            throw TesseraError.config("--batch must be 1…4096 and --repeats 1…1000")
        }
    }

    func run() throws {
        guard case .vq(let c) = try options.loadRun() else {
            throw TesseraError.config("\(options.config ?? ""): bench conv needs a task: vq config")
        }
        let list = try engineList()
        let b = batch ?? c.optim.batch
        guard b <= 4096 else {
            throw TesseraError.config(
                "bench conv runs at most 4096 images; the config's optim.batch is \(b): give --batch")
        }
        if let why = VQTrainConfig.batchMemoryProblem(c.model, batch: b, what: "--batch") {
            throw TesseraError.config(why)
        }
        let model = MoVQModel(config: c.model, maxBatch: 1, pool: Parallel(threads: 1))
        let rows = Benchmark.convolutions(
            shapes: model.convolutionShapes, batch: b, threads: c.threads, repeats: repeats, engines: list)
        if json {
            for r in rows { Console.out(MetricsLog.line(r)) }
            return
        }
        Console.out(
            "config \(options.config ?? ""): batch \(b), \(c.threads) thread(s), median of \(repeats) rounds, ms")
        let head = list.map { $0.rawValue }
        Console.out(
            "shape class".padding(toLength: 34, withPad: " ", startingAt: 0) + " layers"
                + head.map { " fwd " + $0 }.joined() + head.map { " bwd " + $0 }.joined() + "  fastest")
        for r in rows {
            let cells =
                head.map { String(format: " %*.2f", 4 + $0.count, r.forwardMs[$0]!) }.joined()
                + head.map { String(format: " %*.2f", 4 + $0.count, r.backwardMs[$0]!) }.joined()
            Console.out(
                r.shape.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: " %6d", r.layers.count)
                    + cells + "  " + r.fastest)
        }
    }
}

struct BenchGemm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract:
            "GFLOP/s of single GEMMs: Tessera's row/column sharding (OpenBLAS at 1 thread) vs OpenBLAS's own threads, and the bf16 product through oneDNN.",
        discussion: """
            Columns: "1 call" is one cblas_sgemm on one thread; "1 thread" is Tessera's blocks run in \
            turn on one thread (what a 1-thread run does: the blocks depend on the shape alone, so \
            the bits do not depend on the thread count), their ratio the blocks' price; "sharded" \
            the same blocks on --threads workers; "blas-pool" one call on OpenBLAS's own threads; \
            then the bf16 product through oneDNN on 1 and --threads threads ("-" without bf16 kernels).
            """
    )

    @OptionGroup var workers: ThreadsOption
    @Option(help: "Repetitions per shape (best is reported).") var repeats: Int = 5
    @Flag(help: "JSON lines on stdout.") var json = false

    func validate() throws {
        guard repeats >= 1 else { throw TesseraError.config("--repeats must be ≥ 1") }
    }

    func run() throws {
        let pool = Parallel(threads: workers.threads)
        let shapes: [(String, Int, Int, Int, Bool)] = [
            ("square 1024", 1024, 1024, 1024, false), ("square 2048", 2048, 2048, 2048, false),
            ("tiny qkv 2560x256x768", 2560, 256, 768, true), ("tiny ffn up 2560x256x1376", 2560, 256, 1376, true),
            ("tiny ffn down 2560x688x256", 2560, 688, 256, true), ("tiny head 2560x256x5128", 2560, 256, 5128, true),
            ("small ffn up 4608x512x2752", 4608, 512, 2752, true),
            ("small head chunk 256x512x66695", 256, 512, 66695, true),
        ]
        if !json {
            Console.out("OpenBLAS kernel \(Gemm.coreName), \(workers.threads) thread(s); GFLOP/s, best of \(repeats)")
        }
        func row(_ cols: [String]) -> String {
            cols[0].padding(toLength: 34, withPad: " ", startingAt: 0)
                + cols.dropFirst().map { String(repeating: " ", count: max(0, 12 - $0.count)) + $0 }.joined()
        }
        if !json {
            Console.out(
                "bf16: oneDNN \(DNNL.isaName)"
                    + (DNNL.nativeBF16
                        ? ""
                        : DNNL.hasBF16Kernels ? " (no native bf16 on this CPU: emulated, slow)" : " (no bf16 kernels)"))
            Console.out(
                row(["shape (M x K x N)", "1 call", "1 thread", "sharded", "blas-pool", "bf16 1 thr", "bf16 dnnl"]))
        }
        let single = Parallel(threads: 1)
        for (name, m, k, n, t) in shapes {
            let call = Benchmark.gemm(single, m: m, k: k, n: n, transB: t, repeats: repeats, blasThreads: 1)
            let one = Benchmark.gemm(single, m: m, k: k, n: n, transB: t, repeats: repeats)
            let sharded = Benchmark.gemm(pool, m: m, k: k, n: n, transB: t, repeats: repeats)
            let blas = Benchmark.gemm(pool, m: m, k: k, n: n, transB: t, repeats: repeats, blasThreads: workers.threads)
            // No bf16 kernels (an AVX2-only CPU): no bf16 figures, null in --json.
            func bf16Rate(threads: Int) -> Double? {
                DNNL.hasBF16Kernels
                    ? Benchmark.gemmBF16(threads: threads, m: m, k: k, n: n, transB: t, repeats: repeats) : nil
            }
            let bf16One = bf16Rate(threads: 1), bf16 = bf16Rate(threads: workers.threads)
            if json {
                Console.out(
                    MetricsLog.line([
                        "shape": name, "m": m, "k": k, "n": n, "threads": workers.threads, "blas_core": Gemm.coreName,
                        "gflops_1call": call.rounded(), "gflops_1thread": one.rounded(),
                        "gflops_sharded": sharded.rounded(),
                        "gflops_blas_pool": blas.rounded(), "dnnl_isa": DNNL.isaName,
                        "gflops_bf16_1thread": bf16One.map { $0.rounded() } ?? NSNull(),
                        "gflops_bf16_dnnl": bf16.map { $0.rounded() } ?? NSNull(),
                    ]))
            } else {
                Console.out(
                    row(
                        [name]
                            + [call, one, sharded, blas, bf16One, bf16].map {
                                $0.map { String(format: "%.1f", $0) } ?? "-"
                            }))
            }
        }
    }
}

struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "BPE encode speed on one thread (MB/s, best of 3 passes, a fresh tokenizer and cache each pass).",
        discussion: "scripts/bench/hf_tokenize.py measures HF tokenizers the same way.")

    @Option(help: "tokenizer.json, or vocab.json with merges.txt beside it.") var tokenizer: String
    @Option(name: .customLong("in"), help: "Text file (repeatable).") var inputs: [String]
    @Flag(help: "One JSON line on stdout.") var json = false

    func run() throws {
        var text: [UInt8] = []
        for f in inputs { text += try FileIO.read(f) }
        var best = Double.infinity
        var count = 0
        for _ in 0..<3 {
            let tok = try TokenizerFiles.load(tokenizer)
            let t0 = DispatchTime.now().uptimeNanoseconds
            count = tok.encode(bytes: text).count
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let mbps = Double(text.count) / best / 1e6
        if json {
            Console.out(
                MetricsLog.line([
                    "who": "tessera", "tokenizer": tokenizer, "bytes": text.count, "ids": count,
                    "mb_per_s": (mbps * 100).rounded() / 100,
                ]))
        } else {
            Console.out(String(format: "%d bytes → %d ids: %.2f MB/s (one thread)", text.count, count, mbps))
        }
    }
}

struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract:
            "Image-code sampling speed of a text-to-image checkpoint with the KV cache: codes/s for one image, greedy.",
        discussion: """
            Feeds <doc> <text> caption </text> <image> and draws the image's codes one at a time (only \
            the code rows of the output layer are computed), as `eval sample` does; greedy, so the codes \
            are comparable with scripts/bench/torch_t2i_sample.py on the same weights. Reports the \
            median over --repeats images.
            """)

    @Option(help: "Text-to-image checkpoint or run directory.") var checkpoint: String
    @Option(help: "Caption of the prompt.") var caption = "a cat"
    @Option(help: "Codes per image (default: as many as fit after the prompt, at most 256).") var codes = 0
    @Option(help: "Timed images.") var repeats = 3
    @OptionGroup var workers: ThreadsOption
    @OptionGroup var arithmetic: PrecisionOption
    @Flag(help: "One JSON line on stdout.") var json = false

    func validate() throws {
        guard repeats >= 1, codes >= 0 else { throw TesseraError.config("--repeats must be ≥ 1 and --codes ≥ 0") }
    }

    func run() throws {
        let loaded = try LoadedCheckpoint(
            path: checkpoint, batch: 1, threads: workers.threads, seqLen: 1, precision: arithmetic.precision)
        guard let layout = try Checkpoint.layout(loaded.path) else {
            throw TesseraError.data(file: loaded.path, "is not a text-to-image checkpoint (no layout.json)")
        }
        let L = loaded.config.data.seqLen + 1
        let prompt = TextToImageGenerator.prompt(
            caption: loaded.encode(caption), layout: layout, sequenceLength: L, codesPerImage: 1)
        let room = L - 2 - prompt.count  // </image> </doc> close every training sequence
        let n = codes == 0 ? min(256, room) : codes
        guard n >= 1, n <= room else {
            throw TesseraError.config(
                "--codes \(n): the checkpoint's \(L)-id sequences leave room for \(room) after this prompt")
        }
        let g = TextToImageGenerator(
            config: loaded.config.model, params: loaded.model.params, layout: layout,
            codesPerImage: n, sequenceLength: L, pool: loaded.model.pool, bf16: loaded.model.mixed)
        precondition(g.prompt(caption: loaded.encode(caption)) == prompt)
        var times: [Double] = [], drawn: [Int32] = []
        for _ in 0..<(repeats + 1) {  // the first image warms caches and is not timed
            var greedy = Sampler()
            let s = g.sample(caption: loaded.encode(caption), sampler: &greedy)
            times.append(s.seconds); drawn = s.codes
        }
        let median = times.dropFirst().sorted()[repeats / 2]
        let gflops =
            Benchmark.sampleFLOPs(
                loaded.config.model, prompt: prompt.count, codes: n, codeRows: layout.imageRange.count) / median / 1e9
        let peakRSS = Benchmark.peakRSSMegabytes  // before the calibration products below
        let peaks = Benchmark.Peaks.measure(loaded.model.pool)
        let row: [String: Any] = [
            "who": "tessera", "checkpoint": loaded.path, "threads": workers.threads, "codes": n,
            "prompt_ids": prompt.map(Int.init),
            "code_range": [layout.imageRange.lowerBound, layout.imageRange.upperBound],
            "codes_per_s": (Double(n) / median * 10).rounded() / 10,
            "ms_per_code": (median / Double(n) * 1e5).rounded() / 100,
            "first_codes": drawn.prefix(16).map(Int.init), "peak_rss_mb": peakRSS.rounded(),
            "gflops": (gflops * 10).rounded() / 10,
        ].merging(peaks.json(gflops: gflops, precision: arithmetic.precision)) { a, _ in a }
        if json {
            Console.out(MetricsLog.line(row))
        } else {
            Console.out(
                String(
                    format:
                        "%d codes after a %d-token prompt: %.1f codes/s (%.2f ms/code), %@, %@, peak RSS %.0f MB, %d thread(s)",
                    n, prompt.count, Double(n) / median, median / Double(n) * 1e3, arithmetic.precision.rawValue,
                    peaks.describe(gflops: gflops), peakRSS, workers.threads))
        }
    }
}

struct BenchKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract:
            "The OpenBLAS kernel set in use, and a better one when OpenBLAS fell back to a generic set on this CPU.",
        discussion: """
            Prints "kernel NAME" and, when OPENBLAS_CORETYPE is unset and NAME is a generic fallback \
            (Prescott, Core2, …) on a CPU with AVX2 or AVX-512, "suggested NAME" — the value to export as \
            OPENBLAS_CORETYPE before running. --suggested prints only that name (empty when none).
            """)

    @Flag(help: "Print only the suggested kernel set (nothing when there is none).") var suggested = false

    func run() throws {
        let advice = BLASKernel.advice()
        if suggested {
            if let advice { Console.out(advice) }
            return
        }
        Console.out("kernel \(Gemm.coreName)")
        if let advice { Console.out("suggested \(advice) (export OPENBLAS_CORETYPE=\(advice))") }
    }
}

/// A profile's phases as JSON: milliseconds, one decimal.
func phasesJSON(_ phases: [(String, Double)]) -> [String: Double] {
    Dictionary(uniqueKeysWithValues: phases.map { ($0.0, ($0.1 * 1e4).rounded() / 10) })
}

/// A profile's phases, slowest first, with their share of the whole.
func printPhases(_ phases: [(String, Double)], per unit: String) {
    guard !phases.isEmpty else { return }
    let total = phases.reduce(0) { $0 + $1.1 }
    Console.out(String(format: "  profile, per %@ (%.1f ms):", unit, total * 1000))
    for (name, t) in phases.sorted(by: { $0.1 > $1.1 }) {
        Console.out(
            "    " + name.padding(toLength: 34, withPad: " ", startingAt: 0)
                + String(format: "%9.1f ms  %5.1f%%", t * 1000, 100 * t / max(total, 1e-12)))
    }
}
