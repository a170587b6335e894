import Foundation
import TesseraCore
import Testing

/// The typed rows: one object per row with the held-out figures beside the step's keys, the
/// keys the report and older runs read, and a round trip that loses nothing.
@Suite struct MetricsRowTests {
    static func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func trainingRowFlattensItsHeldOutFigures() throws {
        var split = ModalityLoss()
        split.text = 6; split.textCount = 2; split.image = 12; split.imageCount = 3
        var row = TrainingStepRow(
            step: 25, tokens: 34_800, lr: 5e-4, loss: 6.155, gradNorm: 1.6, tokensPerSecond: 6458, elapsedSeconds: 4.849
        )
        row.lossText = 6.2; row.lossImage = 6.37; row.lossEMA = 6.9
        row.heldOut = HeldOutLoss(mean: 3.6, split: split)
        let line = MetricsLog.line(row)
        let o = try Self.object(line)
        #expect(
            Set(o.keys) == [
                "step", "tokens", "lr", "loss", "grad_norm", "tokens_per_s", "elapsed_s", "loss_text", "loss_image",
                "loss_ema", "val_loss", "val_ppl", "val_loss_text", "val_ppl_text", "val_loss_image", "val_ppl_image",
            ])
        #expect(o["val_loss_text"] as? Double == 3 && o["val_loss_image"] as? Double == 4)
        #expect(abs((o["val_ppl"] as? Double ?? 0) - Foundation.exp(3.6)) < 1e-12)
        let back = try MetricsLog.decoder().decode(TrainingStepRow.self, from: Data(line.utf8))
        #expect(back == row)
        // A step without evaluation has no held-out keys, and reads back without them.
        row.heldOut = nil
        let plain = MetricsLog.line(row)
        #expect(try Self.object(plain)["val_loss"] == nil)
        #expect(try MetricsLog.decoder().decode(TrainingStepRow.self, from: Data(plain.utf8)).heldOut == nil)
    }

    @Test func seriesNamesAreTheRowKeys() throws {
        var row = TrainingStepRow(
            step: 1, tokens: 1, lr: 1, loss: 1, gradNorm: 1, tokensPerSecond: 1, elapsedSeconds: 1)
        row.lossText = 2; row.lossImage = 3; row.lossEMA = 4; row.lossTextEMA = 5; row.lossImageEMA = 6
        row.heldOut = HeldOutLoss(mean: 7)
        row.heldOut?.lossText = 8; row.heldOut?.lossImage = 9
        let o = try Self.object(MetricsLog.line(row))
        for s in TrainingStepRow.Series.allCases {
            #expect(o[s.name] as? Double == s.value(in: row), "\(s.name)")
        }
    }

    @Test func vqAndAlignmentRowsRoundTrip() throws {
        var vq = VQStepRow(
            step: 3, images: 24, lr: 1e-3, loss: 0.3, reconstructionLoss: 0.2, vqLoss: 0.1, gradNorm: 2,
            imagesPerSecond: 14.7, elapsedSeconds: 1.5)
        vq.heldOut = ReconstructionScores(
            meanSquaredError: 0.01, psnr: 20.4, ssim: 0.7, codeUsage: 1, codePerplexity: 180)
        let line = MetricsLog.line(vq)
        #expect(try Self.object(line)["val_psnr"] as? Double == 20.4)
        #expect(try MetricsLog.decoder().decode(VQStepRow.self, from: Data(line.utf8)) == vq)

        var a = AlignmentStepRow(
            step: 500, loss: 2.9, accuracy: 0.1, temperature: 0.07, logitScale: 2.6, lr: 1e-4, lossFloor: 0.2)
        a.heldOut = .init(loss: 3, accuracy: 0.2, batch: 200, lossFloor: 0.21, retrieval: 0.03, retrievalChance: 0.004)
        let s = AlignmentSummary(
            last: a, checkpoint: "lm", codes: "codes", batch: 1024, trainImages: 6000, valImages: 600,
            chanceTop1: 1.0 / 1024, nearestCaptionWordShare: 0.4, vocabularyCaptionWordShare: 0.1, captionWords: 900,
            nearestContentWordShare: 0.2, vocabularyContentWordShare: 0.08, contentWords: 800, stopWords: 120,
            seed: 2, shuffledCaptions: true)
        let data = try MetricsLog.encoder(pretty: true).encode(s)
        let o = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(
            o["val_retrieval"] as? Double == 0.03 && o["shuffled_captions"] as? Bool == true
                && o["loss"] as? Double == 2.9)
        #expect(try MetricsLog.decoder().decode(AlignmentSummary.self, from: data) == s)
    }

    /// A non-finite figure is written as a string instead of failing the run that measured it.
    @Test func nonFiniteFiguresAreWritten() throws {
        let row = TrainingStepRow(
            step: 1, tokens: 1, lr: 1, loss: .nan, gradNorm: .infinity, tokensPerSecond: 1, elapsedSeconds: 1)
        let line = MetricsLog.line(row)
        #expect(line.contains("\"loss\":\"nan\"") && line.contains("\"grad_norm\":\"inf\""))
        let back = try MetricsLog.decoder().decode(TrainingStepRow.self, from: Data(line.utf8))
        #expect(back.loss.isNaN && back.gradNorm == .infinity)
    }
}
