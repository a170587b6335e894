import Foundation
import TesseraCore
import Testing

/// The text-to-image id layout and sequence format, id for id.
@Suite struct PairSequenceTests {
    let layout = VocabularyLayout(textSize: 256, imageCodes: 64)

    @Test func layoutRanges() throws {
        #expect(
            layout.imageRange == 256..<320 && layout.specialStart == 320 && layout.usedSize == 327
                && layout.vocabSize == 384)
        #expect(VocabularyLayout.specials.map { layout.special($0) } == Array(320...326))
        let back = try VocabularyLayout(json: layout.json, file: "m.json")
        #expect(back == layout)
        var j = layout.json
        j["vocab_size"] = 320
        #expect(throws: TesseraError.self) { try VocabularyLayout(json: j, file: "m.json") }
        // 49,152 + 16,384 + 7 used ids round up to 65,600.
        #expect(VocabularyLayout(textSize: 49_152, imageCodes: 16_384).vocabSize == 65_600)
    }

    @Test func mismatchNamesBothSides() {
        let other = VocabularyLayout(textSize: 256, imageCodes: 1024)
        do {
            try layout.check(other, mine: "run/checkpoints/step_00000010", theirs: "shards/manifest.json")
            Issue.record("no error")
        } catch {
            let m = "\(error)"
            #expect(
                m.contains("shards/manifest.json") && m.contains("run/checkpoints/step_00000010")
                    && m.contains("[256, 1280)"), "\(m)")
        }
    }

    @Test func conditionalSequenceIdForId() {
        let (s, cut) = PairSequence.make(
            caption: [97, 98], codes: [0, 5, 63, 1], layout: layout, seqLen: 14, unconditional: false)
        #expect(s == [320, 322, 97, 98, 323, 324, 256, 261, 319, 257, 325, 321, 326, 326])
        #expect(!cut)
    }

    @Test func longCaptionIsCutAndCounted() {
        let (s, cut) = PairSequence.make(
            caption: [1, 2, 3, 4, 5, 6], codes: [7, 8, 9, 10], layout: layout, seqLen: 12, unconditional: false)
        #expect(s == [320, 322, 1, 2, 323, 324, 263, 264, 265, 266, 325, 321])
        #expect(cut)
    }

    @Test func unconditionalSequence() {
        let (s, _) = PairSequence.make(caption: [1, 2], codes: [0, 1], layout: layout, seqLen: 9, unconditional: true)
        #expect(s == [320, 324, 256, 257, 325, 321, 326, 326, 326])
    }
}

extension PairSequenceTests {
    /// Which targets count as text, image, only in the total, or not at all (<pad>).
    @Test func modalitySplit() {
        let (s, _) = PairSequence.make(
            caption: [97, 98], codes: [0, 5, 63, 1], layout: layout, seqLen: 14, unconditional: false)
        let targets = Array(s.dropFirst())
        let losses = (0..<targets.count).map { Float($0 + 1) }  // loss i+1 at target i
        var m = ModalityLoss()
        m.add(losses: losses, targets: targets, count: targets.count, layout: layout, ignore: layout.special("<pad>"))
        #expect(m.textCount == 3 && m.text == 2 + 3 + 4)  // 97, 98, </text>
        #expect(m.imageCount == 5 && m.image == 6 + 7 + 8 + 9 + 10)  // 4 codes, </image>
        #expect(m.allCount == 11 && m.all == Double((1...11).reduce(0, +)))  // + <text>, <image>, </doc>; 2 pads out
    }
}
