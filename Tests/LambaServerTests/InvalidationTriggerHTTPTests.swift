import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaPasswords
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// Invalidation triggers (docs/sessions-and-scopes.md#invalidation-triggers) end to end: a console call
/// with an API key, over a real server on 127.0.0.1, makes a live access token inactive at introspection
/// and its refresh token unusable at once.
@Suite("invalidation triggers over HTTP", .serialized)
struct InvalidationTriggerHTTPTests {
    struct Setup: Sendable {
        let apiKey: String
        let projectID: String
        let memberID: String
        let client: OAuthClient
        let secret: String
        static let email = "rider@example.com"
        static let password = "rider password 1"
        static let redirect = "http://127.0.0.1:7788/cb"
    }

    static func setUp(_ dependencies: ServerDependencies) async throws -> Setup {
        let identity = SQLIdentityStore(store: dependencies.store)
        let boot = try await WorkspaceAdministration(store: identity).bootstrap(
            email: "owner@example.com", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        guard let owner = try await WorkspaceAdministration(store: identity).authenticate(apiKey: boot.apiKeySecret) else {
            throw TestSetupFailure()
        }
        let projects = ProjectAdministration(store: identity)
        let project = try await projects.createProject(owner, slug: "rides", name: "Rides", visibility: .private)
        var registration = ProjectAdministration.ClientRegistration(name: "Rides", type: .confidential, redirectURIs: [Setup.redirect])
        registration.firstParty = true
        let (client, secret) = try await projects.createClient(owner, projectID: project.id, environment: .sandbox, registration)
        let user = LambaUser(email: Setup.email, emailVerified: true, name: "Rider", passwordHash: try PasswordHasher.hash(Setup.password))
        try await identity.write { tx in try tx.insert(user) }
        let member = try await MemberLifecycle(store: identity).admitExistingUser(owner, projectID: project.id, email: user.email, roles: ["member"])
        return Setup(apiKey: boot.apiKeySecret, projectID: project.id, memberID: member.id, client: client, secret: secret!)
    }

    /// authorize → login form → code → token, as a browser and the client's back end do it.
    static func signIn(_ client: any TestClientProtocol, _ dependencies: ServerDependencies, _ setup: Setup) async throws -> (access: String, refresh: String) {
        let issuer = dependencies.configuration.publicBaseURL + "/p/rides/sandbox"
        var browser = Browser(base: dependencies.configuration.publicBaseURL)
        let query = OAuthParameters.encode([
            ("response_type", "code"), ("client_id", setup.client.id), ("redirect_uri", Setup.redirect), ("scope", "openid email offline_access"),
            ("state", "s1"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
        ])
        var response = try await browser.get(client, "/p/rides/sandbox/authorize?" + query)
        response = try await browser.get(client, try #require(response.headers[.location]))
        let html = response.text
        response = try await browser.post(client, issuer + "/login", [
            ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
            ("email", Setup.email), ("password", Setup.password),
        ])
        response = try await browser.get(client, try #require(response.headers[.location]))
        let location = try #require(response.headers[.location])
        #expect(location.hasPrefix(Setup.redirect + "?"))
        let callback = try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
        let code = try #require(try callback.single("code"))
        response = try await client.execute(uri: "/p/rides/sandbox/token", method: .post, headers: backChannel(setup), body: ByteBuffer(string: OAuthParameters.encode([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Setup.redirect), ("code_verifier", OpenIDProviderHTTPTests.verifier),
        ])))
        #expect(response.status == .ok)
        let tokens = try #require(response.json)
        return (try #require(tokens["access_token"]?.stringValue), try #require(tokens["refresh_token"]?.stringValue))
    }

    static func backChannel(_ setup: Setup) -> HTTPFields {
        [.contentType: "application/x-www-form-urlencoded",
         .authorization: "Basic " + Data("\(setup.client.id):\(setup.secret)".utf8).base64EncodedString()]
    }

    static func introspect(_ client: any TestClientProtocol, _ setup: Setup, _ token: String) async throws -> JSONObject {
        let response = try await client.execute(uri: "/p/rides/sandbox/introspect", method: .post, headers: backChannel(setup),
                                                body: ByteBuffer(string: OAuthParameters.encode([("token", token)])))
        #expect(response.status == .ok)
        return try #require(response.json)
    }

    static func refresh(_ client: any TestClientProtocol, _ setup: Setup, _ token: String) async throws -> TestResponse {
        try await client.execute(uri: "/p/rides/sandbox/token", method: .post, headers: backChannel(setup),
                                 body: ByteBuffer(string: OAuthParameters.encode([("grant_type", "refresh_token"), ("refresh_token", token)])))
    }

    @Test("trigger over HTTP: a console role change ends the member's live token at introspection and its refresh token at once", arguments: Backend.underTest)
    func test_consoleRoleChange_endsLiveTokens(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await Self.setUp(dependencies)
            let (access, refresh) = try await Self.signIn(client, dependencies, setup)
            #expect(try await Self.introspect(client, setup, access)["active"] == .bool(true))
            #expect(try await Self.introspect(client, setup, refresh)["active"] == .bool(true))

            let change = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/members/\(setup.memberID)", method: .patch,
                                                  headers: bearer(setup.apiKey), body: body(["roles": ["viewer"]]))
            #expect(change.status == .ok)
            #expect(change.json?["roles"] == ["viewer"])

            #expect(try await Self.introspect(client, setup, access) == ["active": false])
            #expect(try await Self.introspect(client, setup, refresh) == ["active": false])
            let userinfo = try await client.execute(uri: "/p/rides/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
            #expect(userinfo.status == .unauthorized)
            let refreshed = try await Self.refresh(client, setup, refresh)
            #expect(refreshed.status == .badRequest && refreshed.json?["error"] == "invalid_grant")
        }
    }

    @Test("trigger over HTTP: revoking a Project scope by its sid and a forced logout end live tokens; repeats and foreign ids write nothing", arguments: Backend.underTest)
    func test_consoleScopeRevocationAndForcedLogout_endLiveTokens(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await Self.setUp(dependencies)
            var (access, refresh) = try await Self.signIn(client, dependencies, setup)
            let sid = try #require(try await Self.introspect(client, setup, access)["sid"]?.stringValue)

            let path = "/console/v1/projects/\(setup.projectID)/runtime-scopes/\(sid)"
            let revoke = try await client.execute(uri: path, method: .delete, headers: bearer(setup.apiKey, json: false))
            #expect(revoke.status == .noContent)
            #expect(try await Self.introspect(client, setup, access) == ["active": false])
            var refreshed = try await Self.refresh(client, setup, refresh)
            #expect(refreshed.status == .badRequest && refreshed.json?["error"] == "invalid_grant")
            let again = try await client.execute(uri: path, method: .delete, headers: bearer(setup.apiKey, json: false))
            #expect(again.status == .conflict)
            let malformed = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/runtime-scopes/rs_%27--", method: .delete,
                                                     headers: bearer(setup.apiKey, json: false))
            #expect(malformed.status == .notFound)

            // Signing in again is the explicit re-entry; a forced logout then ends that too.
            (access, refresh) = try await Self.signIn(client, dependencies, setup)
            #expect(try await Self.introspect(client, setup, access)["active"] == .bool(true))
            let logout = try await client.execute(uri: "/console/v1/workspace/force-logout", method: .post, headers: bearer(setup.apiKey, json: false))
            #expect(logout.status == .ok)
            #expect(logout.json?["sessions_revoked"] == .integer(2) && logout.json?["runtime_scopes_revoked"] == .integer(1))
            #expect(try await Self.introspect(client, setup, access) == ["active": false])
            refreshed = try await Self.refresh(client, setup, refresh)
            #expect(refreshed.status == .badRequest && refreshed.json?["error"] == "invalid_grant")
        }
    }
}

struct TestSetupFailure: Error {}
