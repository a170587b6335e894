import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes: data, count: size))) as? [String: Any],
        let t = try? TokenizerFiles.fromTokenizerJSON(root, path: "fuzz")
    else { return 0 }
    let text: [UInt8] = Array("Hello, wörld! 12 \u{1F600}\n\n  x".utf8)
    let ids = t.encode(bytes: text)
    _ = try? t.decodeBytes(ids)
    return 0
}
