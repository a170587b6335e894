import Foundation
import TesseraCore
import Testing

/// Scoring of the forgetting probes and the FreeDict reader they draw translation pairs from.
@Suite struct ForgettingProbeTests {
    @Test func completionsScoreByPrefixAtAWordBoundary() {
        #expect(ForgettingProbe.begins(" Paris, the city", withAny: ["Paris"]))
        #expect(ForgettingProbe.begins("\n fromage.", withAny: ["chien", "fromage"]))
        #expect(ForgettingProbe.begins(" PARIS", withAny: ["paris"]))
        #expect(!ForgettingProbe.begins(" Parisian", withAny: ["Paris"]), "a longer word is not the answer")
        #expect(!ForgettingProbe.begins(" the Paris", withAny: ["Paris"]))
        #expect(!ForgettingProbe.begins("", withAny: ["Paris"]))
        #expect(ForgettingProbe.begins(" loutre de mer", withAny: ["loutre de mer"]))
    }

    /// Prompts completed side by side (right-aligned, 3 rows for 5 prompts) give the greedy
    /// completions of one-at-a-time decoding restricted to text ids; an empty prompt gives "".
    @Test func completionsSideBySideEqualOneAtATime() {
        let pool = Parallel(threads: 2)
        let c = ModelConfig(
            dModel: 32, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 60, ffnHidden: 48, norm: .rmsNorm,
            rope: .interleaved, tieEmbeddings: true, maxSeqLen: 24)
        let model = Transformer(config: c, batch: 1, seqLen: 24, pool: pool)
        model.initialize(seed: 12)
        let encode: (String) -> [Int32] = { $0.unicodeScalars.map { Int32($0.value % 50) } }
        let decode: ([Int32]) -> String = { $0.map { String(UnicodeScalar(UInt8(65 + $0 % 26))) }.joined() }
        let prompts = ["the cat", "a", "", "some longer prompt", "xyz"]
        let batched = ForgettingProbe(
            session: InferenceSession(config: c, params: model.params, maxLength: 24, pool: pool, rows: 3),
            textIds: 0..<50, encode: encode, decode: decode)
        let got = batched.complete(prompts, maxNewTokens: 5)
        let single = InferenceSession(config: c, params: model.params, maxLength: 24, pool: pool)
        for (p, g) in zip(prompts, got) {
            var greedy = Sampler()
            let want =
                encode(p).isEmpty
                ? "" : decode(single.generate(prompt: encode(p), maxNewTokens: 5, sampler: &greedy, allowed: 0..<50))
            #expect(g == want, "\(p)")
            #expect(g.count == (p.isEmpty ? 0 : 5))
        }
    }

    @Test func clozeFileIsPromptTabAnswer() throws {
        let items = try ForgettingProbe.readCloze(packageRoot + "/configs/probes/world-knowledge.tsv")
        #expect(items.count >= 30 && items[0] == ("The capital of France is", "Paris"))
        let bad = tempDirectory("cloze") + "/c.tsv"
        try "# comment\nThe capital of France is Paris\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: TesseraError.data(file: bad, "line 2 is not prompt TAB answer")) {
            try ForgettingProbe.readCloze(bad)
        }
    }

    /// A dictd pair written here (gzip body, base-64 offsets) reads back as Debian's entries do:
    /// numbered senses split, alternatives split, the database header skipped, multi-word
    /// translations kept out of the word pairs.
    @Test func freedictEntriesAndWordPairs() throws {
        let dir = tempDirectory("freedict")
        let entries = [
            "00-database-info\nEnglish-French\n", "cheese /tʃiːz/\nfromage\n", "dog /dɔg/\nchien, clébard\n",
            "run /rʌn/\n1. fonctionner\n2. s'élancer, se précipiter\n", "sea otter /x/\nloutre de mer\n",
        ]
        let heads = ["00databaseinfo", "cheese", "dog", "run", "sea otter"]
        let digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        func b64(_ v: Int) -> String {
            var v = v, s = ""
            repeat { s = String(digits[v % 64]) + s; v /= 64 } while v > 0
            return s
        }
        var body = Data(), index = ""
        for (h, e) in zip(heads, entries) {
            index += "\(h)\t\(b64(body.count))\t\(b64(e.utf8.count))\n"
            body += Data(e.utf8)
        }
        try index.write(toFile: dir + "/freedict-eng-fra.index", atomically: true, encoding: .utf8)
        try body.write(to: URL(fileURLWithPath: dir + "/raw"))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(dir)/raw' > '\(dir)/freedict-eng-fra.dict.dz'"]
        try p.run(); p.waitUntilExit()
        let d = try FreedictDictionary(dir: dir)
        #expect(d.entries.map(\.headword) == ["cheese", "dog", "run", "sea otter"])
        #expect(d.entries[1].translations == ["chien", "clébard"])
        #expect(d.entries[2].translations == ["fonctionner", "s'élancer", "se précipiter"])
        let pairs = d.wordPairs(count: 10, seed: 1, exclude: ["cheese"])
        #expect(Set(pairs.map(\.english)) == ["dog", "run"])
        #expect(pairs.first { $0.english == "run" }!.french == ["fonctionner", "s'élancer"])
        // bad digit, overflow, past the end
        for bad in ["cheese\tBAD!\tA\n", "cheese\t////////////////////\tA\n", "cheese\tz\tzzzz\n"] {
            try bad.write(toFile: dir + "/freedict-eng-fra.index", atomically: true, encoding: .utf8)
            #expect(throws: TesseraError.self) { try FreedictDictionary(dir: dir) }
        }
    }
}
