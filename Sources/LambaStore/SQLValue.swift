/// A value bound to a statement parameter or read from a column.
///
/// `bool` is stored as 0/1 on SQLite and as `boolean` on PostgreSQL; `Row.bool` reads either.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)
}

extension SQLValue: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension SQLValue {
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }

    /// The type name used in decoding errors; never the value itself, which may be a secret.
    var typeName: String {
        switch self {
        case .null: "null"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        case .bool: "bool"
        }
    }
}

/// SQL text, written as a literal so that values can only arrive through bound parameters.
///
/// Parameters are numbered `$1, $2, …` on both databases. There is deliberately no string
/// interpolation: a value must be passed as a `SQLValue` parameter.
public struct SQL: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let text: String

    public init(stringLiteral value: StaticString) {
        self.text = value.description
    }

    /// SQL assembled by trusted code from constant pieces (migrations, dialect switches); never
    /// from user input.
    public init(trusted text: String) {
        self.text = text
    }

    public var description: String { text }
}
