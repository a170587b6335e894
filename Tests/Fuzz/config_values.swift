import Foundation

/// A valid text-to-image training config with fuzzed numbers: model dimensions, sequence and
/// batch sizes. The reader and `Transformer.sizeProblem` must answer with an error, never trap
/// (overflow) or allocate from an unbounded number. Also what a checkpoint's config.json reaches.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    let model: [String: Any] = [
        "d_model": v.small(64), "n_layers": v.small(2), "n_heads": v.small(4), "n_kv_heads": v.small(2),
        "vocab_size": v.small(512), "ffn_hidden": v.small(128), "max_seq_len": v.small(64), "rotary_dims": v.small(0),
        "tie_embeddings": v.bool(), "learned_positions": v.bool(), "linear_bias": v.bool(),
        "parallel_residual": v.bool(),
    ]
    let tree: [String: Any] = [
        "seed": v.small(1), "model": model,
        "data": ["seq_len": v.small(32)],
        "optim": ["steps": v.small(10), "micro_batch": v.small(4), "warmup_steps": v.small(2)],
        "eval": ["every": v.small(5), "tokens": v.small(0)],
        "checkpoint": ["every": v.small(5), "keep_last": v.small(2)],
    ]
    guard let c = try? TrainConfig(reader: ConfigReader(tree: tree, file: "fuzz")) else { return 0 }
    _ = Transformer.sizeProblem(c.model, batch: c.optim.microBatch, seqLen: c.data.seqLen, training: true)
    _ = Transformer.sizeProblem(c.model, batch: v.int(), seqLen: v.int(), training: false)
    return 0
}
