import Foundation

// libm entry points under names that do not collide with the SIMD helpers in Kernels.
@inline(__always) func Foundation_log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func Foundation_cos(_ x: Double) -> Double { Foundation.cos(x) }
