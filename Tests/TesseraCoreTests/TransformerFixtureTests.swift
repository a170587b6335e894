import Foundation
import TesseraCore
import Testing

/// Logits, loss, every gradient and three AdamW steps against PyTorch
/// (scripts/reference/make_lm_fixture.py; reference computed in float64).
/// Tolerance: max|Δ| ≤ 1e-4 · max|reference| for every tensor.
@Suite struct TransformerFixtureTests {
    struct Case {
        let file: SafetensorsFile
        let model: Transformer
        let inputs: [Int32]
        let targets: [Int32]
        let ignore: Int32
        let opt: [String: Any]
    }

    static func load(_ name: String) throws -> Case {
        let f = try SafetensorsFile(path: Fixtures.path("lm_\(name).safetensors"))
        let c = try JSONSerialization.jsonObject(with: Data(f.metadata["config"]!.utf8)) as! [String: Any]
        let batch = Int(f.metadata["batch"]!)!, seq = Int(f.metadata["seq_len"]!)!
        let config = ModelConfig(
            dModel: c["d"] as! Int, nLayers: c["layers"] as! Int, nHeads: c["heads"] as! Int,
            nKVHeads: c["kv_heads"] as? Int, vocabSize: c["vocab"] as! Int,
            ffnHidden: c["ffn"] as? Int, norm: NormKind(rawValue: c["norm"] as! String)!,
            normEps: Float(c["eps"] as! Double), rope: RopeKind(rawValue: c["rope"] as! String)!,
            ropeTheta: c["theta"] as! Double, tieEmbeddings: c["tied"] as! Bool, maxSeqLen: seq)
        let model = Transformer(config: config, batch: batch, seqLen: seq, pool: Parallel(threads: 2))
        for s in model.params.slots {
            try f.read(s.name, into: model.params.values.pointer + s.offset, count: s.count)
        }
        let opt = try JSONSerialization.jsonObject(with: Data(f.metadata["optimizer"]!.utf8)) as! [String: Any]
        return Case(
            file: f, model: model, inputs: try f.int32s("inputs"), targets: try f.int32s("targets"),
            ignore: Int32(f.metadata["ignore_index"]!)!, opt: opt)
    }

    @Test(arguments: ["openlm", "llama"])
    func logitsLossAndGradients(name: String) throws {
        let c = try Self.load(name)
        let m = c.model
        let counted = c.targets.filter { $0 != c.ignore }.count
        c.inputs.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
        var logits = [Float](repeating: 0, count: m.rows * m.config.vocabSize)
        logits.withUnsafeMutableBufferPointer { m.logits(into: $0.baseAddress!) }
        #expect(relativeError(logits, try c.file.floats("logits")) <= 1e-4)

        m.params.zeroGrads()
        let sum = c.targets.withUnsafeBufferPointer {
            m.lossAndBackward(targets: $0.baseAddress!, ignoreIndex: c.ignore, scale: 1 / Float(counted))
        }
        let loss = Float(sum / Double(counted))
        let ref = try c.file.floats("loss")[0]
        #expect(abs(loss - ref) <= 1e-4 * abs(ref))
        for s in m.params.slots {
            let got = Array(UnsafeBufferPointer(start: m.params.grads.pointer + s.offset, count: s.count))
            let err = relativeError(got, try c.file.floats("grad." + s.name))
            #expect(err <= 1e-4, "gradient of \(s.name): relative error \(err)")
        }
    }

    static func adamW(_ c: Case) -> AdamW {
        let o = c.opt
        let noDecay = ["*norm.weight", "*norm.bias"]
        return AdamW(
            store: c.model.params,
            config: AdamWConfig(
                beta1: o["beta1"] as! Double, beta2: o["beta2"] as! Double,
                eps: o["eps"] as! Double, weightDecay: o["wd"] as! Double),
            decays: { !Glob.matchesAny(noDecay, $0) })
    }

