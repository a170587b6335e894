import Foundation

/// What a language model still knows about text (the paper's Table 1), measured by greedy
/// completions restricted to text ids (a text-to-image model could otherwise drift into codes):
///  - the completions of a prompt list that starts with the paper's two prompts;
///  - few-shot English→French: the paper's 3-shot prompt "Translate English to French: sea otter =>
///    loutre de mer peppermint => menthe poivrée plush girafe => girafe peluche <word> =>"; right when
///    the completion begins with one of the dictionary's translations (case-insensitive);
///  - world-knowledge cloze items (prompt TAB answer); right when the completion begins with the answer.
public struct ForgettingProbe {
    public static let paperPrompts = [
        "Simply put, the theory of relativity states that",
        "Translate English to French: sea otter => loutre de mer peppermint => menthe poivrée plush girafe => girafe peluche cheese =>",
    ]
    public static let translationShots =
        "Translate English to French: sea otter => loutre de mer peppermint => menthe poivrée plush girafe => girafe peluche"
    public static let shotWords: Set<String> = ["sea", "otter", "peppermint", "plush", "girafe", "giraffe", "cheese"]

    let session: InferenceSession
    let encode: (String) -> [Int32]
    let decode: ([Int32]) -> String
    let textIds: Range<Int>

    public init(
        session: InferenceSession, textIds: Range<Int>, encode: @escaping (String) -> [Int32],
        decode: @escaping ([Int32]) -> String
    ) {
        self.session = session; self.textIds = textIds; self.encode = encode; self.decode = decode
    }

    /// Greedy continuation of `prompt`, `maxNewTokens` text tokens (prompts longer than the
    /// session's context keep their end; an empty prompt gets an empty completion).
    public func complete(_ prompt: String, maxNewTokens: Int) -> String {
        complete([prompt], maxNewTokens: maxNewTokens)[0]
    }

    /// `complete` of each prompt, `session.rows` side by side: prompts right-aligned (a shorter one
    /// starts later, its row idle until then) so that every row generates on the same steps.
    public func complete(_ prompts: [String], maxNewTokens: Int) -> [String] {
        // A context shorter than the request keeps at least one prompt token.
        let maxNewTokens = min(maxNewTokens, session.maxLength - 1)
        let R = session.rows, room = session.maxLength - maxNewTokens
        guard maxNewTokens >= 1 else { return prompts.map { _ in "" } }
        let encoded = prompts.map { p -> [Int32] in
            let ids = encode(p)
            return ids.count > room ? Array(ids.suffix(room)) : ids
        }
        var out = [String](repeating: "", count: prompts.count)
        var tokens = [Int32](repeating: 0, count: R), active = [Bool](repeating: false, count: R)
        var greedy = Sampler()
        let nothing = textIds.lowerBound..<(textIds.lowerBound + 1)  // prompt steps need no logits
        let waiting = encoded.indices.filter { !encoded[$0].isEmpty }
        for first in stride(from: 0, to: waiting.count, by: R) {
            let chunk = Array(waiting[first..<min(waiting.count, first + R)])
            let L = chunk.map { encoded[$0].count }.max()!
            session.reset()
            for t in 0..<L {
                for r in 0..<R {
                    let start = r < chunk.count ? L - encoded[chunk[r]].count : L
                    active[r] = t >= start
                    tokens[r] = active[r] ? encoded[chunk[r]][t - start] : 0
                }
                session.step(tokens: tokens, active: active, logitRange: t == L - 1 ? textIds : nothing)
            }
            for r in 0..<R { active[r] = r < chunk.count }
            var generated = [[Int32]](repeating: [], count: chunk.count)
            for k in 0..<maxNewTokens {
                for r in 0..<chunk.count {
                    tokens[r] = greedy.next(session.logits(row: r), vocab: session.config.vocabSize, allowed: textIds)
                    generated[r].append(tokens[r])
                }
                if k + 1 < maxNewTokens { session.step(tokens: tokens, active: active, logitRange: textIds) }
            }
            for (r, i) in chunk.enumerated() { out[i] = decode(generated[r]) }
        }
        return out
    }

    /// Whether a completion begins with one of `answers` (case-insensitive, leading space ignored,
    /// followed by the end, a space or punctuation).
    public static func begins(_ completion: String, withAny answers: [String]) -> Bool {
        let c = completion.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return answers.contains { a in
            let a = a.lowercased()
            guard !a.isEmpty, c.hasPrefix(a) else { return false }
            guard let next = c.dropFirst(a.count).unicodeScalars.first else { return true }
            return !CharacterSet.letters.contains(next) && !CharacterSet.decimalDigits.contains(next)
        }
    }

    public struct Scored: Sendable {
        public let prompt: String
        public let completion: String
        public let right: Bool
    }

    public static func translationPrompt(_ english: String) -> String { translationShots + " " + english + " =>" }

    /// Tokens generated for a translation and for a cloze item (enough for the answer's first word).
    public static let translationTokens = 8, clozeTokens = 6

