import Foundation
import TesseraCore
import Testing

/// oneDNN's OpenMP workers sleep between calls unless the user chose otherwise (OpenMPWaitPolicy).
@Suite struct OpenMPWaitPolicyTests {
    @Test func passiveOnlyWhenTheUserChoseNothing() {
        func set(_ env: [String: String]) -> String? {
            OpenMPWaitPolicy.missing(in: env).map { $0.name + "=" + $0.value }
        }
        #expect(set([:]) == "OMP_WAIT_POLICY=passive")
        #expect(set(["PATH": "/bin"]) == "OMP_WAIT_POLICY=passive")
        #expect(set(["OMP_WAIT_POLICY": "active"]) == nil)
        #expect(set(["GOMP_SPINCOUNT": "0"]) == nil)
        #expect(OpenMPWaitPolicy.inForce(in: [:]) == "default")
        #expect(OpenMPWaitPolicy.inForce(in: ["GOMP_SPINCOUNT": "1000"]) == "GOMP_SPINCOUNT=1000")
    }

    /// The executable restarts itself with the policy set, and keeps a policy the user gave.
    /// (The first run also asks for `--profile`: the training pass's time by kind of work.)
    @Test func theExecutableRunsPassiveUnlessTold() throws {
        func policy(_ env: [String: String], profile: Bool = false) throws -> String {
            let r = try runProcess(
                "/usr/bin/env",
                ["-u", "OMP_WAIT_POLICY", "-u", "GOMP_SPINCOUNT"]
                    + env.map { "\($0.key)=\($0.value)" }
                    + [
                        tesseraBinary(), "bench", "vq", "--config", packageRoot + "/configs/vq-smoke.yaml", "--batch",
                        "1", "--repeats", "1", "--json",
                    ] + (profile ? ["--profile"] : []))
            #expect(r.status == 0, "\(r.stderr)")
            let row = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            if profile {
                let phases = try #require(row?["train_phases_ms"] as? [String: Double])
                #expect(phases.keys.contains { $0.hasPrefix("conv 3×3 forward") }, "\(phases)")
                #expect(["norm backward", "silu", "attention", "other"].allSatisfy { phases[$0] != nil }, "\(phases)")
            }
            return try #require(row?["omp_wait_policy"] as? String)
        }
        #expect(try policy([:], profile: true) == "passive")
        #expect(try policy(["OMP_WAIT_POLICY": "active"]) == "active")
        #expect(try policy(["GOMP_SPINCOUNT": "5000"]) == "GOMP_SPINCOUNT=5000")
    }
}
