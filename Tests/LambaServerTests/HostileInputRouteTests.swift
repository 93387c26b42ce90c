import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaPostgres
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Logging
import Testing

/// Every route of the router, whatever it is sent, answers without a server error, and every
/// refusal is spec-shaped: the RFC 6749 §5.2 JSON body (`error`, `error_description`) with
/// `WWW-Authenticate` on 401 (RFC 9110 §15.5.2) and `Allow` on 405, or for the hosted pages an
/// HTML page that says what went wrong. The routes come from the router itself, so a route added
/// later is walked too.
@Suite("Hostile input on every route", .serialized)
struct HostileInputRouteTests {
    /// Malformed query strings: invalid UTF-8, NUL, broken and truncated percent-encoding, an
    /// overlong UTF-8 encoding and a lone surrogate.
    static let queries = ["x=%FF", "x=a%00b", "x=%zz", "%=1&%", "x=%E0%80%AF", "x=%ED%A0%80", "state=%F0%9F%98"]

    /// Form bodies with the same faults, plus raw bytes that are not UTF-8 and a raw NUL.
    static let forms: [[UInt8]] = [
        Array("grant_type=%FF".utf8), Array("a=%00&b=%zz".utf8), Array("%".utf8), [0x61, 0x3D, 0xFF, 0xFE], [0x61, 0x3D, 0x00, 0x62],
    ]

