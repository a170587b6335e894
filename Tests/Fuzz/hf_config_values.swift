import Foundation

/// A Hugging Face checkpoint directory (the tiny Llama, GPT-2 or GPT-NeoX fixture's weights) with
/// a config.json of fuzzed numbers: hidden size, layers, heads, vocabulary, MLP width, context.
/// The importer must refuse what the weights do not hold before it allocates, never trap.
/// FUZZ_FIXTURES names the fixture folder (scripts/fuzz.sh sets it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHFConfigValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    let families = ["hf_llama_tiny", "hf_gpt2_tiny", "hf_gpt_neox_tiny"]
    let family = families[Int(v.byte()) % families.count]
    let dir = HFFuzzDirectory.shared.prepare(family)
    var cfg: [String: Any]
    switch family {
    case "hf_gpt2_tiny":
        cfg = [
            "model_type": "gpt2", "n_embd": v.small(48), "n_head": v.small(4), "n_layer": v.small(2),
            "vocab_size": v.small(97),
            "n_positions": v.small(32), "n_inner": v.small(192),
        ]
    case "hf_gpt_neox_tiny":
        cfg = [
            "model_type": "gpt_neox", "hidden_size": v.small(48), "num_attention_heads": v.small(4),
            "num_hidden_layers": v.small(2),
            "vocab_size": v.small(97), "intermediate_size": v.small(96), "max_position_embeddings": v.small(24),
            "rotary_pct": 0.5, "use_parallel_residual": v.bool(),
        ]
    default:
        cfg = [
            "model_type": "llama", "hidden_size": v.small(48), "num_attention_heads": v.small(4),
            "num_key_value_heads": v.small(2),
            "num_hidden_layers": v.small(2), "vocab_size": v.small(97), "intermediate_size": v.small(96),
            "max_position_embeddings": v.small(64), "tie_word_embeddings": v.bool(),
        ]
    }
    guard let json = try? JSONSerialization.data(withJSONObject: cfg) else { return 0 }
    try? json.write(to: URL(fileURLWithPath: dir + "/config.json"))
    _ = try? HFImport.load(dir: dir)
    return 0
}

/// One scratch directory per fixture family, holding a copy of its weights.
final class HFFuzzDirectory {
    static let shared = HFFuzzDirectory()
    var made: [String: String] = [:]

    func prepare(_ family: String) -> String {
        if let d = made[family] { return d }
        let fixtures = ProcessInfo.processInfo.environment["FUZZ_FIXTURES"] ?? "Tests/TesseraCoreTests/Fixtures"
        let d = NSTemporaryDirectory() + "tessera-fuzz-\(family)-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: d + "/model.safetensors")
        try? FileManager.default.copyItem(
            atPath: fixtures + "/\(family)/model.safetensors", toPath: d + "/model.safetensors")
        made[family] = d
        return d
    }
}
