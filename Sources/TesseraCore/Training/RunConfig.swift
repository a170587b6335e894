import Foundation

/// A config of either kind of run, told apart by its `task` key: the language model (`lm`, the
/// default) or the image tokenizer (`vq`).
public enum RunConfig {
    case lm(TrainConfig)
    case vq(VQTrainConfig)

    public var json: Data {
        switch self {
        case .lm(let c): c.json;
        case .vq(let c): c.json
        }
    }
    public var hash: String {
        switch self {
        case .lm(let c): c.hash;
        case .vq(let c): c.hash
        }
    }
    public var threads: Int {
        switch self {
        case .lm(let c): c.threads;
        case .vq(let c): c.threads
        }
    }

    /// Why this run's bits depend on its thread count, nil when they do not (Tessera's GEMM blocks
    /// and im2col are functions of the shape alone): a resume then keeps the recorded count.
    public var threadCountChangesBits: String? {
        switch self {
        case .lm(let c):
            if c.gemmThreading == .openblas {
                return "gemm_threading: openblas splits each large GEMM by the thread count"
            }
            return c.precision == .bf16 ? "its bf16 products run on oneDNN, which blocks them by the thread count" : nil
        case .vq(let c):
            return c.engine == .im2col
                ? nil
                : "its convolutions run on oneDNN, which sums weight gradients in an order set by the thread count"
        }
    }

    public var task: String {
        switch self {
        case .lm: "lm";
        case .vq: "vq"
        }
    }

    public init(reader r: ConfigReader) throws {
        switch try r.string("task", "lm") {
        case "lm": self = .lm(try TrainConfig(reader: r))
        case "vq": self = .vq(try VQTrainConfig(reader: r))
        case let t:
            throw TesseraError.config("\(r.file): task: \"\(t)\" is not lm (language model) or vq (image tokenizer)")
        }
    }

    /// The config a run directory was started with.
    public static func saved(_ dir: String) throws -> RunConfig {
        if try RunDirectory.savedTask(dir) == "vq" {
            return .vq(try VQTrainConfig.load(json: RunDirectory.configPath(dir)))
        }
        return .lm(try RunDirectory.savedConfig(dir))
    }

    /// The config a resumed run continues with: its own config.json (with `threads` when given),
    /// or `given` when it has the same hash — or any hash of the same task with `allowChange`.
    public static func forResume(_ dir: String, given: RunConfig?, threads: Int?, allowChange: Bool) throws -> RunConfig
    {
        let saved = try saved(dir)
        let resumed: RunConfig
        if let given {
            guard given.task == saved.task else {
                throw TesseraError.runState("--config is a \(given.task) config but \(dir) is a \(saved.task) run")
            }
            guard given.hash == saved.hash || allowChange else {
                throw TesseraError.runState(
                    "--config differs from \(dir)/config.json (hash \(given.hash) vs \(saved.hash)); pass --allow-config-change to use it"
                )
            }
            resumed = given
        } else {
            resumed = saved.with(threads: threads)
        }
        // Measured: vq-smoke on oneDNN gives the same first loss on 1 and 2 threads and other last
        // bits from the second step on, when the weight gradients have been summed once.
        if resumed.threads != saved.threads, !allowChange, let why = saved.threadCountChangesBits {
            throw TesseraError.runState(
                "\(dir) ran on \(saved.threads) thread(s) and \(why): resume on \(saved.threads) to continue bit for bit, or pass --allow-config-change"
            )
        }
        return resumed
    }

    public func with(threads: Int?) -> RunConfig {
        guard let threads else { return self }
        switch self {
        case .lm(var c): c.threads = threads; return .lm(c)
        case .vq(var c): c.threads = threads; return .vq(c)
        }
    }
}
