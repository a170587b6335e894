/// Token-weighted cross-entropy sums by modality for text-to-image sequences. A target counts as
/// **image** when it is an image code or `</image>` (what the model emits while drawing), as
/// **text** when it is a text token or `</text>` (the caption and its end), and otherwise (`<text>`,
/// `<image>`, `</doc>`) only in the total. `<pad>` targets are not counted anywhere.
public struct ModalityLoss: Equatable {
    public var all = 0.0, text = 0.0, image = 0.0
    public var allCount = 0, textCount = 0, imageCount = 0
    /// Rows of replayed plain text (`TextReplay`): counted in `all`, neither text nor image.
    public var replay = 0.0, replayCount = 0

    public init() {}

    public mutating func add(
        losses: UnsafePointer<Float>, targets: UnsafePointer<Int32>, count: Int,
        layout: VocabularyLayout, ignore: Int32
    ) {
        let endText = layout.special("</text>"), endImage = layout.special("</image>")
        let imageLo = Int32(layout.imageRange.lowerBound), imageHi = Int32(layout.imageRange.upperBound)
        for i in 0..<count {
            let t = targets[i]
            if t == ignore { continue }
            let l = Double(losses[i])
            all += l; allCount += 1
            if (t >= imageLo && t < imageHi) || t == endImage {
                image += l; imageCount += 1
            } else if t < Int32(layout.textSize) || t == endText {
                text += l; textCount += 1
            }
        }
    }

    public mutating func addReplay(
        losses: UnsafePointer<Float>, targets: UnsafePointer<Int32>, count: Int, ignore: Int32
    ) {
        for i in 0..<count where targets[i] != ignore {
            let l = Double(losses[i])
            all += l; allCount += 1
            replay += l; replayCount += 1
        }
    }

    public var meanAll: Double? { allCount > 0 ? all / Double(allCount) : nil }
    public var meanText: Double? { textCount > 0 ? text / Double(textCount) : nil }
    public var meanImage: Double? { imageCount > 0 ? image / Double(imageCount) : nil }
    public var meanReplay: Double? { replayCount > 0 ? replay / Double(replayCount) : nil }
}
