import Foundation

/// A checkpoint directory (a small model's weights, written by Tessera) whose config.json carries
/// fuzzed numbers, loaded as `eval`, `probe` and `eval sample` load a checkpoint: the sizes must
/// be refused with an error before anything is allocated from them, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointConfigValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    let dir = CheckpointFuzzDirectory.shared.dir
    let model: [String: Any] = [
        "d_model": v.small(48), "n_layers": v.small(2), "n_heads": v.small(4), "n_kv_heads": v.small(2),
        "vocab_size": v.small(300), "ffn_hidden": v.small(64), "max_seq_len": v.small(17), "norm": "rmsnorm",
        "rope": "half",
        "tie_embeddings": v.bool(),
    ]
    let tree: [String: Any] = [
        "seed": 1, "threads": 1, "model": model, "data": ["seq_len": v.small(16), "train": "x"],
        "optim": ["steps": 1, "micro_batch": 1],
    ]
    guard let json = try? JSONSerialization.data(withJSONObject: tree) else { return 0 }
    try? json.write(to: URL(fileURLWithPath: dir + "/config.json"))
    _ = try? LoadedCheckpoint(path: dir, batch: max(1, min(v.small(2), 1 << 20)), threads: 1)
    return 0
}

/// A scratch checkpoint directory holding a small model's weights (the base config above).
final class CheckpointFuzzDirectory {
    static let shared = CheckpointFuzzDirectory()
    let dir: String

    init() {
        dir = NSTemporaryDirectory() + "tessera-fuzz-checkpoint-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let c = ModelConfig(
            dModel: 48, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 300, ffnHidden: 64, norm: .rmsNorm,
            rope: .half, maxSeqLen: 17)
        let m = Transformer(config: c, batch: 1, seqLen: 16, pool: Parallel(threads: 1))
        m.initialize(seed: 1)
        let tensors = m.params.slots.map {
            SafetensorsTensor(name: $0.name, shape: $0.shape, f32: m.params.values.pointer + $0.offset)
        }
        try? SafetensorsWriter.write(path: dir + "/model.safetensors", tensors: tensors)
    }
}
