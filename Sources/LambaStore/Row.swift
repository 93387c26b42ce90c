/// One result row. Columns are read by name with a typed accessor; a missing column or a value of
/// another type throws `StoreError.missingColumn` / `.typeMismatch` instead of trapping.
public struct Row: Sendable, Hashable {
    public let columns: [String]
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        precondition(columns.count == values.count, "a row has one value per column")
        self.columns = columns
        self.values = values
    }

    public subscript(column: String) -> SQLValue? {
        columns.firstIndex(of: column).map { values[$0] }
    }

    public func value(_ column: String) throws(StoreError) -> SQLValue {
        guard let value = self[column] else { throw .missingColumn(column) }
        return value
    }

    public func isNull(_ column: String) throws(StoreError) -> Bool {
        try value(column) == .null
    }

    public func int64(_ column: String) throws(StoreError) -> Int64 {
        switch try value(column) {
        case .integer(let v): return v
        case let other: throw .typeMismatch(column: column, expected: "integer", actual: other.typeName)
        }
    }

    public func int(_ column: String) throws(StoreError) -> Int {
        let v = try int64(column)
        guard let i = Int(exactly: v) else { throw .typeMismatch(column: column, expected: "Int", actual: "integer") }
        return i
    }

    public func double(_ column: String) throws(StoreError) -> Double {
        switch try value(column) {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        case let other: throw .typeMismatch(column: column, expected: "real", actual: other.typeName)
        }
    }

    public func string(_ column: String) throws(StoreError) -> String {
        switch try value(column) {
        case .text(let v): return v
        case let other: throw .typeMismatch(column: column, expected: "text", actual: other.typeName)
        }
    }

    public func bytes(_ column: String) throws(StoreError) -> [UInt8] {
        switch try value(column) {
        case .blob(let v): return v
        case let other: throw .typeMismatch(column: column, expected: "blob", actual: other.typeName)
        }
    }

    /// SQLite has no boolean type: 0 and 1 read as false and true there.
    public func bool(_ column: String) throws(StoreError) -> Bool {
        switch try value(column) {
        case .bool(let v): return v
        case .integer(0): return false
        case .integer(1): return true
        case let other: throw .typeMismatch(column: column, expected: "bool", actual: other.typeName)
        }
    }

    public func optionalString(_ column: String) throws(StoreError) -> String? {
        try isNull(column) ? nil : string(column)
    }

    public func optionalInt64(_ column: String) throws(StoreError) -> Int64? {
        try isNull(column) ? nil : int64(column)
    }

    /// Decodes a `Decodable` type whose coding keys are column names.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: RowDecoder(row: self))
    }
}
