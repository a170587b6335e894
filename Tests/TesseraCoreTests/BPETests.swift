import Foundation
import TesseraCore
import Testing

/// Reference files fetched by scripts/fetch-reference.sh (scripts/test.sh runs it).
enum ReferenceCache {
    static var root: String {
        ProcessInfo.processInfo.environment["TESSERA_CACHE"] ?? (NSHomeDirectory() + "/.cache/tessera")
    }
    static var gpt2Vocab: String { root + "/gpt2/vocab.json" }
    static var hasGPT2: Bool { FileManager.default.fileExists(atPath: gpt2Vocab) }
}

@Suite struct BPETests {
    static func fixtureIDs(_ name: String) throws -> [Int32] {
        let path = Fixtures.path(name)
        let raw = try Zstd.decompress(try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
        return raw.withUnsafeBytes { p in
            (0..<(raw.count / 4)).map {
                Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }

    static func austenText() throws -> [UInt8] {
        var out: [UInt8] = []
        for f in ["pride-and-prejudice.txt", "sense-and-sensibility.txt"] {
            out += try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/configs/corpus/" + f))
        }
        return out
    }

    /// Token-for-token equality with HF tokenizers (scripts/reference/make_bpe_fixture.py) on the
    /// edge cases and on 1.36 MB of real text.
    @Test(.enabled(if: ReferenceCache.hasGPT2, "GPT-2 vocabulary absent: run scripts/fetch-reference.sh"))
    func gpt2MatchesHuggingFace() throws {
        let tok = try TokenizerFiles.load(ReferenceCache.gpt2Vocab)
        #expect(tok.vocabSize == 50257)
        let meta =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bpe_gpt2.json")))) as! [String: Any]
        for case let e as [String: Any] in meta["edge_cases"] as! [Any] {
            let text = e["text"] as! String
            let want = (e["ids"] as! [Int]).map { Int32($0) }
            #expect(tok.encode(text) == want, "\(text.debugDescription)")
        }
        let text = try Self.austenText()
        let got = tok.encode(bytes: text)
        let want = try Self.fixtureIDs("bpe_gpt2_austen.ids.zst")
        #expect(got.count == want.count)
        if let i = (0..<min(got.count, want.count)).first(where: { got[$0] != want[$0] }) {
            Issue.record("first difference at id \(i): \(got[i]) vs \(want[i])")
        }
        #expect(try tok.decodeBytes(got) == text)
    }

    /// Any byte string round-trips, invalid UTF-8 included.
    @Test(.enabled(if: ReferenceCache.hasGPT2, "GPT-2 vocabulary absent: run scripts/fetch-reference.sh"))
    func arbitraryBytesRoundTrip() throws {
        let tok = try TokenizerFiles.load(ReferenceCache.gpt2Vocab)
        var rng = RandomStream(seed: 1, name: "bpe/bytes")
        for n in [1, 2, 7, 64, 1000] {
            for _ in 0..<20 {
                let bytes = (0..<n).map { _ in UInt8(rng.int(below: 256)) }
                #expect(try tok.decodeBytes(tok.encode(bytes: bytes)) == bytes)
            }
        }
        let tricky: [[UInt8]] = [
            [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xFF, 0x20, 0x41],
        ]
        for b in tricky { #expect(try tok.decodeBytes(tok.encode(bytes: b)) == b) }
    }

    @Test func preTokenizerPieces() {
        func pieces(_ s: String, _ p: PreTokenizer = .gpt2) -> [String] {
            let b = Array(s.utf8)
            return p.pieces(b).map { String(decoding: b[$0], as: UTF8.self) }
        }
        #expect(pieces("Hello world") == ["Hello", " world"])
        #expect(pieces("I'll   go!!") == ["I", "'ll", "  ", " go", "!!"])
        #expect(pieces("a\n\nb") == ["a", "\n", "\n", "b"] || pieces("a\n\nb") == ["a", "\n\n", "b"])
        #expect(pieces("x  ") == ["x", "  "])
        #expect(pieces("abc 123 4x", .smollm) == ["abc", " ", "1", "2", "3", " ", "4", "x"])
    }

    @Test func malformedTokenizerFilesAreOneLineErrors() throws {
        let dir = tempDirectory("badtok")
        let cases: [(String, String, String)] = [
            (
                "no-merges.json",
                #"{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                "model.merges is missing"
            ),
            ("bad.json", #"{"model": "#, "not a JSON object"),
            (
                "wordpiece.json", #"{"model": {"type": "WordPiece", "vocab": {}}}"#,
                "model.type WordPiece is not supported"
            ),
            (
                "no-bytes.json",
                #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                "tokens for only 1 of the 256 bytes"
            ),
        ]
        for (name, text, message) in cases {
            try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
            do {
                _ = try TokenizerFiles.load(dir + "/" + name)
                Issue.record("\(name) accepted")
            } catch let e as TesseraError {
                #expect(e.exitCode == 3)
                #expect(e.description.contains(name) && e.description.contains(message), "\(e)")
                #expect(!e.description.contains("\n"))
            }
        }
    }
}

@Suite struct LlamaCppVocabVectors {
    /// llama.cpp's GPT-2 tokenizer test vectors (Fixtures/llama-cpp), token for token.
    @Test(.enabled(if: ReferenceCache.hasGPT2, "GPT-2 vocabulary absent: run scripts/fetch-reference.sh"))
    func gpt2Vectors() throws {
        let tok = try TokenizerFiles.load(ReferenceCache.gpt2Vocab)
        let dir = Fixtures.path("llama-cpp")
        let inp = try String(contentsOfFile: dir + "/ggml-vocab-gpt-2.gguf.inp", encoding: .utf8)
            .components(separatedBy: "\n__ggml_vocab_test__\n")
        let out = try String(contentsOfFile: dir + "/ggml-vocab-gpt-2.gguf.out", encoding: .utf8)
            .components(separatedBy: "\n")
        let cases = inp.last == "" ? inp.dropLast() : inp[...]
        #expect(cases.count >= 40)
        #expect(out.count >= cases.count)
        for (i, text) in cases.enumerated() {
            let want = out[i].split(separator: " ").map { Int32($0)! }
            #expect(tok.encode(text) == want, "case \(i): \(text.debugDescription)")
        }
    }
}

/// BPEs trained by Tessera (committed tokenizer.json) against HF tokenizers loading the same file.
@Suite struct TrainedBPETests {
    static let cases: [(name: String, vocab: Int, pre: PreTokenizer, special: [String])] = [
        ("austen4k", 4096, .gpt2, ["<|endoftext|>"]),
        ("austen2k_digits", 2048, .smollm, ["<|endoftext|>", "<pad>"]),
    ]

    @Test(arguments: 0..<cases.count)
    func encodingEqualsHuggingFace(index: Int) throws {
        let c = Self.cases[index]
        let tok = try TokenizerFiles.load(Fixtures.path("bpe_\(c.name).tokenizer.json"))
        #expect(tok.vocabSize == c.vocab)
        #expect(tok.preTokenizer == c.pre)
        let meta =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bpe_\(c.name).json")))) as! [String: Any]
        for case let e as [String: Any] in meta["edge_cases"] as! [Any] {
            let text = e["text"] as! String
            #expect(tok.encode(text) == (e["ids"] as! [Int]).map { Int32($0) }, "\(text.debugDescription)")
        }
        let text = try BPETests.austenText()
        let got = tok.encode(bytes: text)
        let want = try BPETests.fixtureIDs("bpe_\(c.name)_austen.ids.zst")
        #expect(got == want)
        #expect(try tok.decodeBytes(got) == text)
    }

    /// Training is deterministic: the same corpus and settings write the committed file byte for byte.
    @Test(arguments: 0..<cases.count)
    func retrainingReproducesTheCommittedFile(index: Int) throws {
        let c = Self.cases[index]
        let texts = try ["pride-and-prejudice.txt", "sense-and-sensibility.txt"].map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: packageRoot + "/configs/corpus/" + $0)))
        }
        let t = try BPETrainer.train(texts: texts, vocabSize: c.vocab, preTokenizer: c.pre, specialTokens: c.special)
        let out = tempDirectory("bpe") + "/tokenizer.json"
        try TokenizerFiles.save(t, to: out)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: out))
                == Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bpe_\(c.name).tokenizer.json"))))
    }
}

