import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LambaJOSE

/// Where the console API is, which key to use (`--url` / `LAMBA_URL`, `--api-key` / `LAMBA_API_KEY`)
/// and how to print the answer.
struct ConsoleOptions: ParsableArguments {
    @Option(help: "Base URL of a running Lamba server (default: $LAMBA_URL, else http://127.0.0.1:8080).") var url: String?
    @Option(help: "Workspace API key (default: $LAMBA_API_KEY).") var apiKey: String?
    @Flag(help: "Print the server's JSON as is.") var json = false

    /// `anonymous` operations (invite acceptance) are called without a key.
    func client(anonymous: Bool = false) throws -> ConsoleClient {
        let environment = ProcessInfo.processInfo.environment
        let key = apiKey ?? environment["LAMBA_API_KEY"]
        guard anonymous || !(key ?? "").isEmpty else {
            throw ValidationError("an API key is required: --api-key or LAMBA_API_KEY")
        }
        let base = url ?? environment["LAMBA_URL"] ?? "http://127.0.0.1:8080"
        guard let baseURL = URL(string: base), baseURL.scheme == "http" || baseURL.scheme == "https" else {
            throw ValidationError("--url must be an http or https URL")
        }
        return ConsoleClient(baseURL: baseURL, apiKey: anonymous ? nil : key)
    }
}

/// A console API call failed; the server's machine-readable error is shown as is.
struct ConsoleCallError: Error, CustomStringConvertible {
    let description: String
}

/// A small client of `/console/v1` over URLSession.
struct ConsoleClient {
    let baseURL: URL
    let apiKey: String?

    /// `path` is the full path, `/console/v1/…`; query members that are nil are left out.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: JSONObject? = nil, query: [(String, String?)] = []) async throws -> JSONValue? {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { throw ConsoleCallError(description: "bad URL \(baseURL)") }
        components.path = path
        let items = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        components.queryItems = items.isEmpty ? nil : items
        guard let url = components.url else { throw ConsoleCallError(description: "bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(JSON.encode(body))
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let decoded = data.isEmpty ? nil : try? JSON.decode(Array(data), limits: JSONLimits(maxBytes: 16 << 20, maxDepth: 32))
        guard (200..<300).contains(status) else {
            let error = decoded?.objectValue
            let text = [error?["error"]?.stringValue, error?["error_description"]?.stringValue, error?["field"]?.stringValue.map { "(field \($0))" }]
                .compactMap { $0 }.joined(separator: ": ")
            throw ConsoleCallError(description: "HTTP \(status)" + (text.isEmpty ? "" : " \(text)"))
        }
        return decoded
    }

    /// Prints a response: JSON as is, or a table of the listed items (or the one object) with the
    /// given members, then the next page's cursor when there is one.
    static func show(_ value: JSONValue?, json: Bool, columns: [String]) {
        guard let value else { return }
        if json {
            print(JSON.encodeString(value))
            return
        }
        let object = value.objectValue ?? [:]
        // Lists come as `data`, or as a page's items.
        let listed = ["data", "events", "endpoints", "deliveries"].lazy.compactMap { object[$0]?.arrayValue }.first
        let rows = (listed ?? [value]).map { item in columns.map { text(item.objectValue?[$0]) } }
        let header = columns.map { $0.uppercased() }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        let cursor = text(object["next_cursor"])
        if listed != nil, cursor != "-" { print("next cursor: \(cursor)") }
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: s
        case .integer(let i)?: String(i)
        case .real(let r)?: String(r)
        case .bool(let b)?: String(b)
        case .array(let items)?: items.isEmpty ? "-" : items.map { text($0) }.joined(separator: ",")
        case .object(let object)?: object["email"]?.stringValue ?? object["slug"]?.stringValue ?? JSON.encodeString(.object(object))
        default: "-"
        }
    }
}

/// One console API operation: its method and path as the server's route table spells them, and the
/// members a table shows. `lamba help-operations` lists these from the commands that declare them.
struct ConsoleOperation: Sendable {
    let method: String
    let path: String
    let columns: [String]
    /// Called without credentials (invite acceptance).
    let anonymous: Bool

    init(_ method: String, _ path: String, columns: [String] = [], anonymous: Bool = false) {
        self.method = method
        self.path = "/console/v1" + path
        self.columns = columns
        self.anonymous = anonymous
    }
}

/// A command that is one console API call: it names its operation, the path parameters, the body
/// and the query; running it calls the server and prints the answer.
protocol ConsoleCommand: AsyncParsableCommand {
    static var operation: ConsoleOperation { get }
    var console: ConsoleOptions { get }
    /// Values of the operation's `{name}` path parameters.
    var parameters: [String: String] { get }
    /// The JSON body, when the operation takes one.
    func body() throws -> JSONObject?
    var query: [(String, String?)] { get }
}

extension ConsoleCommand {
    var parameters: [String: String] { [:] }
    func body() throws -> JSONObject? { nil }
    var query: [(String, String?)] { [] }

    func run() async throws {
        try await call()
    }

    func call() async throws {
        let operation = Self.operation
        var path = operation.path
        for (name, value) in parameters {
            path = path.replacingOccurrences(of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? value)
        }
        let answer = try await console.client(anonymous: operation.anonymous).call(operation.method, path, try body(), query: query)
        if answer == nil, !console.json { print("\(operation.method) \(path): done") }
        ConsoleClient.show(answer, json: console.json, columns: operation.columns)
    }
}

/// A value a request body member may hold; a body built with `JSONObject.given` leaves out the
/// options that were not given.
protocol JSONMember { var json: JSONValue? { get } }
extension String: JSONMember { var json: JSONValue? { .string(self) } }
extension Int: JSONMember { var json: JSONValue? { .integer(Int64(self)) } }
extension Bool: JSONMember { var json: JSONValue? { .bool(self) } }
extension Array: JSONMember where Element == String {
    /// An empty repeated option was not given.
    var json: JSONValue? { isEmpty ? nil : .array(map(JSONValue.string)) }
}

extension JSONObject {
    static func given(_ members: KeyValuePairs<String, (any JSONMember)?>) -> JSONObject {
        var object = JSONObject()
        for (name, value) in members { object[name] = value?.json }
        return object
    }
}

/// `--project`: the Project an operation is under.
struct ProjectScope: ParsableArguments {
    @Option(help: "Project id.") var project: String
    var parameters: [String: String] { ["project_id": project] }
}

/// `--project` and `--environment`: the Project environment an operation is under.
struct EnvironmentScope: ParsableArguments {
    @Option(help: "Project id.") var project: String
    @Option(help: "sandbox or production.") var environment = "sandbox"
    func parameters(_ more: [String: String] = [:]) -> [String: String] {
        ["project_id": project, "environment": environment].merging(more) { $1 }
    }
}
