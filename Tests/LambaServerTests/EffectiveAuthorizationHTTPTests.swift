import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// `GET|POST {issuer}/me/authorization` (docs/access-model.md#effective-authorization): the caller's
/// own membership, roles and permissions, resolved now from the records, over a real server.
@Suite("effective authorization over HTTP", .serialized)
struct EffectiveAuthorizationHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    static func effective(_ client: any TestClientProtocol, _ token: String, path: String = "/p/rides/sandbox/me/authorization",
                          extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer " + token]
        headers.append(contentsOf: extra)
        return try await client.execute(uri: path, method: .get, headers: headers)
    }

    @Test("effective authorization is read from the records now: a catalog change shows at once, a role change ends the scope", arguments: Backend.underTest)
    func effectiveAuthorization_resolvedNowNotFromClaims(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)

            let first = try await Self.effective(client, access)
            #expect(first.status == .ok, "\(first.text)")
            #expect(first.headers[.cacheControl] == "no-store")
            let answer = try #require(first.json)
            #expect(answer["active"] == true && answer["reason"] == "active" && answer["project_id"]?.stringValue == setup.projectID)
            #expect(answer["environment"] == "sandbox" && answer["sid"]?.stringValue?.isEmpty == false)
            #expect(answer["membership"]?.objectValue?["id"]?.stringValue == setup.memberID)
            #expect(answer["membership"]?.objectValue?["joined_via"] == "operator" && answer["membership"]?.objectValue?["status"] == "active")
            #expect(answer["roles"] == [.object(["name": "member", "permissions": ["project:read", "project:write"]])])
            #expect(answer["permissions"] == ["project:read", "project:write"])

            // The catalog changes under a live token: the next answer holds the new permissions.
            let edit = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/roles/member", method: .patch,
                                                headers: bearer(setup.apiKey), body: body(["permissions": ["project:read", "reports:export"]]))
            #expect(edit.status == .ok, "\(edit.text)")
            let second = try #require(try await Self.effective(client, access).json)
            #expect(second["active"] == true && second["permissions"] == ["project:read", "reports:export"])

            // A role change is an invalidation trigger: the scope ends and the answer says so.
            let change = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/members/\(setup.memberID)", method: .patch,
                                                  headers: bearer(setup.apiKey), body: body(["roles": ["viewer"]]))
            #expect(change.status == .ok)
            let ended = try await Self.effective(client, access)
            #expect(ended.status == .ok)
            #expect(ended.json?["active"] == false && ended.json?["reason"] == "scope_revoked")
            #expect(ended.json?["membership"] == .null && ended.json?["roles"] == [] && ended.json?["permissions"] == [])
        }
    }

    @Test("the token is the only context: console headers, cookies and API keys change nothing; bad tokens are RFC 6750 refusals", arguments: Backend.underTest)
    func effectiveAuthorization_tokenIsTheOnlyContext(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let plain = try #require(try await Self.effective(client, access).json)

            var console: HTTPFields = [:]
            console[HTTPField.Name("Lamba-Workspace")!] = EntityID.generate(.workspace)
            console[HTTPField.Name("X-Lamba-CSRF")!] = "anything"
            console[.cookie] = "lamba_console=lmb_con_forged"
            let withConsole = try #require(try await Self.effective(client, access, extra: console).json)
            var a = plain, b = withConsole
            a["resolved_at"] = nil
            b["resolved_at"] = nil
            #expect(a == b)

            // The same answer by POST with the token in the form (RFC 6750 §2.2).
            let posted = try await client.execute(uri: "/p/rides/sandbox/me/authorization", method: .post,
                                                  headers: [.contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: OAuthParameters.encode([("access_token", access)])))
            #expect(posted.status == .ok && posted.json?["membership"]?.objectValue?["id"]?.stringValue == setup.memberID)

            // A console API key is not an access token; nor is a forged or foreign-issuer one.
            for token in [setup.apiKey, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", String(repeating: "a", count: 9000)] {
                let refused = try await Self.effective(client, token)
                #expect(refused.status == .unauthorized, "\(token.prefix(12))")
                #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
            let foreign = try await Self.effective(client, access, path: "/p/rides/production/me/authorization")
            #expect(foreign.status == .unauthorized)
            let none = try await client.execute(uri: "/p/rides/sandbox/me/authorization", method: .get)
            #expect(none.status == .unauthorized && none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            // The token sent two ways is a malformed request (RFC 6750 §2).
            let twice = try await client.execute(uri: "/p/rides/sandbox/me/authorization", method: .post,
                                                 headers: [.authorization: "Bearer " + access, .contentType: "application/x-www-form-urlencoded"],
                                                 body: ByteBuffer(string: OAuthParameters.encode([("access_token", access)])))
            #expect(twice.status == .badRequest && twice.json?["error"] == "invalid_request")
            // A client's own token (client_credentials) stands for no user.
            let worker = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/environments/sandbox/clients", method: .post,
                                                  headers: bearer(setup.apiKey), body: body([
                "client_name": "Worker", "client_type": "confidential", "grant_types": ["client_credentials"],
            ]))
            let workerID = try #require(worker.json?["client_id"]?.stringValue, "\(worker.text)")
            let workerSecret = try #require(worker.json?["client_secret"]?.stringValue)
            let machine = try await client.execute(uri: "/p/rides/sandbox/token", method: .post, headers: [
                .contentType: "application/x-www-form-urlencoded",
                .authorization: "Basic " + Data("\(workerID):\(workerSecret)".utf8).base64EncodedString(),
            ], body: ByteBuffer(string: OAuthParameters.encode([("grant_type", "client_credentials")])))
            let machineToken = try #require(machine.json?["access_token"]?.stringValue, "\(machine.text)")
            let refused = try await Self.effective(client, machineToken)
            #expect(refused.status == .unauthorized && refused.json?["error"] == "invalid_token")
        }
    }

    /// A public Project `open` with registration on, a public first-party SPA client, and a person
    /// who registers through its hosted sign-up page: their access token.
    static func registerThroughPublicClient(_ client: any TestClientProtocol, _ dependencies: ServerDependencies, email: String) async throws -> String {
        let identity = SQLIdentityStore(store: dependencies.store)
        let boot = try await WorkspaceAdministration(store: identity).bootstrap(
            email: "owner@example.com", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        let owner = try #require(try await WorkspaceAdministration(store: identity).authenticate(apiKey: boot.apiKeySecret))
        let projects = ProjectAdministration(store: identity)
        let project = try await projects.createProject(owner, slug: "open", name: "Open", visibility: .public)
        let settings = try await client.execute(uri: "/console/v1/projects/\(project.id)/environments/sandbox", method: .patch,
                                                headers: bearer(boot.apiKeySecret), body: body(["allow_register": true]))
        #expect(settings.status == .ok, "\(settings.text)")
        var registration = ProjectAdministration.ClientRegistration(name: "Open SPA", type: .public, redirectURIs: [Setup.redirect])
        registration.firstParty = true
        let (spa, _) = try await projects.createClient(owner, projectID: project.id, environment: .sandbox, registration)

        let issuer = dependencies.configuration.publicBaseURL + "/p/open/sandbox"
        var browser = Browser(base: dependencies.configuration.publicBaseURL)
        let query = OAuthParameters.encode([
            ("response_type", "code"), ("client_id", spa.id), ("redirect_uri", Setup.redirect), ("scope", "openid email"),
            ("state", "s1"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
        ])
        var response = try await browser.get(client, "/p/open/sandbox/authorize?" + query)
        let login = try #require(response.headers[.location])
        response = try await browser.get(client, login.replacingOccurrences(of: "/login?", with: "/signup?"))
        #expect(response.status == .ok, "\(response.text)")
        let html = response.text
        response = try await browser.post(client, issuer + "/signup", [
            ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
            ("name", "New Person"), ("email", email), ("password", "a long new password"),
        ])
        while let next = response.headers[.location], !next.hasPrefix(Setup.redirect) {
            response = try await browser.get(client, next)
        }
        let location = try #require(response.headers[.location])
        let code = try #require(try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1])).single("code"))
        let tokens = try await client.execute(uri: "/p/open/sandbox/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                              body: ByteBuffer(string: OAuthParameters.encode([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Setup.redirect), ("client_id", spa.id),
            ("code_verifier", OpenIDProviderHTTPTests.verifier),
        ])))
        let access = try #require(tokens.json?["access_token"]?.stringValue, "\(tokens.text)")

        return access
    }

    @Test("after register through a public client's hosted sign-up, the new membership is readable at once", arguments: Backend.underTest)
    func effectiveAuthorization_afterRegisterReadableAtOnce(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let access = try await Self.registerThroughPublicClient(client, dependencies, email: "new@example.com")
            let answer = try await Self.effective(client, access, path: "/p/open/sandbox/me/authorization")
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(answer.json?["active"] == true && answer.json?["membership"]?.objectValue?["joined_via"] == "register")
            #expect(answer.json?["roles"] == [.object(["name": "viewer", "permissions": ["project:read"]])] && answer.json?["permissions"] == ["project:read"])
        }
    }
}
