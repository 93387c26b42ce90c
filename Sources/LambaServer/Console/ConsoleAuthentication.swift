import HTTPTypes
public import Hummingbird
public import LambaModel

/// Resolves the console caller of a request from `Authorization: Bearer <Workspace API key>`.
/// A missing, malformed, unknown or revoked key is a 401 with `WWW-Authenticate: Bearer`
/// (RFC 6750 §3), and the same answer whichever it was.
public struct ConsoleAuthentication: Sendable {
    public let workspaces: WorkspaceAdministration

    public init(workspaces: WorkspaceAdministration) {
        self.workspaces = workspaces
    }

    public func caller(of request: Request) async throws -> ConsoleCaller {
        guard let header = request.headers[.authorization] else { throw Self.unauthorized("missing bearer token") }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw Self.unauthorized("malformed Authorization header")
        }
        guard let caller = try await workspaces.authenticate(apiKey: String(parts[1])) else {
            throw Self.unauthorized("invalid or revoked API key")
        }
        return caller
    }

    static func unauthorized(_ debug: String) -> APIError {
        APIError(status: .unauthorized, code: "invalid_token", description: "a valid Workspace API key is required",
                 headers: [.wwwAuthenticate: "Bearer realm=\"lamba-console\", error=\"invalid_token\""], debug: debug)
    }
}
