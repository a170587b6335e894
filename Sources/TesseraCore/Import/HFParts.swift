import Foundation

/// A Hugging Face config.json, read with one-line errors that name the file and the key.
struct HFConfig {
    let values: [String: Any]
    let path: String

    func bad(_ m: String) -> TesseraError { .data(file: path, m) }

    func int(_ k: String) throws -> Int {
        guard let v = values[k].flatMap(JSONKeys.exactInt), v > 0 else {
            throw bad("\(k) is missing or not a positive integer")
        }
        return v
    }

    /// The MLP activation under `key` (GPT-2: activation_function, GPT-NeoX: hidden_act).
    func mlp(_ key: String, default def: String) throws -> MLPKind {
        switch values[key] as? String ?? def {
        case "gelu_new", "gelu_pytorch_tanh": return .geluTanh
        case "gelu": return .gelu
        case let a: throw bad("\(key) \(a) is not supported (gelu, gelu_new, gelu_pytorch_tanh)")
        }
    }

    /// The imported model, with the directory's tokenizer.json when there is one.
    static func finish(dir: String, config: ModelConfig, store: ParameterStore, type: String) throws -> ImportedModel {
        let tokPath = (dir as NSString).appendingPathComponent("tokenizer.json")
        let tokenizer = FileIO.exists(tokPath) ? try TokenizerFiles.load(tokPath) : nil
        return ImportedModel(
            model: config, tokenizer: tokenizer, store: store,
            metadata: ["source": (dir as NSString).lastPathComponent, "model_type": type])
    }
}

/// The tensors of a Hugging Face checkpoint, read by name with their shapes checked and their use
/// recorded, so that a tensor left over (a name the map does not know) is an error.
struct HFTensors {
    let dir: String
    let weights: [String: (SafetensorsFile, SafetensorsFile.Entry)]
    /// Prepended to every name read ("transformer.", "gpt_neox.", or nothing).
    let prefix: String
    var used = Set<String>()

    mutating func read(_ name: String, shape: [Int], prefixed: Bool = true) throws -> [Float] {
        let full = (prefixed ? prefix : "") + name
        guard let (file, e) = weights[full] else { throw TesseraError.data(file: dir, "missing tensor \"\(full)\"") }
        guard e.shape == shape else {
            throw TesseraError.data(file: file.path, "tensor \"\(full)\" has shape \(e.shape), expected \(shape)")
        }
        var out = [Float](repeating: 0, count: e.count)
        try out.withUnsafeMutableBufferPointer { try file.read(full, into: $0.baseAddress!, count: e.count) }
        used.insert(full)
        return out
    }

    /// Throws on the first tensor not read, except names ending in one of `suffixes` (buffers).
    func checkAllUsed(ignoring suffixes: [String]) throws {
        let unused = Set(weights.keys).subtracting(used).filter { n in !suffixes.contains { n.hasSuffix($0) } }
        if let u = unused.sorted().first {
            throw TesseraError.data(file: dir, "tensor \"\(u)\" maps to no Tessera parameter (\(unused.count) unused)")
        }
    }
}
