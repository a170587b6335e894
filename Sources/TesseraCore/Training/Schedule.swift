import Foundation

/// Linear warmup then cosine decay to a floor (open_lm's `cosine_lr`), evaluated with the 0-based
/// step before each update:  step < W: base·(step+1)/W;  else min + ½(1+cos(π·(step−W)/(total−W)))·(base−min).
/// Past `totalSteps` it stays at the floor.
public struct LRSchedule: Codable, Equatable, Sendable {
    public var baseLR: Double
    public var minLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(baseLR: Double, minLR: Double, warmupSteps: Int, totalSteps: Int) {
        self.baseLR = baseLR
        self.minLR = minLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func lr(at step: Int) -> Double {
        if step < warmupSteps { return baseLR * Double(step + 1) / Double(warmupSteps) }
        let span = totalSteps - warmupSteps
        if span <= 0 || step >= totalSteps { return minLR }
        let progress = Double(step - warmupSteps) / Double(span)
        return minLR + 0.5 * (1 + cos(Double.pi * progress)) * (baseLR - minLR)
    }
}