    /// JSON bodies: raw invalid UTF-8 and NUL bytes, an escaped NUL (valid JSON), a lone surrogate
    /// escape, a truncated document and a non-object.
    static let jsons: [[UInt8]] = [
        [0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D],  // {"name":"\xFF"}
        [0x7B, 0x22, 0x6E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0x00, 0x22, 0x7D],  // {"name":"\0"}
        Array(#"{"name":"a\u0000b","email":"\u0000@x.example","slug":"a\u0000b","url":"https://x.example/\u0000"}"#.utf8),
        Array(#"{"name":"\uD800","token":"\uDFFF"}"#.utf8),
        Array(#"{"name":"#.utf8), Array("[1,2]".utf8),
    ]

    /// Ids that are not ids: broken percent-encoding and NUL in the path, and an oversized one.
    static let garbageIDs = ["zz%FF%00", String(repeating: "a", count: 300)]

    @Test("every route, real and garbage path parameters: hostile query, form and JSON input never answer 5xx, and every 4xx is spec-shaped", arguments: Backend.underTest)
    func test_everyRoute_hostileInput_neverServerError_refusalsSpecShaped(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let ids = try await Self.seed(dependencies)
            let routes = LambaApplication.makeRouter(dependencies: dependencies, routes: FeatureRoutes.all(dependencies)).routes
            let key = ids["api_key_secret"]!
            // Destructive operations last: when one ignores the hostile part and succeeds, what it ends
            // (the Project, the key) would turn every later request into a plain 404 or 401.
            let ordered = routes.sorted { Self.destructiveness($0.method, $0.path.description) < Self.destructiveness($1.method, $1.path.description) }
            #expect(ordered.count > 80)
            var requests = 0
            for route in ordered {
                let template = route.path.description
                for filling in [nil] + Self.garbageIDs.map(Optional.some) {
                    let path = try Self.fill(template, filling: filling, ids: ids)
                    var cases = Self.queries.map { Sent(uri: path + "?" + $0, headers: bearer(key, json: false), body: nil) }
                    if route.method != .get {
                        let form: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/x-www-form-urlencoded"]
                        cases += Self.forms.map { Sent(uri: path, headers: form, body: $0) }
                        cases += Self.jsons.map { Sent(uri: path, headers: bearer(key), body: $0) }
                    }
                    for sent in cases {
                        let response = try await client.execute(uri: sent.uri, method: route.method, headers: sent.headers,
                                                                body: sent.body.map { ByteBuffer(bytes: $0) })
                        requests += 1
                        Self.expectSpecShaped(response, route: "\(route.method) \(sent.uri)", hosted: template.hasPrefix("/p/") || (template.hasPrefix("/console") && !template.hasPrefix("/console/v1")),
                                              sentForm: sent.headers[.contentType] == "application/x-www-form-urlencoded")
                    }
                }
            }
            #expect(requests > 2000)
        }
    }

    @Test("issuer resolution while PostgreSQL is stopped: 503 temporarily_unavailable with Retry-After, for known and unknown issuers alike, then 200 once it is back",
          .enabled(if: PostgresCluster.binDir != nil || PostgresCluster.isRequired))
    func test_issuerResolution_postgresStopped_temporarilyUnavailable() async throws {
        let cluster = try PostgresCluster()
        defer { cluster.destroy() }
        let uri = try cluster.createDatabase("hostile")
        let store = try await PostgresStore(uri: uri, poolSize: 2)
        try await store.migrate()
        // One kept-alive test client connects before the test's own setup runs; on a loaded machine that
        // setup can outlast the production header and idle timeouts (ConnectionLimitTests tests those).
        let configuration = try ServerConfiguration(port: 0, databaseURL: .postgres(uri: uri), maxRequestBodySize: 64 * 1024,
                                                    headerReadTimeout: .seconds(600), idleTimeout: .seconds(600))
        let dependencies = ServerDependencies(configuration: configuration, store: store, masterKey: try MasterKey(bytes: try SecureRandom.bytes(32)))
        _ = try await ConsoleFixture.make(dependencies)
        var logger = Logger(label: "lamba-test")
        logger.logLevel = .critical
        let app = LambaApplication.build(dependencies: dependencies, routes: FeatureRoutes.all(dependencies), logger: logger)
        try await app.test(.live) { client in
            let before = try await client.execute(uri: "/p/nope/sandbox/jwks", method: .get)
            #expect(before.status == .notFound)
            #expect(before.json == ["error": "not_found", "error_description": "no such issuer"])

            try cluster.stop()
            // a-portal was never resolved, so no cached context can answer for the store.
            for uri in ["/p/a-portal/sandbox/.well-known/openid-configuration", "/p/nope/sandbox/jwks", "/p/a-portal/production/userinfo?x=1"] {
                let down = try await client.execute(uri: uri, method: .get)
                #expect(down.status == .serviceUnavailable, "\(uri)")
                #expect(down.headers[.retryAfter] == "5", "\(uri)")
                #expect(down.json == ["error": "temporarily_unavailable", "error_description": "the service is temporarily unavailable; retry later"], "\(uri)")
            }
            // The console says the same about its own store (RFC 9110 §15.6.4), never a 500 or a 401.
            let console = try await client.execute(uri: "/console/v1/workspace", method: .get, headers: bearer("lmb_sk_unknown", json: false))
            #expect(console.status == .serviceUnavailable)
            #expect(console.headers[.retryAfter] == "5")
            #expect(console.json?["error"] == "temporarily_unavailable")

            try cluster.start()
            let back = try await client.execute(uri: "/p/a-portal/sandbox/.well-known/openid-configuration", method: .get)
            #expect(back.status == .ok)
            let unknown = try await client.execute(uri: "/p/nope/sandbox/jwks", method: .get)
            #expect(unknown.status == .notFound)
        }
        await store.close()
    }

    /// SQLite has no server to stop, and removing or chmod-ing the file changes nothing for the
    /// descriptors already open; a closed store is what an unusable SQLite database looks like to a
    /// request (every call throws `connectionLost`).
    @Test("issuer resolution on a closed store: 503 temporarily_unavailable with Retry-After, never 404", arguments: Backend.underTest)
    func test_issuerResolution_closedStore_temporarilyUnavailable(backend: Backend) async throws {
        try await withServer(backend, closeStoreFirst: true) { client, _ in
            for uri in ["/p/shop/sandbox/.well-known/openid-configuration", "/p/nope/production/jwks"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .serviceUnavailable, "\(uri)")
                #expect(response.headers[.retryAfter] == "5", "\(uri)")
                #expect(response.json == ["error": "temporarily_unavailable", "error_description": "the service is temporarily unavailable; retry later"],
                        "\(uri)")
            }
        }
    }

    @Test("a malformed query on userinfo is a 400 invalid_request, not a 500", arguments: Backend.underTest)
    func test_userinfo_brokenPercentEncoding_invalidRequest(backend: Backend) async throws {
        try await withServer(backend) { client, dependencies in
            _ = try await ConsoleFixture.make(dependencies)
            let response = try await client.execute(uri: "/p/a-portal/sandbox/userinfo?x=%FF", method: .get)
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_request")
            #expect(response.json?["error_description"]?.stringValue?.isEmpty == false)
        }
    }

    // MARK: Helpers

    struct Sent {
        let uri: String
        let headers: HTTPFields
        let body: [UInt8]?
    }

