import Foundation

/// Reading and writing tokenizers: HF `tokenizer.json` (BPE model, ByteLevel pre-tokenizer,
/// optionally after `Digits(individual_digits)`), GPT-2 `vocab.json` + `merges.txt`.
public enum TokenizerFiles {
    /// Loads by kind: a directory (a Tessera checkpoint or shard directory) uses its
    /// tokenizer.json; `*.gguf` its embedded vocabulary; a JSON object with a `model` object is a
    /// tokenizer.json; any other JSON object is a GPT-2 vocab.json with `merges.txt` beside it.
    public static func load(_ path: String) throws -> BPETokenizer {
        if FileIO.isDirectory(path) {
            let inner = path.appendingPathComponent("tokenizer.json")
            if FileIO.exists(inner) { return try load(inner) }
            // A run directory: its newest complete checkpoint's tokenizer.
            if let newest = Checkpoint.list(runDir: path).first {
                let file = newest.path.appendingPathComponent("tokenizer.json")
                if FileIO.exists(file) { return try load(file) }
            }
            throw TesseraError.data(file: path, "directory has no tokenizer.json (nor a run checkpoint with one)")
        }
        if path.hasSuffix(".gguf") { return try GGUFImport.tokenizer(try GGUFFile(path: path)) }
        let data = try FileIO.read(path)
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TesseraError.data(file: path, "not a JSON object (expected tokenizer.json or vocab.json)")
        }
        if root["model"] is [String: Any] { return try fromTokenizerJSON(root, path: path) }
        let merges = path.deletingLastPathComponent.appendingPathComponent("merges.txt")
        return try fromVocabAndMerges(vocab: root, vocabPath: path, mergesPath: merges)
    }

    static func vocabMap(_ v: Any?, path: String, key: String) throws -> [String: Int32] {
        guard let obj = v as? [String: Any] else {
            throw TesseraError.data(file: path, "\(key) is missing or not an object")
        }
        var out: [String: Int32] = [:]
        out.reserveCapacity(obj.count)
        for (t, idAny) in obj {
            guard let id = JSONKeys.exactInt(idAny), id >= 0, id < Int(Int32.max) else {
                throw TesseraError.data(file: path, "\(key) entry \"\(t)\" has a bad id \(idAny)")
            }
            out[t] = Int32(id)
        }
        return out
    }

    static func parseMerges(_ v: Any?, path: String) throws -> [(String, String)] {
        guard let arr = v as? [Any] else {
            throw TesseraError.data(file: path, "model.merges is missing or not a list")
        }
        var out: [(String, String)] = []
        out.reserveCapacity(arr.count)
        for (i, m) in arr.enumerated() {
            if let s = m as? String {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw TesseraError.data(file: path, "merge \(i) \"\(s)\" is not two tokens separated by a space")
                }
                out.append((String(parts[0]), String(parts[1])))
            } else if let p = m as? [Any], p.count == 2, let a = p[0] as? String, let b = p[1] as? String {
                out.append((a, b))
            } else {
                throw TesseraError.data(file: path, "merge \(i) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        return out
    }

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    static func preTokenizer(_ v: Any?, path: String) throws -> PreTokenizer {
        func isByteLevel(_ o: [String: Any]) -> Bool {
            o["type"] as? String == "ByteLevel" && (o["use_regex"] as? Bool ?? true)
                && !(o["add_prefix_space"] as? Bool ?? false)
        }
        guard let o = v as? [String: Any] else {
            throw TesseraError.data(
                file: path, "pre_tokenizer is missing: only byte-level BPE (GPT-2 style) is supported")
        }
        if isByteLevel(o) { return .gpt2 }
        if o["type"] as? String == "Sequence", let seq = o["pretokenizers"] as? [[String: Any]] {
            if seq.count == 2, seq[0]["type"] as? String == "Digits", seq[0]["individual_digits"] as? Bool == true,
                isByteLevel(seq[1])
            {
                return .smollm
            }
            if seq.count == 1, isByteLevel(seq[0]) { return .gpt2 }
        }
        throw TesseraError.data(
            file: path,
            "unsupported pre_tokenizer \(o["type"] ?? "?"): supported are ByteLevel (add_prefix_space false) and Sequence[Digits(individual_digits), ByteLevel]"
        )
    }

    public static func fromTokenizerJSON(_ root: [String: Any], path: String) throws -> BPETokenizer {
        guard let model = root["model"] as? [String: Any] else {
            throw TesseraError.data(file: path, "model is not an object")
        }
        guard (model["type"] as? String ?? "BPE") == "BPE" else {
            throw TesseraError.data(file: path, "model.type \(model["type"]!) is not supported (only BPE)")
        }
        if model["byte_fallback"] as? Bool == true {
            throw TesseraError.data(file: path, "model.byte_fallback is not supported")
        }
        if model["ignore_merges"] as? Bool == true {
            throw TesseraError.data(file: path, "model.ignore_merges is not supported")
        }
        for k in ["continuing_subword_prefix", "end_of_word_suffix"] where model[k] != nil && !(model[k] is NSNull) {
            if let s = model[k] as? String, s.isEmpty { continue }
            throw TesseraError.data(file: path, "model.\(k) is not supported")
        }
        var nfc = false
        if let n = root["normalizer"], !(n is NSNull) {
            let type = (n as? [String: Any])?["type"] as? String ?? "?"
            guard type == "NFC" else {
                throw TesseraError.data(file: path, "normalizer \(type) is not supported (only NFC)")
            }
            nfc = true
        }
        let vocab = try vocabMap(model["vocab"], path: path, key: "model.vocab")
        let merges = try parseMerges(model["merges"], path: path)
        let pre = try preTokenizer(root["pre_tokenizer"], path: path)
        var added: [BPETokenizer.AddedToken] = []
        if let list = root["added_tokens"] as? [[String: Any]] {
            for (i, a) in list.enumerated() {
                guard let id = a["id"].flatMap(JSONKeys.exactInt), let content = a["content"] as? String,
                    !content.isEmpty
                else {
                    throw TesseraError.data(file: path, "added_tokens[\(i)] needs an integer id and non-empty content")
                }
                guard id >= 0, id < SizeLimits.maxVocabulary else {
                    throw TesseraError.data(
                        file: path,
                        "added_tokens[\(i)] id \(id) is outside 0…\(SizeLimits.maxVocabulary - 1), Tessera's largest vocabulary"
                    )
                }
                added.append(.init(id: Int32(id), content: content, special: a["special"] as? Bool ?? false))
            }
        }
        // Added tokens may also be in the vocabulary under the same id; drop them from the BPE part.
        var bpeVocab = vocab
        for a in added where bpeVocab[a.content] == a.id { bpeVocab.removeValue(forKey: a.content) }
        return try BPETokenizer(
            vocab: bpeVocab, merges: merges, preTokenizer: pre, added: added, normalizeNFC: nfc, source: path)
    }

    public static func fromVocabAndMerges(
        vocab root: [String: Any], vocabPath: String, mergesPath: String
    ) throws -> BPETokenizer {
        var vocab = try vocabMap(root, path: vocabPath, key: "vocabulary")
        let text = String(decoding: try FileIO.read(mergesPath), as: UTF8.self)
        var merges: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (n == 0 && l.hasPrefix("#version")) { continue }
            let parts = l.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TesseraError.data(
                    file: mergesPath, "line \(n + 1) \"\(l)\" is not two tokens separated by a space")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        // GPT-2 convention: <|...|> entries are special tokens, matched whole in the text.
        var added: [BPETokenizer.AddedToken] = []
        for (t, id) in vocab where t.hasPrefix("<|") && t.hasSuffix("|>") && t.count > 4 {
            added.append(.init(id: id, content: t, special: true))
            vocab.removeValue(forKey: t)
        }
        return try BPETokenizer(
            vocab: vocab, merges: merges, preTokenizer: .gpt2, added: added.sorted { $0.id < $1.id },
            source: vocabPath)
    }

    /// Writes an HF-compatible tokenizer.json (atomically).
    public static func save(_ t: BPETokenizer, to path: String) throws {
        var s = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        s += t.added.map {
            "\n    {\"id\": \($0.id), \"content\": \(JSONKeys.quote($0.content)), \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": \($0.special)}"
        }.joined(separator: ",")
        s += t.added.isEmpty ? "],\n" : "\n  ],\n"
        s += "  \"normalizer\": null,\n"
        let byteLevel =
            "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}"
        switch t.preTokenizer {
        case .gpt2: s += "  \"pre_tokenizer\": \(byteLevel),\n"
        case .smollm:
            s +=
                "  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Digits\", \"individual_digits\": true}, \(byteLevel)]},\n"
        }
        s += "  \"post_processor\": null,\n  \"decoder\": \(byteLevel),\n"
        s +=
            "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": {"
        let addedIDs = Set(t.added.map(\.id))
        s += t.tokens.enumerated().filter { !addedIDs.contains(Int32($0.offset)) }
            .map { "\n      \(JSONKeys.quote($0.element)): \($0.offset)" }.joined(separator: ",")
        s += "\n    },\n    \"merges\": ["
        s += t.merges.map { "\n      [\(JSONKeys.quote(t.tokens[Int($0.0)])), \(JSONKeys.quote(t.tokens[Int($0.1)]))]" }
            .joined(separator: ",")
        s += "\n    ]\n  }\n}\n"
        try FileIO.writeAtomically(path, data: Data(s.utf8))
    }
}
