import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LambaJOSE

/// Where the console API is and which key to use: `--url` / `LAMBA_URL`, `--api-key` / `LAMBA_API_KEY`.
struct ConsoleOptions: ParsableArguments {
    @Option(help: "Base URL of a running Lamba server (default: $LAMBA_URL, else http://127.0.0.1:8080).") var url: String?
    @Option(help: "Workspace API key (default: $LAMBA_API_KEY).") var apiKey: String?

    func client() throws -> ConsoleClient {
        let environment = ProcessInfo.processInfo.environment
        guard let key = apiKey ?? environment["LAMBA_API_KEY"], !key.isEmpty else {
            throw ValidationError("an API key is required: --api-key or LAMBA_API_KEY")
        }
        let base = url ?? environment["LAMBA_URL"] ?? "http://127.0.0.1:8080"
        guard let baseURL = URL(string: base), baseURL.scheme == "http" || baseURL.scheme == "https" else {
            throw ValidationError("--url must be an http or https URL")
        }
        return ConsoleClient(baseURL: baseURL, apiKey: key)
    }
}

/// A console API call failed; the server's machine-readable error is shown as is.
struct ConsoleCallError: Error, CustomStringConvertible {
    let description: String
}

/// A small client of `/console/v1` over URLSession.
struct ConsoleClient {
    let baseURL: URL
    let apiKey: String

    @discardableResult
    func call(_ method: String, _ path: String, _ body: JSONObject? = nil) async throws -> JSONValue? {
        guard let url = URL(string: "/console/v1" + path, relativeTo: baseURL) else { throw ConsoleCallError(description: "bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
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

    /// Prints a response: JSON as is, or one line per listed item with the given members.
    static func show(_ value: JSONValue?, json: Bool, columns: [String]) {
        guard let value else { return }
        if json {
            print(JSON.encodeString(value))
            return
        }
        let items = value.objectValue?["data"]?.arrayValue ?? [value]
        for item in items {
            let object = item.objectValue ?? [:]
            print(columns.map { column in text(object[column]) }.joined(separator: "\t"))
        }
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: s
        case .integer(let i)?: String(i)
        case .bool(let b)?: String(b)
        case .array(let items)?: items.map { text($0) }.joined(separator: ",")
        case .object(let object)?: object["email"]?.stringValue ?? JSON.encodeString(.object(object))
        default: "-"
        }
    }
}