    static func expectSpecShaped(_ response: TestResponse, route: String, hosted: Bool, sentForm: Bool,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status.code < 500, "\(route) answered \(response.status.code): \(response.text.prefix(200))", sourceLocation: sourceLocation)
        guard response.status.kind == .clientError else { return }
        let contentType = response.headers[.contentType] ?? ""
        if response.status == .unauthorized {
            #expect(response.headers[.wwwAuthenticate] != nil, "\(route): 401 without WWW-Authenticate", sourceLocation: sourceLocation)
            // RFC 6750 §3.1: a request without any token gets the bare challenge and no body.
            if response.body.readableBytes == 0 { return }
        }
        if response.status == .methodNotAllowed {
            #expect(response.headers[.allow] != nil, "\(route): 405 without Allow", sourceLocation: sourceLocation)
        }
        if contentType.hasPrefix("text/html") {
            // A hosted page refuses a person with a page: 400 for malformed input, 415 when what was
            // posted is not a form (RFC 9110 §15.5.16), 403 when the page's flow denies access.
            #expect(hosted, "\(route): an HTML refusal outside the hosted pages", sourceLocation: sourceLocation)
            #expect([400, 403, 415].contains(response.status.code), "\(route): HTML refusal \(response.status.code)", sourceLocation: sourceLocation)
            #expect(response.status != .unsupportedMediaType || !sentForm, "\(route): a form refused as not a form", sourceLocation: sourceLocation)
            #expect(response.text.contains("class=\"error\""), "\(route): HTML refusal without its error", sourceLocation: sourceLocation)
            return
        }
        #expect(contentType.hasPrefix("application/json"), "\(route): \(response.status.code) as \(contentType)", sourceLocation: sourceLocation)
        let body = response.json
        #expect(body?["error"]?.stringValue?.isEmpty == false, "\(route): no error code in \(response.text.prefix(200))", sourceLocation: sourceLocation)
        #expect(body?["error_description"]?.stringValue != nil, "\(route): no error_description in \(response.text.prefix(200))",
                sourceLocation: sourceLocation)
    }

    /// The path with each `{name}` replaced by the seeded entity's id (nil filling) or by garbage.
    static func fill(_ template: String, filling: String?, ids: [String: String]) throws -> String {
        var parts: [String] = []
        for component in template.split(separator: "/", omittingEmptySubsequences: false) {
            guard component.hasPrefix("{"), component.hasSuffix("}") else {
                parts.append(String(component))
                continue
            }
            let name = String(component.dropFirst().dropLast())
            if let filling {
                parts.append(filling)
            } else {
                parts.append(try #require(ids[name], "no seeded id for path parameter \(name) of \(template)"))
            }
        }
        return parts.joined(separator: "/")
    }

    static func destructiveness(_ method: HTTPRequest.Method, _ path: String) -> Int {
        if path.hasSuffix("/deactivate") || path.hasSuffix("/force-logout") { return 3 }
        if method == .delete { return path.contains("api-keys") ? 2 : 1 }
        return 0
    }

    /// One of everything a path can name, in the console fixture's Workspace.
    static func seed(_ dependencies: ServerDependencies) async throws -> [String: String] {
        let fixture = try await ConsoleFixture.make(dependencies)
        var ids = fixture.ids
        let identity = SQLIdentityStore(store: dependencies.store)
        let workspaces = WorkspaceAdministration(store: identity)
        let owner = try #require(try await workspaces.authenticate(apiKey: fixture.a.apiKeySecret))
        let projectID = ids["project_id"]!
        var settings = UpstreamProviderAdministration.Settings()
        settings.name = "Example IdP"
        settings.issuer = "https://idp.a.example"
        settings.clientID = "lamba"
        settings.clientSecret = "upstream secret"
        let provider = try await UpstreamProviderAdministration(store: identity, masterKey: dependencies.masterKey)
            .createProvider(owner, projectID: projectID, environment: .sandbox, settings, checkIssuer: { _, _ in })
        let (endpoint, _) = try await WebhookAdministration(store: dependencies.store, masterKey: dependencies.masterKey)
            .createEndpoint(owner, projectID: projectID, environment: .sandbox, .init(url: "https://hooks.a.example/in"))
        let userID = ids["user_id"]!, workspaceID = fixture.a.workspace.id
        let sessionID = try await identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: workspaceID, userID: userID,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: ["pwd"], createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil)
            try tx.insert(session)
            return session.id
        }
        let passkey = Passkey(userID: userID, rpID: "localhost", credentialID: [7, 7, 7], publicKey: [0xa5], algorithm: -7, signCount: 0,
                              backupEligible: false, backedUp: false, aaguid: [UInt8](repeating: 0, count: 16), name: "Seeded", createdAt: Date())
        try await identity.write { tx in try tx.insert(passkey) }
        ids["passkey_id"] = passkey.id
        ids["slug"] = "a-portal"
        ids["provider_id"] = provider.provider.id
        ids["endpoint_id"] = endpoint.id
        // No passkey is registered: a well-formed id that names none.
        ids["passkey_id"] = "pk_absent"
        ids["session_id"] = sessionID
        ids["workspace_id"] = workspaceID
        ids["api_key_secret"] = fixture.a.apiKeySecret
        return ids
    }
}
