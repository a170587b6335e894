import Foundation
import TesseraCore
import Testing

extension ReferenceCache {
    static var smolLM2: String { root + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }
    static var hasSmolLM2: Bool { FileManager.default.fileExists(atPath: smolLM2) }
}

@Suite struct InferenceTests {
    /// The KV-cache path gives, at every position, the logits of a full forward pass.
    @Test(arguments: [NormKind.layerNorm, NormKind.rmsNorm])
    func kvCacheEqualsFullForward(norm: NormKind) {
        let pool = Parallel(threads: 2)
        let c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 4, nKVHeads: norm == .rmsNorm ? 2 : 4, vocabSize: 50, ffnHidden: 48,
            norm: norm, rope: norm == .rmsNorm ? .interleaved : .half, tieEmbeddings: norm == .rmsNorm, maxSeqLen: 20)
        let model = Transformer(config: c, batch: 1, seqLen: 20, pool: pool)
        model.initialize(seed: 9)
        let tokens: [Int32] = (0..<20).map { Int32(($0 * 7 + 3) % 50) }
        model.forward(tokens: tokens)
        var full = [Float](repeating: 0, count: 20 * 50)
        model.logits(into: &full)
        let session = InferenceSession(config: c, params: model.params, maxLength: 20, pool: pool)
        for (t, id) in tokens.enumerated() {
            let l = Array(UnsafeBufferPointer(start: session.step(id), count: 50))
            #expect(relativeError(l, Array(full[(t * 50)..<((t + 1) * 50)])) <= 1e-5, "position \(t)")
        }
    }

    /// Rows decoded side by side: each row's logits at each of its positions equal a single-row
    /// session's on that sequence (to 1e-5), with prompts of different lengths right-aligned (rows
    /// idle until their start), a restricted logit range, and a finished row idling at the end.
    @Test(arguments: [NormKind.layerNorm, NormKind.rmsNorm])
    func rowsSideBySideEqualOneAtATime(norm: NormKind) {
        let pool = Parallel(threads: 2)
        var c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 4, nKVHeads: norm == .rmsNorm ? 2 : 4, vocabSize: 50, ffnHidden: 48,
            norm: norm, rope: norm == .rmsNorm ? .interleaved : .half, tieEmbeddings: norm == .rmsNorm, maxSeqLen: 12)
        c.learnedPositions = norm == .layerNorm
        let model = Transformer(config: c, batch: 1, seqLen: 12, pool: pool)
        model.initialize(seed: 4)
        let sequences: [[Int32]] = [
            (0..<12).map { Int32(($0 * 7 + 3) % 50) }, (0..<9).map { Int32(($0 * 5 + 1) % 50) },
            (0..<12).map { Int32(($0 * 3 + 2) % 50) },
        ]
        let L = 12
        let batch = InferenceSession(config: c, params: model.params, maxLength: 12, pool: pool, rows: 3)
        let single = InferenceSession(config: c, params: model.params, maxLength: 12, pool: pool)
        var want: [[[Float]]] = []
        for s in sequences {
            single.reset()
            want.append(s.map { Array(UnsafeBufferPointer(start: single.step($0), count: 50)) })
        }
        for t in 0..<L {
            // Row 1 (9 tokens) starts 3 steps late; row 2 stops after 10 and idles at position 10.
            let start = [0, 3, 0], stop = [12, 12, 10]
            let active = (0..<3).map { t >= start[$0] && t < stop[$0] }
            let tokens = (0..<3).map { r in active[r] ? sequences[r][t - start[r]] : Int32(49) }
            let range = t % 2 == 0 ? 0..<50 : 10..<40
            batch.step(tokens: tokens, active: active, logitRange: range)
            for r in 0..<3 where active[r] {
                let got = Array(UnsafeBufferPointer(start: batch.logits(row: r) + range.lowerBound, count: range.count))
                let expected = Array(want[r][t - start[r]][range])
                #expect(relativeError(got, expected) <= 1e-5, "row \(r), step \(t)")
            }
        }
        #expect(batch.positions == [12, 9, 10])
    }

    @Test func samplerIsSeededAndRespectsTopK() {
        let logits: [Float] = [1, 3, 2, 0.5, 2.9]
        var a = Sampler(temperature: 1, topK: 2, seed: 4), b = Sampler(temperature: 1, topK: 2, seed: 4)
        let xs = (0..<200).map { _ in a.next(logits, vocab: 5) }
        #expect(xs == (0..<200).map { _ in b.next(logits, vocab: 5) })
        #expect(Set(xs) == [1, 4])
        var greedy = Sampler()
        #expect(greedy.next(logits, vocab: 5) == 1)
        var nucleus = Sampler(temperature: 1, topP: 0.01, seed: 1)
        #expect((0..<50).allSatisfy { _ in nucleus.next(logits, vocab: 5) == 1 })
    }

    /// The real SmolLM2-135M-Instruct imported from its Q4_1 GGUF: tokenization and next-token
    /// logits against an independent numpy forward pass (scripts/reference/make_smollm2_fixture.py),
    /// ≤ 1e-3 relative error; greedy completion of "The capital of France is" begins " Paris".
    @Test(.enabled(if: ReferenceCache.hasSmolLM2, "SmolLM2 GGUF absent: run scripts/fetch-reference.sh"))
    func smolLM2MatchesNumpyAndKnowsParis() throws {
        let imported = try GGUFImport.load(try GGUFFile(path: ReferenceCache.smolLM2), maxSeqLen: 64)
        let tokenizer = try #require(imported.tokenizer)
        #expect(imported.model.nLayers == 30 && imported.model.nKVHeads == 3 && imported.model.tieEmbeddings)
        let fixture = try SafetensorsFile(path: Fixtures.path("smollm2_logits.safetensors"))
        let prompts = try JSONSerialization.jsonObject(with: Data(fixture.metadata["prompts"]!.utf8)) as! [String]
        let session = InferenceSession(
            config: imported.model, params: imported.store, maxLength: 64, pool: Parallel(threads: 2))
        for (n, prompt) in prompts.enumerated() {
            let ids = tokenizer.encode(prompt)
            #expect(ids == (try fixture.int32s("prompt\(n).ids")), "\(prompt.debugDescription)")
            session.reset()
            var logits = session.logits
            for t in ids { logits = session.step(t) }
            let got = Array(UnsafeBufferPointer(start: logits, count: imported.model.vocabSize))
            let err = relativeError(got, try fixture.floats("prompt\(n).logits"))
            #expect(err <= 1e-3, "\(prompt.debugDescription): relative error \(err)")
        }
        var greedy = Sampler()
        let out = session.generate(
            prompt: tokenizer.encode("The capital of France is"), maxNewTokens: 3, sampler: &greedy)
        #expect(try tokenizer.decode(out).hasPrefix(" Paris"))
    }

    /// The same model decoding with bf16 products (`precision: bf16` inference: operands rounded to
    /// bf16's 8-bit mantissa, fp32 accumulation): still " Paris", and its logits visibly rounded
    /// (not the fp32 path) yet near the fp32 ones — 30 layers of operands each off by ≤ 2⁻⁸
    /// relative, so a few per cent, not 1e-3. (Emulated on a CPU where oneDNN has no bf16 kernels.)
    @Test(.enabled(if: ReferenceCache.hasSmolLM2, "SmolLM2 GGUF absent: run scripts/fetch-reference.sh"))
    func smolLM2InBF16StillKnowsParis() throws {
        let imported = try GGUFImport.load(try GGUFFile(path: ReferenceCache.smolLM2), maxSeqLen: 64)
        let tokenizer = try #require(imported.tokenizer)
        let c = imported.model
        let mixed = MixedPrecision(
            values: imported.store.values, scratch: max(c.vocabSize, 4 * c.ffnHidden), threads: 2)
        let pool = Parallel(threads: 2)
        let fp32 = InferenceSession(config: c, params: imported.store, maxLength: 64, pool: pool)
        let bf16 = InferenceSession(config: c, params: imported.store, maxLength: 64, pool: pool, mixed: mixed)
        let prompt = tokenizer.encode("The capital of France is")
        var a = fp32.logits, b = bf16.logits
        for t in prompt { a = fp32.step(t); b = bf16.step(t) }
        let err = relativeError(
            Array(UnsafeBufferPointer(start: b, count: c.vocabSize)),
            Array(UnsafeBufferPointer(start: a, count: c.vocabSize)))
        #expect(err > 1e-5 && err < 0.05, "bf16 vs fp32 logits: relative error \(err)")
        bf16.reset()
        var greedy = Sampler()
        let out = bf16.generate(prompt: prompt, maxNewTokens: 3, sampler: &greedy)
        #expect(try tokenizer.decode(out).hasPrefix(" Paris"))
    }
}

