import Foundation

/// gzip → IDX (Fashion-MNIST's files): arbitrary bytes must give an error, never a crash or a huge allocation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Data(bytes: data, count: size)
    let raw = (try? Gzip.decompress(input, path: "fuzz", maxBytes: 1 << 24)) ?? input
    for dims in [1, 3] { _ = try? IDXArray(data: raw, path: "fuzz", dimensions: dims) }
    return 0
}