@Suite struct SmolLM2TokenizerTests {
    /// SmolLM2's BPE read from its GGUF (digits split one by one) against HF tokenizers on the
    /// edge cases and 1.36 MB of real text.
    @Test(.enabled(if: ReferenceCache.hasSmolLM2, "SmolLM2 GGUF absent: run scripts/fetch-reference.sh"))
    func smolLM2MatchesHuggingFace() throws {
        let tok = try TokenizerFiles.load(ReferenceCache.smolLM2)
        #expect(tok.vocabSize == 49152)
        #expect(tok.preTokenizer == .smollm)
        let meta =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("bpe_smollm2.json")))) as! [String: Any]
        for case let e as [String: Any] in meta["edge_cases"] as! [Any] {
            let text = e["text"] as! String
            #expect(tok.encode(text) == (e["ids"] as! [Int]).map { Int32($0) }, "\(text.debugDescription)")
        }
        let got = tok.encode(bytes: try BPETests.austenText())
        let want = try BPETests.fixtureIDs("bpe_smollm2_austen.ids.zst")
        #expect(got.count == want.count)
        if let i = (0..<min(got.count, want.count)).first(where: { got[$0] != want[$0] }) {
            Issue.record("first difference at id \(i): \(got[i]) vs \(want[i])")
        }
    }
}
