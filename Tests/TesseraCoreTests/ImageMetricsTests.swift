import Foundation
import TesseraCore
import Testing

/// PSNR and SSIM against scikit-image (scripts/reference/make_ssim_fixture.py).
@Suite struct ImageMetricsTests {
    @Test(arguments: [(0, 16), (1, 28), (2, 64), (3, 11)])
    func matchesScikitImage(index: Int, side: Int) throws {
        let f = try SafetensorsFile(path: Fixtures.path("image_metrics.safetensors"))
        let a = try f.int32s("\(index).a").map { UInt8($0) }, b = try f.int32s("\(index).b").map { UInt8($0) }
        let ssim = ImageMetrics.ssim(a, b, channels: 3, height: side, width: side)
        let psnr = ImageMetrics.psnr(a, b, count: a.count)
        #expect(abs(ssim - Double(try f.floats("\(index).ssim")[0])) < 1e-5)
        #expect(abs(psnr - Double(try f.floats("\(index).psnr")[0])) < 1e-4)
    }

    @Test func codeStats() {
        let (used, ppl) = ImageMetrics.codeStats([5, 5, 0, 0])
        #expect(used == 0.5)
        #expect(abs(ppl - 2) < 1e-12)
    }
}