    public func translation(
        _ pairs: [(english: String, french: [String])], maxNewTokens: Int = translationTokens
    ) -> [Scored] {
        let c = complete(pairs.map { Self.translationPrompt($0.english) }, maxNewTokens: maxNewTokens)
        return zip(pairs, c).map { p, c in
            Scored(prompt: p.english, completion: c, right: Self.begins(c, withAny: p.french))
        }
    }

    public func cloze(_ items: [(prompt: String, answer: String)], maxNewTokens: Int = clozeTokens) -> [Scored] {
        let c = complete(items.map(\.prompt), maxNewTokens: maxNewTokens)
        return zip(items, c).map { item, c in
            Scored(prompt: item.prompt, completion: c, right: Self.begins(c, withAny: [item.answer]))
        }
    }

    /// `prompt TAB answer` lines (blank lines and lines starting with # skipped).
    public static func readCloze(_ path: String) throws -> [(prompt: String, answer: String)] {
        let text = String(decoding: try FileIO.read(path), as: UTF8.self)
        var items: [(String, String)] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.trimmingCharacters(in: .whitespaces)
            if l.isEmpty || l.hasPrefix("#") { continue }
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 2, !f[0].isEmpty, !f[1].trimmingCharacters(in: .whitespaces).isEmpty else {
                throw TesseraError.data(file: path, "line \(n + 1) is not prompt TAB answer")
            }
            items.append((String(f[0]), f[1].trimmingCharacters(in: .whitespaces)))
        }
        guard !items.isEmpty else { throw TesseraError.data(file: path, "holds no items") }
        return items
    }
}

extension ForgettingProbe {
    /// Everything `probe forget` measures on one checkpoint, as the row the report reads: the
    /// completions of the paper's prompts and `prompts`; perplexity on `corpus` (at most `tokens`
    /// targets, 0: all) over the full vocabulary and renormalised over text ids; few-shot
    /// translation of `pairs`; the `cloze` items.
    public static func measure(
        _ loaded: LoadedCheckpoint, prompts: [String], maxNewTokens: Int, corpus: String?, tokens: Int,
        pairs: [(english: String, french: [String])]?,
        cloze items: [(prompt: String, answer: String)]?, rows: Int = 16
    ) throws -> ForgettingRow {
        let layout = try Checkpoint.layout(loaded.path)
        let textIds = 0..<(layout?.textSize ?? loaded.tokenizer?.vocabSize ?? loaded.config.model.vocabSize)
        // The cache holds the longest prompt and its completion (within the model's context), for
        // `rows` prompts decoded side by side.
        let lengths =
            (paperPrompts + prompts).map { loaded.encode($0).count + maxNewTokens }
            + (items ?? []).map { loaded.encode($0.prompt).count + clozeTokens }
            + (pairs ?? []).map { loaded.encode(translationPrompt($0.english)).count + translationTokens }
        let session = InferenceSession(
            config: loaded.config.model, params: loaded.model.params,
            maxLength: min(loaded.config.model.maxSeqLen, lengths.max() ?? 1), pool: loaded.model.pool,
            mixed: loaded.model.mixed, rows: rows)
        let probe = ForgettingProbe(session: session, textIds: textIds, encode: loaded.encode, decode: loaded.decode)
        var row = ForgettingRow(checkpoint: loaded.path, step: (try? Checkpoint.loadState(loaded.path))?.step)
        let all = paperPrompts + prompts
        row.completions = zip(all, probe.complete(all, maxNewTokens: maxNewTokens)).map {
            .init(prompt: $0, completion: $1)
        }
        if let corpus {
            let ids = try loaded.tokens(of: corpus)
            let stream = TokenStream(name: "eval", tokens: ids)
            let textVocabulary = min(textIds.upperBound, loaded.config.model.vocabSize)
            // Renormalised over text ids (from the same forward passes): what the model thinks of the
            // text among text tokens, apart from the probability it moved to image codes.
            // Equal to the full loss for a text LM.
            if ids.allSatisfy({ Int($0) < textVocabulary }),
                let l = Evaluator.meanLossAndRenormalised(
                    model: loaded.model, stream: stream, maxTokens: tokens, ignoreIndex: -1,
                    vocabulary: textVocabulary)
            {
                row.loss = l.full
                row.lossTextOnly = l.renormalised
            } else {
                row.loss = Evaluator.meanLoss(model: loaded.model, stream: stream, maxTokens: tokens, ignoreIndex: -1)
            }
        }
        if let pairs {
            let r = probe.translation(pairs)
            row.translationAccuracy = Double(r.filter(\.right).count) / Double(r.count)
            row.translationExamples = r.prefix(8).map {
                .init(word: $0.prompt, completion: $0.completion, right: $0.right)
            }
        }
        if let items {
            let r = probe.cloze(items)
            row.clozeAccuracy = Double(r.filter(\.right).count) / Double(r.count)
            row.clozeRight = r.filter(\.right).map(\.prompt)
        }
        return row
    }
}
