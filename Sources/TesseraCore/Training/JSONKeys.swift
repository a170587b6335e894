import Foundation

/// Small JSON helpers that JSONSerialization does not provide.
enum JSONKeys {
    static func exactInt(_ v: Any) -> Int? {
        if let n = v as? NSNumber {
            let d = n.doubleValue
            guard d == d.rounded(), abs(d) < 9e15 else { return nil }
            return n.intValue
        }
        return nil
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Scans the top level of a JSON object for a repeated key (JSONSerialization keeps one silently).
    static func firstDuplicateTopLevelKey(_ data: Data) -> String? {
        let bytes = [UInt8](data)
        var i = 0, depth = 0
        var seen = Set<String>()
        var expectKey = false
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                var s: [UInt8] = []
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") { s.append(bytes[j]); j += 1 }
                    if j < bytes.count { s.append(bytes[j]) }
                    j += 1
                }
                if depth == 1 && expectKey {
                    let key = String(decoding: s, as: UTF8.self)
                    if !seen.insert(key).inserted { return key }
                    expectKey = false
                }
                i = j + 1
                continue
            }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 && c == UInt8(ascii: "{") { expectKey = true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { expectKey = true }
            default: break
            }
            i += 1
        }
        return nil
    }
}
