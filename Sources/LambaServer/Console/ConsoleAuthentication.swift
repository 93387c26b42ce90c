import HTTPTypes
public import Hummingbird
public import LambaJOSE
public import LambaModel

/// Resolves the console caller of a request: `Authorization: Bearer <Workspace API key>`, or the
/// console session cookie of a person signed in through the console issuer
/// (docs/console-access.md#console-sessions). A bad credential is a 401 with `WWW-Authenticate:
/// Bearer` (RFC 6750 §3), the same answer whichever way it was bad.
public struct ConsoleAuthentication: Sendable {
    public let workspaces: WorkspaceAdministration
    public let people: ConsoleAccessAdministration
    /// Key of the console session's CSRF token (HMAC-SHA-256 of the session id).
    let csrfKey: [UInt8]

    public static let sessionCookie = "lamba_console"
    /// Sent with every unsafe request made with the session cookie; `GET /console/v1/session` gives it.
    public static let csrfHeader = HTTPField.Name("X-Lamba-CSRF")!
    /// Picks the Workspace a session request acts in, else the one the session selected.
    public static let workspaceHeader = HTTPField.Name("Lamba-Workspace")!

    public init(workspaces: WorkspaceAdministration, people: ConsoleAccessAdministration, masterKey: MasterKey) {
        self.workspaces = workspaces
        self.people = people
        csrfKey = Digest.hmac(.sha256, key: Array(masterKey.encoded.utf8), data: Array("lamba console csrf v1".utf8))
    }

    /// The CSRF token of a console session: what unsafe cookie-authenticated requests send in `X-Lamba-CSRF`.
    public func csrfToken(sessionID: String) -> String {
        Base64URL.encode(Digest.hmac(.sha256, key: csrfKey, data: Array(sessionID.utf8)))
    }

    /// A caller in a Workspace: an API key's, or a signed-in Team Member's in the Workspace picked.
    public func caller(of request: Request) async throws -> ConsoleCaller {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
                throw Self.unauthorized("malformed Authorization header")
            }
            guard let caller = try await workspaces.authenticate(apiKey: String(parts[1])) else {
                throw Self.unauthorized("invalid or revoked API key")
            }
            return caller
        }
        let person = try await signedIn(request)
        let requested = request.headers[Self.workspaceHeader]
        if let requested, !EntityID.isWellFormed(requested, .workspace) { throw APIError.notFound }
        return try await people.caller(person, workspaceID: requested)
    }

    /// The person behind the console session cookie; unsafe methods must carry the session's CSRF token.
    public func signedIn(_ request: Request) async throws -> ConsoleAccessAdministration.SignedIn {
        guard let token = Cookies.read(request, Self.sessionCookie) else { throw Self.unauthorized("no API key and no console session") }
        guard let person = try await people.signedIn(token: token) else { throw Self.unauthorized("the console session ended") }
        if ![.get, .head, .options].contains(request.method) {
            guard let sent = request.headers[Self.csrfHeader],
                constantTimeEquals(Array(sent.utf8), Array(csrfToken(sessionID: person.session.id).utf8))
            else {
                throw APIError(status: .forbidden, code: "forbidden", description: "send the console session's CSRF token in X-Lamba-CSRF",
                               debug: "CSRF token missing or wrong")
            }
        }
        return person
    }

    static func unauthorized(_ debug: String) -> APIError {
        APIError(status: .unauthorized, code: "invalid_token", description: "a valid Workspace API key or console session is required",
                 headers: [.wwwAuthenticate: "Bearer realm=\"lamba-console\", error=\"invalid_token\""], debug: debug)
    }
}
