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

    /// The weight files must hold the parameters `config` describes, checked before the model is
    /// allocated: a config.json that promises a model the files do not hold (a huge hidden_size or
    /// num_hidden_layers beside small weights) fails in one line instead of an allocation. Norms and
    /// biases are counted loosely (`parameterCountEstimate`), so a slack of 8·d per layer is allowed.
    func requireWeightsHold(_ config: ModelConfig, _ weights: [String: (SafetensorsFile, SafetensorsFile.Entry)]) throws
    {
        var held = 0
        for (_, e) in weights.values {
            let n = e.shape.reduce(1) { a, b in
                let (r, o) = a.multipliedReportingOverflow(by: max(0, b)); return o ? Int.max : r
            }
            let (t, o) = held.addingReportingOverflow(n)
            held = o ? Int.max : t
        }
        let need = config.parameterCountEstimate
        let slack = SizeLimits.bytes(8 * config.dModel, config.nLayers + 1) ?? Int.max
        guard held >= need || need - held <= slack else {
            throw bad(
                "describes about \(need) parameters (hidden_size \(config.dModel), \(config.nLayers) layers, vocabulary \(config.vocabSize)); the weight files hold \(held)"
            )
        }
    }

    /// The imported model, with the directory's tokenizer.json when there is one.
    static func finish(dir: String, config: ModelConfig, store: ParameterStore, type: String) throws -> ImportedModel {
        let tokPath = dir.appendingPathComponent("tokenizer.json")
        let tokenizer = FileIO.exists(tokPath) ? try TokenizerFiles.load(tokPath) : nil
        return ImportedModel(
            model: config, tokenizer: tokenizer, store: store,
            metadata: ["source": dir.lastPathComponent, "model_type": type])
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