/// A Hugging Face Llama checkpoint made by transformers (scripts/reference/make_hf_llama_fixture.py):
/// imported by name, its logits equal transformers' to 1e-4.
@Suite struct HFImportTests {
    @Test func llamaLogitsMatchTransformers() throws {
        let dir = Fixtures.path("hf_llama_tiny")
        let imported = try HFImport.load(dir: dir)
        #expect(imported.model.nKVHeads == 2 && !imported.model.tieEmbeddings && imported.model.rope == .half)
        let expected = try SafetensorsFile(path: dir + "/expected.safetensors")
        let ids = try expected.int32s("ids")
        let model = Transformer(config: imported.model, batch: 1, seqLen: ids.count, pool: Parallel(threads: 2))
        model.params.values.pointer.update(from: imported.store.values.pointer, count: imported.store.values.count)
        model.forward(tokens: ids)
        var logits = [Float](repeating: 0, count: ids.count * imported.model.vocabSize)
        model.logits(into: &logits)
        #expect(relativeError(logits, try expected.floats("logits")) <= 1e-4)
    }

    /// GPT-2 (Conv1D weights transposed, learned positions, biases, gelu_new, tied head): the
    /// imported model's logits equal transformers' to 1e-4, in the training forward and in the
    /// KV-cache session token by token.
    @Test func gpt2LogitsMatchTransformers() throws {
        let imported = try HFImport.load(dir: Fixtures.path("hf_gpt2_tiny"))
        let c = imported.model
        #expect(
            c.learnedPositions && c.linearBias && c.mlp == .geluTanh && c.tieEmbeddings && c.rope == .none
                && c.ffnHidden == 4 * c.dModel)
        try Self.expectTransformersLogits(imported, fixture: "hf_gpt2_tiny")
    }

    /// GPT-NeoX (per-head interleaved qkv rows moved, parallel residual, rotary over half of each
    /// head, biases, exact GELU, untied head): transformers' logits to 1e-4, both paths.
    @Test func gptNeoXLogitsMatchTransformers() throws {
        let imported = try HFImport.load(dir: Fixtures.path("hf_gpt_neox_tiny"))
        let c = imported.model
        #expect(
            c.parallelResidual && c.linearBias && c.mlp == .gelu && !c.tieEmbeddings && c.rope == .half
                && c.ropeDims == c.headDim / 2)
        try Self.expectTransformersLogits(imported, fixture: "hf_gpt_neox_tiny")
    }

    static func expectTransformersLogits(_ imported: ImportedModel, fixture: String) throws {
        let c = imported.model, dir = Fixtures.path(fixture)
        let expected = try SafetensorsFile(path: dir + "/expected.safetensors")
        let ids = try expected.int32s("ids"), want = try expected.floats("logits")
        let model = Transformer(config: c, batch: 1, seqLen: ids.count, pool: Parallel(threads: 2))
        model.params.values.pointer.update(from: imported.store.values.pointer, count: imported.store.values.count)
        model.forward(tokens: ids)
        var logits = [Float](repeating: 0, count: ids.count * c.vocabSize)
        model.logits(into: &logits)
        #expect(relativeError(logits, want) <= 1e-4)
        let session = InferenceSession(
            config: c, params: imported.store, maxLength: ids.count, pool: Parallel(threads: 1))
        var stepped: [Float] = []
        for t in ids { stepped += Array(UnsafeBufferPointer(start: session.step(t), count: c.vocabSize)) }
        #expect(relativeError(stepped, want) <= 1e-4)
    }

    @Test func unmappedTensorsAndUnsupportedFamiliesAreErrors() throws {
        let src = Fixtures.path("hf_llama_tiny")
        let dir = tempDirectory("hf")
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir + "/" + f)
        }
        var cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json")))
            as! [String: Any]
        cfg["model_type"] = "bloom"
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
        #expect(throws: TesseraError.self) { _ = try HFImport.load(dir: dir) }
        cfg["model_type"] = "gpt2"  // a Llama directory read as GPT-2: its names do not map
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
        #expect(throws: TesseraError.self) { _ = try HFImport.load(dir: dir) }
        cfg["model_type"] = "llama"
        cfg["num_hidden_layers"] = 1  // layer 1's tensors are now unused
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
        do {
            _ = try HFImport.load(dir: dir)
            Issue.record("accepted")
        } catch let e as TesseraError {
            #expect(e.description.contains("maps to no Tessera parameter"), "\(e)")
        }
    }

    /// A config.json that promises a model its weight files do not hold is refused before the
    /// model is allocated, naming the file and both counts — for each importer family.
    @Test func configPromisingMoreThanTheWeightsIsRefused() throws {
        for (fixture, key, value) in [
            ("hf_llama_tiny", "num_hidden_layers", 512), ("hf_llama_tiny", "hidden_size", 1024),
            ("hf_gpt2_tiny", "n_layer", 512), ("hf_gpt_neox_tiny", "num_hidden_layers", 512),
        ] {
            let dir = tempDirectory("hf-more")
            for f in ["config.json", "model.safetensors"] {
                try FileManager.default.copyItem(atPath: Fixtures.path(fixture) + "/" + f, toPath: dir + "/" + f)
            }
            var cfg =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json")))
                as! [String: Any]
            cfg[key] = value
            if key == "hidden_size" {
                cfg["num_attention_heads"] = 16; cfg["num_key_value_heads"] = 16; cfg["head_dim"] = nil
            }
            try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
            do {
                _ = try HFImport.load(dir: dir)
                Issue.record("\(fixture) with \(key) = \(value) was accepted")
            } catch let e as TesseraError {
                #expect(
                    e.exitCode == 3 && e.description.contains("config.json")
                        && e.description.contains("the weight files hold"), "\(fixture) \(key): \(e)")
            }
        }
    }
}

