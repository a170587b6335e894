import Foundation

/// metrics.jsonl and the other row files: JSON objects with sorted keys, one per line. Rows that hold another row's fields
/// (a training step with its held-out figures) encode both into one object.
public enum MetricsLog {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        // A non-finite figure is written as a string instead of failing the run that measured it.
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// One line of a .jsonl file.
    public static func line<Row: Encodable>(_ row: Row) -> String {
        // Encoding plain structs of numbers and strings cannot fail.
        String(decoding: try! encoder().encode(row), as: UTF8.self)
    }

    /// A row of fields no reader decodes by type (benchmark lines, data files' caption rows).
    public static func line(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Every row of a .jsonl file that decodes as `Row` (lines that do not are skipped: a
    /// metrics file may hold rows of other kinds, and a torn last line).
    public static func rows<Row: Decodable>(_ path: String, as: Row.Type = Row.self) throws -> [Row] {
        let text = try FileIO.read(path)
        let d = decoder()
        return text.split(separator: UInt8(ascii: "\n")).compactMap { try? d.decode(Row.self, from: Data($0)) }
    }

    /// A JSON file holding one `Row`.
    public static func read<Row: Decodable>(_ path: String, as: Row.Type = Row.self) throws -> Row {
        let data = try FileIO.read(path)
        do { return try decoder().decode(Row.self, from: data) } catch {
            throw TesseraError.data(file: path, "is not a \(Row.self) (\(FileIO.describe(error)))")
        }
    }

    /// Drops rows past `step` (written by a run that died after its last checkpoint), atomically.
    public static func truncate(runDir: String, afterStep step: Int) throws {
        struct Step: Decodable { let step: Int }
        let path = runDir.appendingPathComponent("metrics.jsonl")
        guard FileIO.exists(path), let data = try? FileIO.read(path) else { return }
        let d = decoder()
        var kept: [Data] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let s = try? d.decode(Step.self, from: Data(line)), s.step <= step else { continue }
            kept.append(Data(line))
        }
        var out = Data()
        for line in kept { out.append(line); out.append(UInt8(ascii: "\n")) }
        try FileIO.writeAtomically(path, data: out)
    }
}