    static func schedule(_ c: Case) -> LRSchedule {
        LRSchedule(
            baseLR: c.opt["lr"] as! Double, minLR: c.opt["min_lr"] as! Double,
            warmupSteps: c.opt["warmup"] as! Int, totalSteps: c.opt["total"] as! Int)
    }

    /// Warmup + cosine against torch's LinearLR → CosineAnnealingLR (SequentialLR).
    @Test func scheduleMatchesTorch() throws {
        let c = try Self.load("openlm")
        let ref = try c.file.floats("schedule_lrs")
        let s = Self.schedule(c)
        for (step, lr) in ref.enumerated() {
            #expect(abs(Float(s.lr(at: step)) - lr) <= 1e-6 * lr, "step \(step)")
        }
    }

    /// One AdamW update with clipping, from the reference gradients: optimizer alone.
    @Test(arguments: ["openlm", "llama"])
    func oneAdamWStepMatchesTorch(name: String) throws {
        let c = try Self.load(name)
        let m = c.model
        for s in m.params.slots {
            try c.file.read("grad." + s.name, into: m.params.grads.pointer + s.offset, count: s.count)
        }
        let adam = Self.adamW(c)
        let norm = adam.gradNorm()
        #expect(abs(Float(norm) - (try c.file.floats("step1_grad_norm")[0])) <= 1e-5 * Float(norm))
        let clip = c.opt["clip"] as! Double
        let lr = Self.schedule(c).lr(at: 0)
        #expect(abs(Float(lr) - (try c.file.floats("step1_lr")[0])) <= 1e-7)
        adam.update(lr: lr, gradScale: Float(min(1, clip / (norm + 1e-6))), pool: m.pool)
        for s in m.params.slots {
            let got = Array(UnsafeBufferPointer(start: m.params.values.pointer + s.offset, count: s.count))
            let err = relativeError(got, try c.file.floats("step1." + s.name))
            #expect(err <= 1e-6, "\(s.name) after one AdamW step: relative error \(err)")
        }
    }

    /// Three full training steps. Losses and gradient norms to 1e-4; weights to 1e-3, because
    /// Adam's early updates are ±lr·sign(g) and float32 rounding flips the sign of gradients
    /// that are zero up to rounding (the single-step test above checks the optimizer to 1e-6).
    @Test(arguments: ["openlm", "llama"])
    func threeTrainingStepsMatchTorch(name: String) throws {
        let c = try Self.load(name)
        let m = c.model, o = c.opt
        let adam = Self.adamW(c)
        let schedule = Self.schedule(c)
        let counted = c.targets.filter { $0 != c.ignore }.count
        let refLosses = try c.file.floats("adamw_losses"), refNorms = try c.file.floats("adamw_grad_norms")
        for step in 0..<(o["steps"] as! Int) {
            m.params.zeroGrads()
            c.inputs.withUnsafeBufferPointer { m.forward(tokens: $0.baseAddress!) }
            let sum = c.targets.withUnsafeBufferPointer {
                m.lossAndBackward(targets: $0.baseAddress!, ignoreIndex: c.ignore, scale: 1 / Float(counted))
            }
            let norm = adam.gradNorm()
            #expect(abs(Float(sum / Double(counted)) - refLosses[step]) <= 1e-4 * refLosses[step])
            #expect(abs(Float(norm) - refNorms[step]) <= 1e-4 * refNorms[step])
            adam.update(
                lr: schedule.lr(at: step), gradScale: Float(min(1, (o["clip"] as! Double) / (norm + 1e-6))),
                pool: m.pool)
        }
        for s in m.params.slots {
            let got = Array(UnsafeBufferPointer(start: m.params.values.pointer + s.offset, count: s.count))
            let err = relativeError(got, try c.file.floats("adamw." + s.name))
            #expect(err <= 1e-3, "\(s.name) after three steps: relative error \(err)")
        }
    }
}
