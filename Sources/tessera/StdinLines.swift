import Foundation
import TesseraCore

/// Lines of standard input as raw bytes, split on "\n" only (a "\r" stays part of its line), so
/// every byte string survives `tokenize encode --tokenizer bytes` unchanged. A line longer than
/// `maxLine` bytes is a data error instead of an unbounded allocation.
struct StdinLines {
    let maxLine: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private(set) var number = 0

    init(maxLine: Int = 64 << 20) { self.maxLine = maxLine }

    mutating func next() throws -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 10) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                number += 1
                return line
            }
            guard buffer.count - start <= maxLine else {
                throw TesseraError.data(file: "stdin", "line \(number + 1) is longer than \(maxLine) bytes")
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                number += 1
                return line
            }
            if start > 0 { buffer.removeFirst(start); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TesseraError.data(file: "stdin", "cannot read: \(FileIO.errnoText())")
            }
            if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0..<n]) }
        }
    }

    /// The first byte offset where `bytes` stop being valid UTF-8, or nil when all of it is.
    static func invalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): offset += UTF8.width(s)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }
}
