// swift-tools-version:6.1
import PackageDescription

// The x86_64 baseline is SSE2: SIMD FMA would become fmaf() libcalls. haswell = AVX2 + FMA + F16C.
// Set on every Swift target, because release builds inline small public functions across modules
// and inlined code is compiled with the client's flags.
#if arch(x86_64)
    let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
    let cpuFlags: [SwiftSetting] = []
#endif

let package = Package(
    name: "Tessera",
    products: [
        .executable(name: "tessera", targets: ["tessera"]),
        .library(name: "TesseraCore", targets: ["TesseraCore"]),
        .library(name: "TesseraStudy", targets: ["TesseraStudy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "pkg-config"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng16", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // gzip (Fashion-MNIST's IDX files); zlib1g-dev comes with libpng-dev.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Open MPI for data-parallel training (mpirun -np N tessera train …).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // oneDNN for bf16 products (precision: bf16) and convolutions; no pkg-config file in Debian's package.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // glibc's malloc.h (malloc_trim: benchmarks hand freed heap back before measuring memory).
        .systemLibrary(name: "CMalloc"),
        .target(
            name: "TesseraCore",
            dependencies: ["COpenBLAS", "CPNG", "CZstd", "CZlib", "CDNNL", "CMalloc"],
            swiftSettings: cpuFlags),
        // One paper's rubric on top of the numeric core: the claims C1–C13, their rules, the
        // study's runs as the report reads them, and the HTML report. The core carries no study.
        .target(name: "TesseraStudy", dependencies: ["TesseraCore"], swiftSettings: cpuFlags),
        .target(name: "TesseraMPI", dependencies: ["TesseraCore", "CMPI"], swiftSettings: cpuFlags),
        .executableTarget(
            name: "tessera",
            dependencies: [
                "TesseraCore", "TesseraStudy", "TesseraMPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "TesseraCoreTests", dependencies: ["TesseraCore", "TesseraStudy"],
            resources: [.copy("Fixtures")],
            swiftSettings: cpuFlags),
    ],
    // Swift 5 mode: the kernels share raw pointers across Dispatch workers by design;
    // Swift 6's Sendable checking would demand wrappers on every one of them.
    swiftLanguageModes: [.v5]
)
