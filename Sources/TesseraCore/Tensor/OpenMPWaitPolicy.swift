/// How oneDNN's OpenMP workers wait between calls, chosen for a process that also runs its own
/// thread pool.
///
/// A MoVQ pass alternates oneDNN's convolutions, on Debian's libdnnl's GNU OpenMP team, with
/// Tessera's norms, activations and attention, on its Dispatch workers — the same cores, taking
/// turns. libgomp's default lets a worker that finished spin for up to 300,000 iterations before
/// it sleeps (an "active" wait); on a 2-vCPU machine that spin holds the core Tessera's next
/// parallel loop needs. Measured (bench vq, vq-emoji, batch 8, 2 threads, AMD EPYC Zen), encode /
/// decode / training pass images/s: default 89.3 / 34.0 / 7.7; `OMP_WAIT_POLICY=passive` 103.7 /
/// 38.7 / 8.7; GOMP_SPINCOUNT 0, 1,000 and 10,000 the same as passive, 100,000 in between
/// (90.4 / 35.7 / 8.2). PyTorch runs everything on its OpenMP team and does not meet the conflict.
///
/// libgomp reads the policy once, when the dynamic loader brings it in — before any Swift code
/// runs — so the executable sets the variable and re-executes itself. A policy the user set
/// (OMP_WAIT_POLICY or GOMP_SPINCOUNT) is left alone. Waiting changes only who holds a core,
/// never what a kernel computes: the bits are the same.
public enum OpenMPWaitPolicy {
    /// The variable to set in an environment that lacks one: `("OMP_WAIT_POLICY", "passive")`,
    /// or nil when the user chose a policy.
    public static func missing(in environment: [String: String]) -> (name: String, value: String)? {
        if environment["OMP_WAIT_POLICY"] != nil || environment["GOMP_SPINCOUNT"] != nil { return nil }
        return ("OMP_WAIT_POLICY", "passive")
    }

    /// The policy in force, for benchmark records: OMP_WAIT_POLICY's value, "GOMP_SPINCOUNT=n",
    /// or "default" (libgomp's spin).
    public static func inForce(in environment: [String: String]) -> String {
        if let p = environment["OMP_WAIT_POLICY"] { return p }
        if let n = environment["GOMP_SPINCOUNT"] { return "GOMP_SPINCOUNT=" + n }
        return "default"
    }
}
