import Foundation
import TesseraCore
import Testing

@Suite struct SafetensorsTests {
    /// Builds a file from a header string and a data size.
    static func file(_ header: String, dataBytes: Int, headerLength: UInt64? = nil) -> Data {
        var d = Data()
        var n = (headerLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(Data(count: dataBytes))
        return d
    }

    @Test func roundTripThroughWriter() throws {
        let dir = tempDirectory("st")
        let a: [Float] = [1, -2, 3.5, 4, 5, 6]
        try a.withUnsafeBufferPointer { p in
            try SafetensorsWriter.write(
                path: dir + "/x.safetensors",
                tensors: [
                    SafetensorsTensor(name: "a", shape: [2, 3], f32: p.baseAddress!),
                    SafetensorsTensor(name: "ids", shape: [3], i32: [7, -1, 9]),
                ],
                metadata: ["k": "v"])
        }
        let f = try SafetensorsFile(path: dir + "/x.safetensors")
        #expect(try f.floats("a") == a)
        #expect(try f.int32s("ids") == [7, -1, 9])
        #expect(f.metadata["k"] == "v")
        #expect(try f.entry("a").shape == [2, 3])
    }

    @Test func readsHalfAndBFloat16() throws {
        // F16 1.5 = 0x3E00, BF16 -2.0 = 0xC000
        let h =
            #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}}"#
        var d = Self.file(h, dataBytes: 0)
        d.append(contentsOf: [0x00, 0x3E, 0x00, 0xC0])
        let f = try SafetensorsFile(data: d, path: "mem")
        #expect(try f.floats("h") == [1.5])
        #expect(try f.floats("b") == [-2.0])
    }

    static let malformed: [(String, Data, String)] = [
        ("shorter than 8 bytes", Data([1, 2, 3]), "shorter than the 8-byte"),
        ("header length past the end", file("{}", dataBytes: 0, headerLength: 4096), "runs past the end"),
        ("huge header", file("{}", dataBytes: 0, headerLength: 1 << 40), "100 MB limit"),
        ("not JSON", file("{nope", dataBytes: 0), "not valid JSON"),
        (
            "unknown dtype", file(#"{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 1),
            "unsupported dtype Q4"
        ),
        (
            "size disagrees with shape", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, dataBytes: 4),
            "needs 8"
        ),
        (
            "data truncated", file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, dataBytes: 8),
            "past the end"
        ),
        (
            "overlap",
            file(
                #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                dataBytes: 8), "overlaps"
        ),
        ("gap", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, dataBytes: 8), "gap of 4 bytes"),
        (
            "trailing bytes", file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 12),
            "unused bytes"
        ),
        (
            "duplicate name",
            file(
                #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                dataBytes: 4), "duplicate tensor name"
        ),
        (
            "negative dimension", file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4),
            "bad dimension"
        ),
        (
            "reversed offsets", file(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, dataBytes: 4),
            "reversed"
        ),
    ]

    @Test(arguments: 0..<malformed.count)
    func rejectsMalformedFiles(index: Int) {
        let (name, data, message) = Self.malformed[index]
        do {
            _ = try SafetensorsFile(data: data, path: "bad.safetensors")
            Issue.record("\(name): accepted")
        } catch let e as TesseraError {
            #expect(e.exitCode == 3, "\(name)")
            #expect(e.description.contains("bad.safetensors"), "\(name)")
            #expect(e.description.contains(message), "\(name): \(e)")
            #expect(!e.description.contains("\n"))
        } catch {
            Issue.record("\(name): unexpected \(error)")
        }
    }
}

@Suite struct ConfigReaderTests {
    func read(_ tree: [String: Any]) throws -> TrainConfig {
        try TrainConfig(reader: ConfigReader(tree: tree, file: "c.yaml"))
    }

    let base: [String: Any] = ["model": ["d_model": 32, "n_layers": 1, "n_heads": 4]]

    func expectConfigError(_ tree: [String: Any], _ fragment: String) {
        do {
            _ = try read(tree)
            Issue.record("accepted: \(fragment)")
        } catch let e as TesseraError {
            #expect(e.exitCode == 2)
            #expect(e.description.contains(fragment), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    @Test func defaultsAndValues() throws {
        let c = try read(base)
        #expect(c.model.ffnHidden == 256)  // open_lm rule: 256·ceil(int(8·32/3)/256)
        #expect(c.model.nKVHeads == 4)
        #expect(c.optim.batchTokens == c.optim.microBatch * c.data.seqLen)
    }

    @Test func unknownKeyNamesThePathAndSuggests() {
        var t = base
        t["model"] = ["d_model": 32, "n_layers": 1, "n_heads": 4, "n_layer": 2]
        expectConfigError(t, "model.n_layer: unknown key (did you mean model.n_layers?)")
    }

    @Test func wrongTypesAndRanges() {
        var t = base
        t["optim"] = ["lr": "fast"]
        expectConfigError(t, "optim.lr: expected a number, got \"fast\"")
        t["optim"] = ["lr": -1]
        expectConfigError(t, "optim.lr: must be greater than 0")
        t["optim"] = ["steps": 2.5]
        expectConfigError(t, "optim.steps: expected an integer")
        t["optim"] = ["micro_batch": 3, "batch_tokens": 100]
        expectConfigError(t, "optim.batch_tokens (100) must be a multiple")
        t = base
        t["model"] = ["d_model": 30, "n_layers": 1, "n_heads": 4]
        expectConfigError(t, "model.d_model (30) must be a multiple of model.n_heads (4)")
        t["model"] = ["d_model": 32, "n_layers": 1, "n_heads": 4, "n_kv_heads": 3]
        expectConfigError(t, "model.n_kv_heads (3) must divide")
        t["model"] = ["d_model": 32, "n_layers": 1, "n_heads": 4, "norm": "batchnorm"]
        expectConfigError(t, "model.norm: unknown value \"batchnorm\"")
    }

    @Test func overridesReplaceValues() throws {
        let r = ConfigReader(tree: base, file: "c.yaml")
        r.set("optim.lr", 0.01)
        r.set("model.n_layers", 3)
        let c = try TrainConfig(reader: r)
        #expect(c.optim.lr == 0.01 && c.model.nLayers == 3)
    }

    @Test func globs() {
        #expect(Glob.matches("layers.*.ffn_norm.*", "layers.12.ffn_norm.weight"))
        #expect(Glob.matches("*norm.weight", "norm.weight"))
        #expect(!Glob.matches("layers.?.w3", "layers.10.w3"))
        #expect(Glob.matches("tok_embeddings.weight", "tok_embeddings.weight"))
    }

    @Test func philoxKnownAnswer() {
        // Random123's philox4x32-10 known-answer vector for counter 0, key 0.
        #expect(Philox.block(counter: 0, key: 0) == SIMD4<UInt32>(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8))
    }

    @Test func fastExpMatchesLibm() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let e = Kernels.exp(x), r = Foundation.exp(x)
            worst = max(worst, abs(e - r) / r)
            x += 0.37
        }
        #expect(worst < 5e-7)
    }
}
