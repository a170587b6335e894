import Foundation

/// A valid image-tokenizer config with fuzzed numbers (resolution, widths, levels, codebook,
/// batch): the reader must refuse what is out of range before anything computes with it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVQConfigValues(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var v = FuzzValues(data, size)
    let levels = Int(v.byte() % 10)
    let model: [String: Any] = [
        "resolution": v.small(32), "ch": v.small(16), "ch_mult": (0..<levels).map { _ in v.small(2) },
        "num_res_blocks": v.small(1), "attn_resolutions": [v.small(8)], "z_channels": v.small(4),
        "embed_dim": v.small(4),
        "n_embed": v.small(256), "norm_groups": v.small(8),
    ]
    let tree: [String: Any] = [
        "task": "vq", "seed": 1, "model": model,
        "data": ["shapes": ["count": v.small(16), "val_count": v.small(4)]],
        "optim": ["steps": v.small(10), "batch": v.small(4)],
    ]
    _ = try? VQTrainConfig(reader: ConfigReader(tree: tree, file: "fuzz"))
    return 0
}
