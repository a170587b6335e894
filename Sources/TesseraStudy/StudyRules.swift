import Foundation
import TesseraCore

/// The rules a study's claims are judged by, written down before its runs (`configs/reproduce/
/// study.yaml`, copied into the study's root by scripts/reproduce.sh before the first run) and
/// printed in the report. Every margin is in the unit of the measurement it bounds.
public struct StudyRules: Codable, Equatable {
    /// What the study trains on, in words (the report's header).
    public var data = "unspecified"
    /// Two-sided level of the paired t intervals; each bound is then a one-sided (1 + level)/2 bound.
    public var confidence = 0.90
    /// The text-to-image learning rate whose runs carry the main claims; runs at any other learning
    /// rate are the sensitivity pair and are judged again beside them. nil: the most common one.
    public var primaryLR: Double?
    public var margins = Margins()
    /// Claims this data or LM cannot test, with the reason (shown instead of a verdict).
    public var untestable: [String: String] = [:]

    public struct Margins: Codable, Equatable {
        /// nats/token: "the same loss" is |Δ| < loss; "worse"/"lower" needs a difference beyond it.
        public var loss = 0.03
        /// Share of samples recognised as their caption (C5), as a fraction.
        public var recognised = 0.05
        /// C5 is judged only when the better arm's samples are scored at least this multiple of
        /// the scorer's chance (when the scorer reports one): equal quality must be told from
        /// equal failure.
        public var qualityLift = 2.0
        /// C8: "hard to align" when more than this share of the reducible contrastive loss
        /// (initial − floor) is left at the end …
        public var reducibleLeft = 0.5
        /// … and held-out retrieval is under this multiple of chance.
        public var retrievalLift = 2.0
        /// C9: codes' nearest tokens are "void" when the share that are caption content words
        /// exceeds the shuffled-caption control's by less than this (fraction).
        public var contentWordExcess = 0.05
        /// C11: "deteriorates severely" when text perplexity grows by more than this factor.
        public var perplexityFactor = 2.0
        /// C12: "lost" when accuracy falls below this fraction of what it was.
        public var knowledgeKept = 0.25
        /// C13: "fewer steps" when the pretrained arm needs less than (1 − this) of the random
        /// arm's steps to reach the random arm's final held-out image loss.
        public var stepSaving = 0.1

        enum CodingKeys: String, CodingKey {
            case loss, recognised
            case qualityLift = "quality_lift"
            case reducibleLeft = "reducible_left", retrievalLift = "retrieval_lift"
            case contentWordExcess = "content_word_excess", perplexityFactor = "perplexity_factor"
            case knowledgeKept = "knowledge_kept", stepSaving = "step_saving"
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Margins()
            loss = try c.decodeIfPresent(Double.self, forKey: .loss) ?? d.loss
            recognised = try c.decodeIfPresent(Double.self, forKey: .recognised) ?? d.recognised
            qualityLift = try c.decodeIfPresent(Double.self, forKey: .qualityLift) ?? d.qualityLift
            reducibleLeft = try c.decodeIfPresent(Double.self, forKey: .reducibleLeft) ?? d.reducibleLeft
            retrievalLift = try c.decodeIfPresent(Double.self, forKey: .retrievalLift) ?? d.retrievalLift
            contentWordExcess = try c.decodeIfPresent(Double.self, forKey: .contentWordExcess) ?? d.contentWordExcess
            perplexityFactor = try c.decodeIfPresent(Double.self, forKey: .perplexityFactor) ?? d.perplexityFactor
            knowledgeKept = try c.decodeIfPresent(Double.self, forKey: .knowledgeKept) ?? d.knowledgeKept
            stepSaving = try c.decodeIfPresent(Double.self, forKey: .stepSaving) ?? d.stepSaving
        }
    }

    enum CodingKeys: String, CodingKey {
        case data, confidence, margins, untestable
        case primaryLR = "primary_lr"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = StudyRules()
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? d.data
        confidence = try c.decodeIfPresent(Double.self, forKey: .confidence) ?? d.confidence
        primaryLR = try c.decodeIfPresent(Double.self, forKey: .primaryLR)
        margins = try c.decodeIfPresent(Margins.self, forKey: .margins) ?? Margins()
        untestable = try c.decodeIfPresent([String: String].self, forKey: .untestable) ?? [:]
    }