/// An open_lm checkpoint (its names are Tessera's) made from the PyTorch fixture's weights and an
/// open_lm params.json: imported, it gives PyTorch's logits.
@Suite struct OpenLMImportTests {
    @Test func openLMDirectoryImportsToThePyTorchLogits() throws {
        let f = try SafetensorsFile(path: Fixtures.path("lm_openlm.safetensors"))
        let dir = tempDirectory("openlm")
        let params: [String: Any] = [
            "hidden_dim": 48, "n_layers": 2, "n_heads": 4, "seq_len": 17, "vocab_size": 61,
            "post_embed_norm": false, "weight_tying": false, "model_norm": "default_layer_norm",
            "positional_embedding_type": "rotary", "ffn_type": "swiglu",
        ]
        try JSONSerialization.data(withJSONObject: params).write(to: URL(fileURLWithPath: dir + "/params.json"))
        // The fixture holds the model's tensors under Tessera's (= open_lm's) names, among other entries.
        let shape = ModelConfig(
            dModel: 48, nLayers: 2, nHeads: 4, vocabSize: 61, ffnHidden: 140, norm: .layerNorm, maxSeqLen: 17)
        let names = Transformer.parameterShapes(shape).map(\.0)
        var values: [[Float]] = []
        for n in names { values.append(try f.floats(n)) }
        var tensors: [SafetensorsTensor] = []
        try withExtendedLifetime(values) {
            for (i, n) in names.enumerated() {
                tensors.append(
                    values[i].withUnsafeBufferPointer {
                        SafetensorsTensor(name: n, shape: (try? f.entry(n).shape) ?? [], f32: $0.baseAddress!)
                    })
            }
            try SafetensorsWriter.write(path: dir + "/model.safetensors", tensors: tensors)
        }
        let imported = try OpenLMImport.load(dir: dir)
        #expect(imported.model.ffnHidden == 140 && imported.model.norm == .layerNorm && imported.model.rope == .half)
        let model = Transformer(config: imported.model, batch: 2, seqLen: 17, pool: Parallel(threads: 2))
        model.params.values.pointer.update(from: imported.store.values.pointer, count: imported.store.values.count)
        model.forward(tokens: try f.int32s("inputs"))
        var logits = [Float](repeating: 0, count: 34 * 61)
        model.logits(into: &logits)
        #expect(relativeError(logits, try f.floats("logits")) <= 1e-4)
    }

