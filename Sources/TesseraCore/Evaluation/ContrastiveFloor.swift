import Foundation

/// The lowest value CLIP's symmetric loss can reach on a batch, whatever the embeddings. Captions
/// with the same bag of tokens have the same text embedding, images with the same bag of codes the
/// same image embedding: a row cannot tell identical columns apart and vice versa. Group the n
/// pairs by image class I and text class T, c(I,T) pairs in both. Row i puts mass q_T on text class
/// T, spread evenly over its |T| columns; the row loss Σ_{i∈I} −log(q_T(i)/|T(i)|) is least at
/// q_T = c(I,T)/|I|, so
///     row floor(I)    = Σ_T c(I,T) · [log|T| − log(c(I,T)/|I|)],
///     column floor(T) = Σ_I c(I,T) · [log|I| − log(c(I,T)/|T|)],
///     floor = (Σ_I row floor + Σ_T column floor) / 2n,
/// reached as the logit scale grows. With all images distinct it is (1/n) Σᵢ log kᵢ, kᵢ the number
/// of captions in the batch equal to caption i. A loss that flattens at this floor has nothing left
/// to learn; only the distance above it measures how hard alignment is.
public enum ContrastiveFloor {
    public static func floor<I: Hashable, T: Hashable>(imageKeys: [I], textKeys: [T]) -> Double {
        precondition(imageKeys.count == textKeys.count)
        let n = imageKeys.count
        guard n > 0 else { return 0 }
        var imageCount: [I: Int] = [:], textCount: [T: Int] = [:]
        var cells: [FloorCell<I, T>: Int] = [:]
        for k in 0..<n {
            imageCount[imageKeys[k], default: 0] += 1
            textCount[textKeys[k], default: 0] += 1
            cells[FloorCell(a: imageKeys[k], b: textKeys[k]), default: 0] += 1
        }
        // Σ over cells of c(I,T)·[…] is Σ over pairs of the same bracket: summed in pair order, so the
        // result does not depend on the dictionaries' (per-process) iteration order.
        var total = 0.0
        for k in 0..<n {
            let c = Double(cells[FloorCell(a: imageKeys[k], b: textKeys[k])]!)
            let sizeI = Double(imageCount[imageKeys[k]]!), sizeT = Double(textCount[textKeys[k]]!)
            total += Foundation.log(sizeT) - Foundation.log(c / sizeI)  // row side
            total += Foundation.log(sizeI) - Foundation.log(c / sizeT)  // column side
        }
        return total / Double(2 * n)
    }

    /// Top-1 retrieval counted by class: image i's best caption is right when its text equals
    /// caption i's; chance is the mean share of the batch's captions equal to one's own.
    public static func retrieval<T: Hashable>(best: [Int32], textKeys: [T]) -> (hits: Double, chance: Double) {
        let n = textKeys.count
        guard n > 0 else { return (0, 0) }
        var count: [T: Int] = [:]
        for k in textKeys { count[k, default: 0] += 1 }
        var hits = 0, chance = 0.0
        for i in 0..<n {
            if textKeys[Int(best[i])] == textKeys[i] { hits += 1 }
            chance += Double(count[textKeys[i]]!) / Double(n)
        }
        return (Double(hits) / Double(n), chance / Double(n))
    }
}

/// One (image class, text class) cell of the floor's count table.
struct FloorCell<A: Hashable, B: Hashable>: Hashable { let a: A; let b: B }