    /// The name of the rules file in a study root (scripts/reproduce.sh writes it before the runs).
    public static let fileName = "study-rules.json"

    /// Reads rules from JSON, checking every value's range; `file` names the source in errors.
    public static func load(json data: Data, file: String) throws -> StudyRules {
        let r: StudyRules
        do { r = try JSONDecoder().decode(StudyRules.self, from: data) } catch let e as DecodingError {
            throw TesseraError.config("\(file): \(Self.describe(e))")
        }
        func check(_ ok: Bool, _ key: String, _ value: Double, _ range: String) throws {
            if !ok { throw TesseraError.config("\(file): \(key) = \(value) must be \(range)") }
        }
        try check(r.confidence > 0.5 && r.confidence < 1, "confidence", r.confidence, "in (0.5, 1)")
        if let lr = r.primaryLR { try check(lr > 0 && lr.isFinite, "primary_lr", lr, "> 0") }
        let m = r.margins
        try check(m.loss > 0 && m.loss.isFinite, "margins.loss", m.loss, "> 0")
        try check(m.recognised > 0 && m.recognised < 1, "margins.recognised", m.recognised, "in (0, 1)")
        try check(m.qualityLift >= 1 && m.qualityLift.isFinite, "margins.quality_lift", m.qualityLift, "≥ 1")
        try check(m.reducibleLeft > 0 && m.reducibleLeft < 1, "margins.reducible_left", m.reducibleLeft, "in (0, 1)")
        try check(m.retrievalLift >= 1 && m.retrievalLift.isFinite, "margins.retrieval_lift", m.retrievalLift, "≥ 1")
        try check(
            m.contentWordExcess > 0 && m.contentWordExcess < 1, "margins.content_word_excess", m.contentWordExcess,
            "in (0, 1)")
        try check(
            m.perplexityFactor > 1 && m.perplexityFactor.isFinite, "margins.perplexity_factor", m.perplexityFactor,
            "> 1")
        try check(m.knowledgeKept > 0 && m.knowledgeKept < 1, "margins.knowledge_kept", m.knowledgeKept, "in (0, 1)")
        try check(m.stepSaving > 0 && m.stepSaving < 1, "margins.step_saving", m.stepSaving, "in (0, 1)")
        return r
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c.codingPath).isEmpty ? "file" : path(c.codingPath)): \(c.debugDescription)"
        case .keyNotFound(let k, let c): return "missing key \(path(c.codingPath + [k]))"
        @unknown default: return "unreadable rules"
        }
    }

    /// The rules as the report prints them.
    public var lines: [String] {
        let m = margins
        return [
            "data: \(data)",
            String(
                format: "paired t intervals at %.0f %% (each bound one-sided %.1f %%)", 100 * confidence,
                50 * (1 + confidence)),
            primaryLR.map {
                String(format: "primary text-to-image learning rate %g; other rates are the sensitivity pair", $0)
            }
                ?? "primary text-to-image learning rate: the most common one among the runs",
            String(format: "loss margin %.3f nats/token (C1–C4, C6, C7, C10)", m.loss),
            String(
                format:
                    "sample recognition margin %.1f points (C5), judged only when an arm's samples score ≥ %.1f × the scorer's chance",
                100 * m.recognised, m.qualityLift),
            String(
                format:
                    "C8: hard to align if > %.0f %% of the reducible loss is left and held-out retrieval < %.1f × chance",
                100 * m.reducibleLeft, m.retrievalLift),
            String(
                format: "C9: void if content-word share exceeds the shuffled-caption control by < %.1f points",
                100 * m.contentWordExcess),
            String(format: "C11: severe if text perplexity grows × %.1f or more", m.perplexityFactor),
            String(format: "C12: lost if accuracy falls below %.0f %% of before", 100 * m.knowledgeKept),
            String(format: "C13: fewer steps if the step ratio is < %.2f", 1 - m.stepSaving),
        ] + untestable.keys.sorted().map { "untestable here: \($0) — \(untestable[$0]!)" }
    }
}