    /// The loss renormalised over the first V ids (text ids of a text-to-image model, claim C11)
    /// equals −log softmax over those logits alone, computed here in Double from the full logits.
    @Test func lossRenormalisedOverTextIds() {
        let c = ModelConfig(
            dModel: 8, nLayers: 1, nHeads: 2, nKVHeads: 2, vocabSize: 26, ffnHidden: 16,
            norm: .rmsNorm, rope: .half, tieEmbeddings: false, maxSeqLen: 6)
        let m = Transformer(config: c, batch: 2, seqLen: 6, pool: Parallel(threads: 1))
        m.initialize(seed: 4)
        let tokens: [Int32] = [1, 5, 19, 3, 0, 7, 2, 2, 11, 18, 4, 9]
        let targets: [Int32] = [5, 19, 3, 0, 7, 12, 2, 11, 18, 4, 9, -1]
        tokens.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
        var logits = [Float](repeating: 0, count: 12 * 26)
        logits.withUnsafeMutableBufferPointer { m.logits(into: $0.baseAddress!) }
        for v in [20, 26] {
            var expected = 0.0
            for r in 0..<12 where targets[r] >= 0 {
                let row = (0..<v).map { Double(logits[r * 26 + $0]) }
                let mx = row.max()!
                expected += log(row.reduce(0) { $0 + exp($1 - mx) }) + mx - row[Int(targets[r])]
            }
            let got = targets.withUnsafeBufferPointer {
                m.loss(targets: $0.baseAddress!, ignoreIndex: -1, vocabulary: v)
            }
            #expect(abs(got - expected) < 1e-4 * abs(expected), "V \(v): \(got) vs \(expected)")
        }
        let full = targets.withUnsafeBufferPointer { m.loss(targets: $0.baseAddress!, ignoreIndex: -1) }
        let text = targets.withUnsafeBufferPointer { m.loss(targets: $0.baseAddress!, ignoreIndex: -1, vocabulary: 20) }
        #expect(text < full)  // less mass to share: renormalising can only lower the loss
    }
}
