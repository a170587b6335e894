import Foundation
import TesseraCore
import Testing

/// The GGUF reader against gguf-py (scripts/reference/make_gguf_fixture.py).
@Suite struct GGUFTests {
    static let file = Fixtures.path("gguf_types.gguf")

    @Test func metadataOfEveryType() throws {
        let g = try GGUFFile(path: Self.file)
        #expect(g.version == 3)
        #expect(g.metadata["general.architecture"]?.string == "tessera-test")
        #expect(g.metadata["test.u32"]?.int == 7)
        #expect(g.metadata["test.i32"]?.int == -3)
        #expect(g.metadata["test.f32"]?.double == 0.5)
        #expect(g.metadata["test.bool"] == .bool(true))
        #expect(g.metadata["test.str"]?.string == "héllo")
        #expect(g.metadata["test.u64"]?.int == 1 << 40)
        #expect(g.metadata["test.f64"]?.double == 2.25)
        #expect(g.metadata["test.arr"]?.array?.compactMap(\.string) == ["a", "b", "c"])
        #expect(g.metadata["test.ints"]?.array?.compactMap(\.int) == [1, 2, 3])
    }

    /// Every ggml type dequantises exactly as gguf.quants.dequantize does.
    @Test(arguments: ["t.f32", "t.f16", "t.bf16", "t.q4_0", "t.q4_1", "t.q8_0", "t.q4_k", "t.q6_k"])
    func dequantisationMatchesGGUFPy(name: String) throws {
        let g = try GGUFFile(path: Self.file)
        let want = try SafetensorsFile(path: Fixtures.path("gguf_types.expected.safetensors"))
        #expect(try g.tensor(name).dims == [512, 3])
        #expect(try g.floats(name) == want.floats(name))
    }

    func expectBad(_ data: Data, _ fragment: String) {
        do {
            _ = try GGUFFile(data: data, path: "bad.gguf")
            Issue.record("accepted: \(fragment)")
        } catch let e as TesseraError {
            #expect(e.exitCode == 3)
            #expect(e.description.contains("bad.gguf") && e.description.contains(fragment), "\(e)")
            #expect(!e.description.contains("\n"))
        } catch { Issue.record("\(error)") }
    }

    @Test func malformedFilesAreOneLineErrors() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.file))
        func patched(_ offset: Int, _ bytes: [UInt8]) -> Data {
            var d = good
            for (i, b) in bytes.enumerated() { d[offset + i] = b }
            return d
        }
        expectBad(Data("GGUF".utf8), "too short")
        expectBad(patched(0, Array("GGML".utf8)), "bad magic")
        expectBad(patched(4, [9, 0, 0, 0]), "version 9")
        expectBad(patched(8, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0]), "tensor count")
        expectBad(patched(16, [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]), "metadata count")
        expectBad(good.prefix(good.count - 100), "runs past the end")
        expectBad(good.prefix(200), "past the end")
        // The first metadata value's type field (after the 8-byte key length and the key).
        let keyLength = good.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 24, as: UInt64.self)) }
        expectBad(patched(32 + keyLength, [99, 0, 0, 0]), "unknown value type 99")
    }

    @Test func unknownTensorTypeAndMisalignment() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.file))
        let g = try GGUFFile(path: Self.file)
        // Find the first tensor info ("t.f32": name, n_dims=2, dims, type, offset) by its name bytes.
        let name = [5, 0, 0, 0, 0, 0, 0, 0] + Array("t.f32".utf8)  // length-prefixed, unlike the key "test.f32"
        let bytes = [UInt8](good)
        guard let at = (0..<(bytes.count - name.count)).first(where: { Array(bytes[$0..<($0 + name.count)]) == name })
        else {
            Issue.record("tensor name not found"); return
        }
        let typeAt = at + name.count + 4 + 16
        var d = good
        d[typeAt] = 77
        expectBad(d, "ggml type 77")
        d = good
        d[typeAt + 4] = 3  // offset 3: not aligned
        expectBad(d, "not aligned")
        #expect(g.tensorOrder.first == "t.f32")
    }
}
