import Foundation
import TesseraCore
import TesseraStudy
import Testing

/// The statistics behind the report's verdicts against scipy, the contrastive floor against the
/// loss itself, and every claim's rule shown able to hold, fail and be undecided.
@Suite struct VerdictTests {
    static func fixture() throws -> [String: Any] {
        try #require(
            JSONSerialization.jsonObject(with: try FileIO.read(Fixtures.path("paired_stats.json"))) as? [String: Any])
    }

    @Test func studentTMatchesScipy() throws {
        let f = try Self.fixture()
        for q in f["quantiles"] as! [[String: Any]] {
            let df = q["df"] as! Double, p = q["p"] as! Double, want = q["t"] as! Double
            let got = PairedStatistics.studentTQuantile(p, df: df)
            #expect(abs(got - want) <= 1e-8 * max(1, abs(want)), "t quantile df \(df) p \(p): \(got) vs \(want)")
        }
        for c in f["cdf"] as! [[String: Any]] {
            let df = c["df"] as! Double, t = c["t"] as! Double, want = c["p"] as! Double
            #expect(abs(PairedStatistics.studentTCDF(t, df: df) - want) <= 1e-10, "t cdf df \(df) t \(t)")
        }
    }

    /// The paired interval equals scipy's t.interval; "held" for equivalence equals TOST at α = (1 − level)/2.
    @Test func pairedIntervalAndEquivalenceMatchScipy() throws {
        let f = try Self.fixture()
        var seen: Set<PairedStatistics.Outcome> = []
        for c in f["paired"] as! [[String: Any]] {
            let a = c["a"] as! [Double], b = c["b"] as! [Double], level = c["level"] as! Double,
                margin = c["margin"] as! Double
            let i = try #require(PairedStatistics.interval(zip(a, b).map { $0 - $1 }, level: level))
            #expect(abs(i.mean - (c["mean"] as! Double)) < 1e-12 && abs(i.sd - (c["sd"] as! Double)) < 1e-12)
            #expect(
                abs(i.lower - (c["lower"] as! Double)) < 1e-9 && abs(i.upper - (c["upper"] as! Double)) < 1e-9,
                "\(i) vs \(c)")
            let outcome = PairedStatistics.judge(i, .within(margin))
            seen.insert(outcome)
            #expect(
                (outcome == .held) == ((c["tost_p"] as! Double) < (1 - level) / 2),
                "TOST p \(c["tost_p"]!) vs \(outcome)")
        }
        #expect(seen == [.held, .notHeld, .inconclusive])  // the fixture exercises all three
    }

    @Test func regionsGiveThreeVerdicts() throws {
        func i(_ lo: Double, _ hi: Double, n: Int = 3) -> PairedStatistics.Interval {
            .init(n: n, mean: (lo + hi) / 2, sd: 1, lower: lo, upper: hi, level: 0.9)
        }
        #expect(PairedStatistics.judge(i(-0.01, 0.02), .within(0.03)) == .held)
        #expect(PairedStatistics.judge(i(0.04, 0.09), .within(0.03)) == .notHeld)
        #expect(PairedStatistics.judge(i(-0.09, -0.05), .within(0.03)) == .notHeld)
        #expect(PairedStatistics.judge(i(0.01, 0.05), .within(0.03)) == .inconclusive)
        #expect(PairedStatistics.judge(i(-3, -1), .below(-0.03)) == .held)
        #expect(PairedStatistics.judge(i(-0.02, 0.5), .below(-0.03)) == .notHeld)
        #expect(PairedStatistics.judge(i(-0.1, 0.1), .below(-0.03)) == .inconclusive)
        #expect(PairedStatistics.judge(i(2.1, 3), .above(2)) == .held)
        #expect(PairedStatistics.judge(i(1, 2), .above(2)) == .notHeld)
        #expect(PairedStatistics.judge(i(1.5, 2.5), .above(2)) == .inconclusive)
        // One seed has no interval: never a verdict, however large the difference.
        let one = try #require(PairedStatistics.interval([5.0], level: 0.9))
        #expect(one.n == 1 && PairedStatistics.judge(one, .above(0)) == .inconclusive)
        #expect(PairedStatistics.interval([1, .nan], level: 0.9) == nil)
        #expect(
            PairedStatistics.all([.held, .held]) == .held
                && PairedStatistics.all([.held, .inconclusive]) == .inconclusive)
        #expect(
            PairedStatistics.all([.inconclusive, .notHeld]) == .notHeld && PairedStatistics.all([]) == .inconclusive)
    }

    /// The floor is what the CLIP loss reaches with the best embeddings (one-hot by caption, scale
    /// 100): duplicates of a caption cannot be told apart. Any other embeddings do worse.
    @Test func contrastiveFloorIsTheBestLoss() throws {
        let textClass = [0, 0, 1, 2, 2, 2, 3, 4]  // 8 distinct images, captions with duplicates
        let n = textClass.count, d = 5
        let floor = ContrastiveFloor.floor(imageKeys: Array(0..<n), textKeys: textClass)
        let expected =
            textClass.map { c in Foundation.log(Double(textClass.filter { $0 == c }.count)) }.reduce(0, +) / Double(n)
        #expect(abs(floor - expected) < 1e-12)
        #expect(ContrastiveFloor.floor(imageKeys: Array(0..<n), textKeys: Array(0..<n)) == 0)
        var image = [Float](repeating: 0, count: n * d), text = image
        for (i, c) in textClass.enumerated() { image[i * d + c] = 1; text[i * d + c] = 1 }
        var dImage = [Float](repeating: 0, count: n * d), scratch = [Float](repeating: 0, count: 2 * n * n)
        let pool = Parallel(threads: 1)
        let best = CLIPLoss.forwardBackward(
            image: image, text: text, n: n, d: d, logScale: Float(Foundation.log(100.0)),
            dImage: &dImage, pool: pool, scratch: &scratch)
        #expect(abs(best.loss - floor) < 1e-6, "\(best.loss) vs floor \(floor)")
        var rng = RandomStream(seed: 3, name: "test/floor")
        for _ in 0..<5 {
            var r = (0..<(n * d)).map { _ in rng.normal() }
            for i in 0..<n {
                let norm = (0..<d).map { r[i * d + $0] * r[i * d + $0] }.reduce(0, +).squareRoot();
                for j in 0..<d { r[i * d + j] /= norm }
            }
            let other = CLIPLoss.forwardBackward(
                image: r, text: text, n: n, d: d, logScale: Float(Foundation.log(100.0)),
                dImage: &dImage, pool: pool, scratch: &scratch)
            #expect(other.loss > floor)
        }
        // Identical images with different captions: the column side has the floor too.
        let both = ContrastiveFloor.floor(imageKeys: [0, 0, 1, 2], textKeys: [7, 8, 9, 9])
        #expect(abs(both - (2 * Foundation.log(2.0) + 2 * Foundation.log(2.0)) * 2 / 8) < 1e-12)
        let r = ContrastiveFloor.retrieval(best: [1, 0, 2, 3], textKeys: ["a", "a", "b", "c"])
        #expect(r.hits == 1 && abs(r.chance - (0.5 + 0.5 + 0.25 + 0.25) / 4) < 1e-12)
    }

    static func verdicts(_ sc: StudyScenario) throws -> [String: PaperClaims.Verdict] {
        let root = tempDirectory("verdict")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try StudyFixture.make(root, sc)
        return Dictionary(
            uniqueKeysWithValues: PaperClaims.evaluate(try StudyRuns(paths: [root])).map { ($0.id, $0.verdict) })
    }

    /// Independent per-arm noise: ±amplitude in a fixed pattern, so paired differences vary by seed.
    static func noise(_ arm: String, _ seed: Int, _ amplitude: Double) -> Double {
        let patterns: [[Double]] = [[-1, 1, 0], [1, -1, 0.5], [0.5, 0.5, -1], [-1, -0.5, 1], [0, 1, -1]]
        let k = arm == "aligned" ? 4 : (arm.hasPrefix("random") ? 0 : 1) + (arm.contains("trainable") ? 2 : 0)
        return amplitude * patterns[k][(seed - 1) % 3]
    }

    @Test func everyClaimHoldsOnTheBaseScenario() throws {
        let v = try Self.verdicts(StudyScenario())
        #expect(v.count == 14)
        for (id, verdict) in v { #expect(verdict == .held, "\(id): \(verdict)") }
    }

    @Test func lossClaimsFailAndWaver() throws {
        var worse = StudyScenario()
        worse.t2iImage = { arm, s in (arm == "random" ? 2.0 : arm == "pretrained" ? 2.3 : 1.5) + 0.002 * Double(s) }
        worse.t2iTextEnd = { arm, s in (arm == "pretrained" ? 0.4 : 0.6) + 0.001 * Double(s) }
        worse.t2iTextStart = { _, s in 8 + 0.01 * Double(s) }
        worse.uncond = { arm, s in
            (arm == "random"
                ? 2.4 : arm.hasPrefix("pretrained, trainable") ? 1.9 : arm.hasPrefix("random, trainable") ? 2.5 : 2.0)
                + 0.003 * Double(s)
        }
        worse.t2iImageShape = { _, _ in 2 }
        let w = try Self.verdicts(worse)
        for id in ["C1", "C2", "C3", "C4", "C6", "C7", "C7c", "C13"] {
            #expect(w[id] == .notHeld, "\(id): \(String(describing: w[id]))")
        }

        var noisy = StudyScenario()
        noisy.t2iImage = { arm, s in
            (arm == "aligned" ? 1.5 : arm.hasSuffix("norm-matched") ? 1.52 : 2.0) + Self.noise(arm, s, 0.05)
        }
        noisy.t2iTextEnd = { arm, s in 0.6 + Self.noise(arm, s, 0.05) }
        noisy.t2iTextStart = { arm, s in (arm == "random" ? 3.03 : 3) + Self.noise(arm, s, 0.05) }
        noisy.uncond = { arm, s in
            (arm.hasPrefix("pretrained, trainable") ? 2.03 : arm.hasPrefix("random, trainable") ? 2.03 : 2.0)
                + Self.noise(arm, s, 0.05)
        }
        noisy.t2iImageShape = { arm, s in arm == "random" ? 2 : [4, 2, 2.6][s - 1] }
        let n = try Self.verdicts(noisy)
        for id in ["C1", "C2", "C3", "C4", "C6", "C7", "C7c", "C10", "C13"] {
            #expect(n[id] == .inconclusive, "\(id): \(String(describing: n[id]))")
        }
    }

    @Test func samplesAlignmentAndForgettingClaimsFailAndWaver() throws {
        var worse = StudyScenario()
        worse.samples = { arm, s in (arm == "random" ? 0.9 : 0.7) + 0.01 * Double(s) }
        worse.align = { s in ((7, 1.2 + 0.01 * Double(s)), (1, 1), 0.3, 0.02) }  // at the floor, retrieval 15× chance
        worse.contentShare = { s, control in control ? 0.1 : 0.4 + 0.01 * Double(s) }
        worse.t2iImage = { arm, s in
            (arm == "aligned" ? 1.2 : arm.hasSuffix("norm-matched") ? 1.5 : 2.0) + 0.002 * Double(s)
        }
        worse.pplAfter = { s in 160 + Double(s) }
        worse.cloze = (0.5, { _ in 0.5 })
        let w = try Self.verdicts(worse)
        for id in ["C5", "C8", "C9", "C10", "C11", "C12"] {
            #expect(w[id] == .notHeld, "\(id): \(String(describing: w[id]))")
        }

        var noisy = StudyScenario()
        noisy.samples = { arm, s in 0.7 + Self.noise(arm, s, 0.1) }
        noisy.align = { s in ((7, 4 + [-0.3, 0.4, 0][s - 1]), (1, 1), 0.03, 0.02) }  // left ≈ 0.5 ± 0.06
        noisy.contentShare = { s, control in control ? 0.1 : 0.15 + [-0.05, 0.05, 0.01][s - 1] }
        noisy.pplAfter = { s in 150 * [1.5, 2.6, 2.0][s - 1] }
        noisy.cloze = (0.5, { s in 0.5 * [0.1, 0.4, 0.25][s - 1] })
        let n = try Self.verdicts(noisy)
        for id in ["C5", "C8", "C9", "C11", "C12"] {
            #expect(n[id] == .inconclusive, "\(id): \(String(describing: n[id]))")
        }
    }

    /// Text replay (R1–R3, beyond the paper): judged only when a replay arm exists; each can hold,
    /// fail and waver. R1 and R2 use C11's and C12's thresholds at the replay arm's last probe.
    @Test func textReplayClaimsHoldFailAndWaver() throws {
        var base = StudyScenario()
        base.replay = true
        let v = try Self.verdicts(base)
        #expect(v.count == 17)
        for id in ["R1", "R2", "R3"] { #expect(v[id] == .held, "\(id): \(String(describing: v[id]))") }
        #expect(try Self.verdicts(StudyScenario())["R1"] == nil)

        var worse = base
        worse.replayPpl = { s in 500 + Double(s) }  // × 3.3 of 150
        worse.replayCloze = { _ in 0.05 }  // kept × 0.1
        worse.replayImage = { s in 2.2 + 0.002 * Double(s) }
        let w = try Self.verdicts(worse)
        for id in ["R1", "R2", "R3"] { #expect(w[id] == .notHeld, "\(id): \(String(describing: w[id]))") }

        var noisy = base
        noisy.replayPpl = { s in 150 * [1.5, 2.6, 2.0][s - 1] }
        noisy.replayCloze = { s in 0.5 * [0.1, 0.4, 0.25][s - 1] }
        noisy.replayImage = { s in 1.997 + [-0.05, 0.06, 0.0][s - 1] }
        let n = try Self.verdicts(noisy)
        for id in ["R1", "R2", "R3"] { #expect(n[id] == .inconclusive, "\(id): \(String(describing: n[id]))") }
    }

    /// C10 says "no improvement": one-sided. Aligned rows that end worse than the control are no
    /// gain (held); only a loss lower than the control's by more than the margin refutes it.
    @Test func alignedInitIsJudgedOneSided() throws {
        var worseAligned = StudyScenario()
        worseAligned.t2iImage = { arm, s in
            (arm == "aligned" ? 1.6 : arm.hasSuffix("norm-matched") ? 1.5 : 2.0) + 0.002 * Double(s)
        }
        #expect(try Self.verdicts(worseAligned)["C10"] == .held)
        var justBetter = StudyScenario()
        justBetter.t2iImage = { arm, s in
            arm == "aligned" ? 1.5 + [-0.04, -0.02, -0.03][s - 1] : arm.hasSuffix("norm-matched") ? 1.5 : 2.0
        }
        #expect(try Self.verdicts(justBetter)["C10"] == .inconclusive)
    }

    /// On real images the category classifier's accuracy judges C5, held and not held alike.
    @Test func sampleQualityFromTheCategoryClassifier() throws {
        var same = StudyScenario()
        same.classifierScores = true
        #expect(try Self.verdicts(same)["C5"] == .held)
        var worse = same
        worse.samples = { arm, s in (arm == "random" ? 0.3 : 0.2) + 0.01 * Double(s) }
        #expect(try Self.verdicts(worse)["C5"] == .notHeld)
        let root = tempDirectory("c5")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try StudyFixture.make(root, worse)
        let claim = try #require(PaperClaims.evaluate(try StudyRuns(paths: [root])).first { $0.id == "C5" })
        #expect(claim.measure.contains("category classifier"))

        // Both arms near the classifier's chance (4 %): "the same quality" would be the same failure.
        var atChance = same
        atChance.samples = { arm, s in 0.05 + 0.001 * Double(s) + (arm == "random" ? 0.002 : 0) }
        guard case .untestable(let why) = try Self.verdicts(atChance)["C5"] else {
            Issue.record("C5 at chance level was judged"); return
        }
        #expect(why.contains("samples at chance level"))
    }

    /// What the data cannot test is said instead of a verdict: by the rules, or because the LM
    /// answered nothing before (C12 names the half).
    @Test func untestableClaimsSayWhy() throws {
        var sc = StudyScenario()
        sc.rules?.untestable = ["C9": "codes align with caption words by construction"]
        sc.translation = (0, { _ in 0 })
        let v = try Self.verdicts(sc)
        #expect(v["C9"] == .untestable("codes align with caption words by construction"))
        guard case .untestable(let why) = v["C12"] else {
            Issue.record("C12 judged with translation at 0 before"); return
        }
        #expect(why.contains("translation") && !why.contains("cloze"))
        // One seed: measured, never judged.
        var one = StudyScenario()
        one.seeds = 1
        let o = try Self.verdicts(one)
        for id in ["C1", "C2", "C6", "C10"] { #expect(o[id] == .inconclusive, "\(id)") }
    }

    /// Runs at a second learning rate are the sensitivity pair: judged again beside the primary.
    @Test func learningRateSensitivityPairIsJudgedBeside() throws {
        let root = tempDirectory("lr-pair")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var sc = StudyScenario()
        sc.rules?.primaryLR = 6e-4
        try StudyFixture.make(root, sc)
        for s in 1...3 {
            try StudyFixture.run(
                root + "/t2i-pretrained-lrpeak-s\(s)", seed: s, initFrom: root + "/text-lm", lr: 2e-3, text: (3, 0.6),
                image: (8, 2.0, 4))
            try StudyFixture.run(
                root + "/t2i-random-lrpeak-s\(s)", seed: s, initFrom: nil, lr: 2e-3, text: (8, 0.6),
                image: (8, 2.5 + 0.01 * Double(s), 2))
        }
        let claims = PaperClaims.evaluate(try StudyRuns(paths: [root]))
        let byId = Dictionary(uniqueKeysWithValues: claims.map { ($0.id, $0.verdict) })
        #expect(byId["C1"] == .held && byId["C2"] == .held)
        #expect(byId["C2 (lr 0.002)"] == .notHeld && byId["C1 (lr 0.002)"] == .notHeld)
        #expect(byId["C4 (lr 0.002)"] != nil && byId["C13 (lr 0.002)"] != nil)
    }

    @Test func rulesAreReadStrictly() throws {
        let ok = try StudyRules.load(
            json: Data(#"{"confidence": 0.95, "margins": {"loss": 0.05}, "untestable": {"C8": "why"}}"#.utf8),
            file: "r.json")
        #expect(
            ok.confidence == 0.95 && ok.margins.loss == 0.05 && ok.margins.recognised == 0.05
                && ok.untestable["C8"] == "why")
        for bad in [
            #"{"confidence": 1.5}"#, #"{"margins": {"loss": -1}}"#, #"{"margins": {"loss": "x"}}"#,
            #"{"primary_lr": 0}"#, "[1]",
        ] {
            #expect(throws: TesseraError.self, "\(bad)") { try StudyRules.load(json: Data(bad.utf8), file: "r.json") }
        }
    }

    /// `report rules` fixes the rules in a root once; other rules for it are refused (exit 3).
    @Test func reportRulesWritesOnceAndRefusesChanges() throws {
        let root = tempDirectory("rules-cli")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let a = root + "/a.yaml", b = root + "/b.yaml"
        try FileIO.writeAtomically(a, data: Data("confidence: 0.9\nmargins:\n  loss: 0.03\n".utf8))
        try FileIO.writeAtomically(b, data: Data("confidence: 0.9\nmargins:\n  loss: 0.3\n".utf8))
        #expect(try runTessera(["report", "rules", a, "--root", root + "/study"]).status == 0)
        #expect(try runTessera(["report", "rules", a, "--root", root + "/study"]).status == 0)
        let changed = try runTessera(["report", "rules", b, "--root", root + "/study"])
        #expect(changed.status == 3 && changed.stderr.contains(StudyRules.fileName))
        let rules = try StudyRules.load(json: try FileIO.read(root + "/study/" + StudyRules.fileName), file: "x")
        #expect(rules.margins.loss == 0.03)
    }
}
