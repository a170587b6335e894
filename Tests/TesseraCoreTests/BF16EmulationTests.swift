import Foundation
import TesseraCore
import Testing

/// A bf16 convolution is the fp32 convolution of operands rounded to bf16 values: bit for bit where
/// bf16 is emulated (the same fp32 primitives on the same rounded numbers), within fp32 summation
/// error where oneDNN has bf16 kernels. Checked through the paths that skip copies — the layer's
/// kept input and dy reordered once for both backward passes — so an operand left unrounded on
/// any of them shows.
@Suite struct BF16EmulationTests {
    @Test(arguments: ConvolutionEngineTests.shapes)
    func bf16ConvolutionIsFP32OnRoundedOperands(s: Conv2dShape) {
        func random(_ n: Int, _ name: String) -> [Float] { FiniteDifferences.random(n, name) }
        func rounded(_ v: [Float]) -> [Float] { v.map { BFloat16.float(BFloat16.round($0)) } }
        let x = random(s.batch * s.inSize, "x"), w = random(s.outChannels * s.patch, "w")
        let b = random(s.outChannels, "b"), dy = random(s.batch * s.outSize, "dy")
        func run(bf16: Bool, x: [Float], w: [Float], dy: [Float]) -> [Float] {
            let c = DNNLConvolution.shared, kept = DNNLConvolution.KeptInput()
            var y = [Float](repeating: 0, count: s.batch * s.outSize)
            var dx = random(s.batch * s.inSize, "dx0"), dw = random(s.outChannels * s.patch, "dw0")
            var db = random(s.outChannels, "db0")
            c.forward(threads: 2, s, bf16: bf16, x: x, weight: w, bias: b, y: &y, keep: kept)
            c.backward(
                threads: 2, s, bf16: bf16, x: x, weight: w, dy: dy, dx: &dx, dWeight: &dw, dBias: &db, kept: kept)
            return y + dx + dw + db
        }
        let got = run(bf16: true, x: x, w: w, dy: dy)
        let want = run(bf16: false, x: rounded(x), w: rounded(w), dy: rounded(dy))
        if DNNL.hasBF16Kernels {
            #expect(relativeError(got, want) <= 1e-5, "\(s)")
        } else {
            #expect(zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count == 0, "\(s)")
        }
        #expect(relativeError(got, run(bf16: false, x: x, w: w, dy: dy)) > 1e-5, "\(s): no rounding visible")
    }
}
