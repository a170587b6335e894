/// Learns a byte-level BPE from text, as GPT-2's and HF's trainers do: pre-tokenize, count
/// distinct pieces, start from the 256 byte tokens, and repeatedly merge the most frequent adjacent
/// pair (ties: the lower pair of ids, so the result is deterministic) until the vocabulary has the
/// requested size or no pair occurs `minFrequency` times. Pair counts are updated incrementally and
/// the best pair comes from a max-heap with lazy invalidation.
public enum BPETrainer {
    public static func train(
        texts: [[UInt8]], vocabSize: Int, preTokenizer: PreTokenizer = .gpt2,
        specialTokens: [String] = [], minFrequency: Int = 2
    ) throws -> BPETokenizer {
        let budget = vocabSize - specialTokens.count
        guard budget >= 256 else {
            throw TesseraError.config(
                "vocab_size \(vocabSize) leaves \(budget) ids for BPE after \(specialTokens.count) special tokens; byte-level BPE needs at least 256"
            )
        }
        // Distinct pieces with their counts.
        var wordIndex: [[UInt8]: Int] = [:]
        var words: [[Int32]] = []
        var counts: [Int] = []
        for text in texts {
            text.withUnsafeBufferPointer { b in
                preTokenizer.split(b) { r in
                    let key = Array(b[r])
                    if let w = wordIndex[key] {
                        counts[w] += 1
                    } else {
                        wordIndex[key] = words.count
                        words.append(key.map { Int32($0) })
                        counts.append(1)
                    }
                }
            }
        }
        var tokenBytes: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var idOf: [[UInt8]: Int32] = [:]
        for (i, t) in tokenBytes.enumerated() { idOf[t] = Int32(i) }
        var merges: [(Int32, Int32)] = []

        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        var pairCount: [UInt64: Int] = [:]
        var pairWords: [UInt64: Set<Int>] = [:]
        for (w, sym) in words.enumerated() where sym.count > 1 {
            for i in 0..<(sym.count - 1) {
                let k = key(sym[i], sym[i + 1])
                pairCount[k, default: 0] += counts[w]
                pairWords[k, default: []].insert(w)
            }
        }
        var heap = PairHeap()
        for (k, c) in pairCount { heap.push(count: c, pair: k) }

        while tokenBytes.count < budget {
            // Pop until the top entry is current.
            var best: (count: Int, pair: UInt64)?
            while let top = heap.pop() {
                if pairCount[top.pair] == top.count, top.count > 0 { best = top; break }
            }
            guard let (count, pair) = best, count >= minFrequency else { break }
            let a = Int32(truncatingIfNeeded: pair >> 32), b = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
            // Two merges can spell the same string ("a"+"bc", "ab"+"c"): one token, two merges.
            let spelled = tokenBytes[Int(a)] + tokenBytes[Int(b)]
            let merged: Int32
            if let existing = idOf[spelled] {
                merged = existing
            } else {
                merged = Int32(tokenBytes.count)
                tokenBytes.append(spelled)
                idOf[spelled] = merged
            }
            merges.append((a, b))
            var touched: [UInt64: Int] = [:]
            for w in pairWords[pair] ?? [] {
                let c = counts[w]
                var sym = words[w]
                var i = 0
                var out: [Int32] = []
                out.reserveCapacity(sym.count)
                // Remove the word's old pairs, rebuild it, add its new pairs.
                for j in 0..<(sym.count - 1) { touched[key(sym[j], sym[j + 1]), default: 0] -= c }
                while i < sym.count {
                    if i + 1 < sym.count && sym[i] == a && sym[i + 1] == b {
                        out.append(merged); i += 2
                    } else {
                        out.append(sym[i]); i += 1
                    }
                }
                sym = out
                words[w] = sym
                if sym.count > 1 {
                    for j in 0..<(sym.count - 1) {
                        let k = key(sym[j], sym[j + 1])
                        touched[k, default: 0] += c
                        pairWords[k, default: []].insert(w)
                    }
                }
            }
            pairWords[pair] = nil
            for (k, delta) in touched where delta != 0 {
                let n = (pairCount[k] ?? 0) + delta
                pairCount[k] = n
                if n > 0 { heap.push(count: n, pair: k) }
            }
            pairCount[pair] = 0
        }

        var vocab: [String: Int32] = [:]
        for (id, bytes) in tokenBytes.enumerated() { vocab[ByteLevel.encode(bytes)] = Int32(id) }
        let mergeStrings = merges.map {
            (ByteLevel.encode(tokenBytes[Int($0.0)]), ByteLevel.encode(tokenBytes[Int($0.1)]))
        }
        let added = specialTokens.enumerated().map {
            BPETokenizer.AddedToken(id: Int32(tokenBytes.count + $0.offset), content: $0.element, special: true)
        }
        return try BPETokenizer(
            vocab: vocab, merges: mergeStrings, preTokenizer: preTokenizer, added: added,
            source: "trained BPE")
    }
}

/// Max-heap of (count, pair); ties broken towards the smaller pair key.
struct PairHeap {
    var items: [(count: Int, pair: UInt64)] = []

    @inline(__always) static func above(_ x: (count: Int, pair: UInt64), _ y: (count: Int, pair: UInt64)) -> Bool {
        x.count > y.count || (x.count == y.count && x.pair < y.pair)
    }

    mutating func push(count: Int, pair: UInt64) {
        items.append((count, pair))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if PairHeap.above(items[i], items[p]) { items.swapAt(i, p); i = p } else { break }
        }
    }

    mutating func pop() -> (count: Int, pair: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && PairHeap.above(items[l], items[m]) { m = l }
                if r < items.count && PairHeap.above(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
