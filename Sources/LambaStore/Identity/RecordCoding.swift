public import Foundation
import LambaJOSE

/// Conversions between domain values and columns, shared by every record type.
extension SQLValue {
    /// Epoch milliseconds: integer comparison is time order on both databases.
    public init(_ date: Date) {
        self = .integer(Self.epochMilliseconds(date))
    }

    /// A date as whole milliseconds since 1970, held to `Int64`'s range: dates come from clocks and
    /// bounded input, and a value past the range (a corrupt clock, a forged cursor) must not trap.
    public static func epochMilliseconds(_ date: Date, rounding rule: FloatingPointRoundingRule = .down) -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(rule)
        guard milliseconds.isFinite else { return milliseconds > 0 ? .max : (milliseconds < 0 ? .min : 0) }
        // 2^63 is exactly representable; anything at or past it is out of range.
        if milliseconds >= 9_223_372_036_854_775_808.0 { return .max }
        if milliseconds < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(milliseconds)
    }

    public init(_ date: Date?) {
        self = date.map { SQLValue($0) } ?? .null
    }

    /// A list of strings as compact JSON text.
    public static func json(_ strings: [String]) -> SQLValue {
        .text(JSON.encodeString(.array(strings.map(JSONValue.string))))
    }

    /// A string map as compact JSON text, keys sorted so equal maps store equal bytes.
    public static func json(_ map: [String: String]) -> SQLValue {
        var object = JSONObject()
        for key in map.keys.sorted() { object[key] = .string(map[key]!) }
        return .text(JSON.encodeString(.object(object)))
    }

    /// A Codable document (environment settings) as JSON text with sorted keys.
    public static func document<T: Encodable>(_ value: T) throws -> SQLValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return .text(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

extension Row {
    public func date(_ column: String) throws -> Date {
        Date(timeIntervalSince1970: Double(try int64(column)) / 1000)
    }

    public func optionalDate(_ column: String) throws -> Date? {
        try isNull(column) ? nil : date(column)
    }

    public func stringList(_ column: String) throws -> [String] {
        let text = try string(column)
        guard case .array(let items) = try JSON.decode(text, limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 4)) else {
            throw StoreError.typeMismatch(column: column, expected: "JSON array", actual: "text")
        }
        return items.compactMap(\.stringValue)
    }

    public func stringMap(_ column: String) throws -> [String: String] {
        let text = try string(column)
        guard case .object(let object) = try JSON.decode(text, limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 4)) else {
            throw StoreError.typeMismatch(column: column, expected: "JSON object", actual: "text")
        }
        var map: [String: String] = [:]
        for (key, value) in object { if let string = value.stringValue { map[key] = string } }
        return map
    }

    public func document<T: Decodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(T.self, from: Data(try string(column).utf8))
    }

    /// A column holding a raw value of `T`, with a typed error for an unknown value.
    public func enumeration<T: RawRepresentable>(_ column: String, as type: T.Type = T.self) throws -> T where T.RawValue == String {
        let raw = try string(column)
        guard let value = T(rawValue: raw) else { throw StoreError.typeMismatch(column: column, expected: "\(T.self)", actual: "text") }
        return value
    }
}
