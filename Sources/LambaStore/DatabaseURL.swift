internal import Foundation

/// Where the store lives, from `LAMBA_DATABASE_URL`: `sqlite:///absolute/path`, `sqlite:relative/path`,
/// a bare file path, or `postgres://…` / `postgresql://…` (any libpq connection URI).
public enum DatabaseURL: Sendable, Hashable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(uri: String)

    public static let environmentVariable = "LAMBA_DATABASE_URL"
    public static let defaultSQLitePath = "./data/lamba.sqlite"

    public init(parsing text: String) throws(StoreError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            self = .postgres(uri: trimmed)
        } else if trimmed.hasPrefix("sqlite:") {
            var path = trimmed.dropFirst("sqlite:".count)
            if path.hasPrefix("//") { path = path.dropFirst(2) }
            guard !path.isEmpty else { throw .invalidURL("sqlite URL has no file path") }
            self = .sqlite(path: String(path))
        } else if !trimmed.isEmpty, !trimmed.contains("://") {
            self = .sqlite(path: trimmed)
        } else {
            throw .invalidURL("expected sqlite:///path or postgres://…")
        }
    }

    /// `LAMBA_DATABASE_URL`, or the embedded default when it is unset or empty.
    public static func fromEnvironment(_ environment: [String: String]? = nil) throws(StoreError) -> DatabaseURL {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let value = environment[environmentVariable], !value.isEmpty else { return .sqlite(path: defaultSQLitePath) }
        return try DatabaseURL(parsing: value)
    }

    /// The directory a SQLite file would be created in, when it does not exist (nil for PostgreSQL).
    /// A database the operator names must sit in an existing directory: a mistyped path would
    /// otherwise start a new, empty database of its own (docs/startup.md#database).
    public var missingDirectory: String? {
        guard case .sqlite(let path) = self else { return nil }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue ? nil : directory
    }

    /// Safe to print: a PostgreSQL password is replaced by `***`.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:" + (path.hasPrefix("/") ? "//" : "") + path
        case .postgres(let uri):
            guard var components = URLComponents(string: uri) else { return "postgres://(unparseable URL)" }
            if components.password != nil { components.password = "***" }
            var query = components.queryItems
            query = query?.map { $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0 }
            components.queryItems = query
            return components.string ?? "postgres://(unparseable URL)"
        }
    }
}
