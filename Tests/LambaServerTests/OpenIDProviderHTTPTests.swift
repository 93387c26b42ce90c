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

/// A browser as far as the flow needs: a cookie jar, hidden form fields read from the HTML,
/// redirects followed by hand.
struct Browser {
    var cookies: [String: String] = [:]
    let base: String

    mutating func absorb(_ response: TestResponse) {
        for value in response.headers[values: .setCookie] {
            // `name=` (an empty value) is how a server clears a cookie: keep the empty side.
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[1].isEmpty { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
        }
    }

    var cookieHeader: HTTPFields {
        cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    func path(_ location: String) -> String {
        location.hasPrefix(base) ? String(location.dropFirst(base.count)) : location
    }

    mutating func get(_ client: any TestClientProtocol, _ uri: String, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = cookieHeader
        headers.append(contentsOf: extra)
        let response = try await client.execute(uri: path(uri), method: .get, headers: headers)
        absorb(response)
        return response
    }

    mutating func post(_ client: any TestClientProtocol, _ uri: String, _ form: [(String, String)], headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = cookieHeader
        headers[.contentType] = "application/x-www-form-urlencoded"
        headers.append(contentsOf: extra)
        let response = try await client.execute(uri: path(uri), method: .post, headers: headers,
                                                body: ByteBuffer(string: OAuthParameters.encode(form)))
        absorb(response)
        return response
    }

    static func hidden(_ html: String, _ name: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = html[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end]).replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

struct SeededProject: Sendable {
    let client: OAuthClient
    let secret: String
    let email = "buyer@example.com"
    let password = "buyer password 1"
    static let redirect = "http://127.0.0.1:7777/cb"
}

func seed(_ dependencies: ServerDependencies) async throws -> SeededProject {
    let identity = SQLOAuthStore(store: dependencies.store).identity
    let boot = try await WorkspaceAdministration(store: identity).bootstrap(
        email: "owner@example.com", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
    let caller = ConsoleCaller(actor: boot.user.id, workspaceID: boot.workspace.id, workspaceRole: .owner)
    let project = try await ProjectAdministration(store: identity).createProject(caller, slug: "shop", name: "Shop", visibility: .public)
    var registration = ProjectAdministration.ClientRegistration(name: "Shop Web", type: .confidential, redirectURIs: [SeededProject.redirect])
    registration.firstParty = false
    let (client, secret) = try await ProjectAdministration(store: identity).createClient(caller, projectID: project.id, environment: .sandbox, registration)
    let user = LambaUser(email: "buyer@example.com", emailVerified: true, name: "Bea Buyer", passwordHash: try PasswordHasher.hash("buyer password 1"))
    try await identity.write { tx in try tx.insert(user) }
    _ = try await MemberLifecycle(store: identity).admitExistingUser(caller, projectID: project.id, email: user.email, roles: ["member"])
    return SeededProject(client: client, secret: secret!)
}

@Suite("OpenID Provider over HTTP", .serialized)
struct OpenIDProviderHTTPTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    @Test("End to end over HTTP on 127.0.0.1: authorize → login form → consent → code → token → userinfo → refresh → revoke", arguments: Backend.underTest)
    func test_endToEnd_browserFlow(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let seeded = try await seed(dependencies)
            let issuer = dependencies.configuration.publicBaseURL + "/p/shop/sandbox"
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let basic = "Basic " + Data("\(seeded.client.id):\(seeded.secret)".utf8).base64EncodedString()

            let discovery = try await client.execute(uri: "/p/shop/sandbox/.well-known/openid-configuration", method: .get)
            #expect(discovery.status == .ok)
            #expect(discovery.json?["issuer"] == .string(issuer))

            let query = OAuthParameters.encode([
                ("response_type", "code"), ("client_id", seeded.client.id), ("redirect_uri", SeededProject.redirect),
                ("scope", "openid email profile offline_access"), ("state", "xyz"), ("nonce", "n0"),
                ("code_challenge", Self.challenge), ("code_challenge_method", "S256"),
            ])
            var response = try await browser.get(client, "/p/shop/sandbox/authorize?" + query)
            #expect(response.status == .seeOther)
            var location = try #require(response.headers[.location])
            #expect(location.hasPrefix(issuer + "/login?"))

            // The login page: HTML, CSRF cookie, never framed.
            response = try await browser.get(client, location)
            #expect(response.status == .ok)
            #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(response.headers[values: .setCookie].contains { $0.hasPrefix("lamba_csrf=") && $0.contains("HttpOnly") && $0.contains("SameSite=Lax") })
            var html = response.text
            let csrf = try #require(Browser.hidden(html, "csrf_token"))
            let authz = try #require(Browser.hidden(html, "authz"))

            // A forged form (no CSRF token) is refused; a wrong password is a generic error.
            response = try await browser.post(client, issuer + "/login", [("authz", authz), ("email", seeded.email), ("password", seeded.password)])
            #expect(response.status != .seeOther)
            response = try await browser.post(client, issuer + "/login", [("csrf_token", csrf), ("authz", authz), ("email", seeded.email), ("password", "nope nope nope")])
            // The form comes back with a generic message; never a 401, which would need a challenge.
            #expect(response.status == .badRequest)
            #expect(response.text.contains("email or password is wrong"))

            response = try await browser.post(client, issuer + "/login", [("csrf_token", csrf), ("authz", authz), ("email", seeded.email), ("password", seeded.password)])
            #expect(response.status == .seeOther)
            #expect(response.headers[values: .setCookie].contains { $0.hasPrefix("lamba_session_") && $0.contains("HttpOnly") && $0.contains("Path=/") })
            location = try #require(response.headers[.location])

            // Back at authorize: consent for this third-party client.
            response = try await browser.get(client, location)
            location = try #require(response.headers[.location])
            #expect(location.hasPrefix(issuer + "/consent?"))
            response = try await browser.get(client, location)
            html = response.text
            #expect(html.contains("Shop Web"))
            response = try await browser.post(client, issuer + "/consent", [
                ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                ("decision", "allow"),
            ])
            location = try #require(response.headers[.location])
            response = try await browser.get(client, location)
            location = try #require(response.headers[.location])
            #expect(location.hasPrefix(SeededProject.redirect + "?"))
            let callback = try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
            #expect(try callback.single("state") == "xyz")
            #expect(try callback.single("iss") == issuer)
            let code = try #require(try callback.single("code"))

            // Token.
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .authorization: basic]
            response = try await client.execute(uri: "/p/shop/sandbox/token", method: .post, headers: headers, body: ByteBuffer(string: OAuthParameters.encode([
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", SeededProject.redirect), ("code_verifier", Self.verifier),
            ])))
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            let tokens = try #require(response.json)
            let access = try #require(tokens["access_token"]?.stringValue)
            let refresh = try #require(tokens["refresh_token"]?.stringValue)
            #expect(tokens["id_token"]?.stringValue != nil)

            // Userinfo, GET and POST.
            response = try await client.execute(uri: "/p/shop/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
            #expect(response.status == .ok)
            #expect(response.json?["email"] == .string(seeded.email))
            response = try await client.execute(uri: "/p/shop/sandbox/userinfo", method: .post,
                                                headers: [.authorization: "Bearer " + access, .contentType: "application/x-www-form-urlencoded"])
            #expect(response.status == .ok)

            // Refresh with rotation.
            response = try await client.execute(uri: "/p/shop/sandbox/token", method: .post, headers: headers, body: ByteBuffer(string: OAuthParameters.encode([
                ("grant_type", "refresh_token"), ("refresh_token", refresh),
            ])))
            #expect(response.status == .ok)
            let refresh2 = try #require(response.json?["refresh_token"]?.stringValue)

            // Revoke, then the refresh token is dead.
            response = try await client.execute(uri: "/p/shop/sandbox/revoke", method: .post, headers: headers,
                                                body: ByteBuffer(string: OAuthParameters.encode([("token", refresh2), ("token_type_hint", "refresh_token")])))
            #expect(response.status == .ok)
            response = try await client.execute(uri: "/p/shop/sandbox/token", method: .post, headers: headers, body: ByteBuffer(string: OAuthParameters.encode([
                ("grant_type", "refresh_token"), ("refresh_token", refresh2),
            ])))
            #expect(response.status == .badRequest)
            #expect(response.json?["error"] == "invalid_grant")

            // JWKS holds the keys that signed the tokens.
            response = try await client.execute(uri: "/p/shop/sandbox/jwks", method: .get)
            let jwks = try JWKSet(json: try #require(response.json))
            _ = try JWT.verify(access, with: try JWSVerifier(allowedAlgorithms: [.es256], jwks: jwks), validation: JWTValidation(issuer: issuer, type: "at+jwt"))
            headers = [:]
        }
    }

    @Test("RFC 6749 §3.1.2.3 over HTTP: an unregistered redirect URI gets an error page, never a redirect", arguments: Backend.underTest)
    func test_unregisteredRedirectURI_errorPageOverHTTP(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let seeded = try await seed(dependencies)
            let query = OAuthParameters.encode([("response_type", "code"), ("client_id", seeded.client.id), ("redirect_uri", "https://evil.example/cb")])
            let response = try await client.execute(uri: "/p/shop/sandbox/authorize?" + query, method: .get)
            #expect(response.status == .badRequest)
            #expect(response.headers[.location] == nil)
            #expect(response.headers[.contentType]?.hasPrefix("text/html") == true)
        }
    }

    @Test("RFC 6749 §5.2 over HTTP: error shapes; malformed input is never a 500; unknown issuers are 404", arguments: Backend.underTest)
    func test_errorShapesOverHTTP_never500(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            _ = try await seed(dependencies)
            let json = try await client.execute(uri: "/p/shop/sandbox/token", method: .post, headers: [.contentType: "application/json"],
                                                body: ByteBuffer(string: "{}"))
            // RFC 6749 §5.2: a request that is not a form is an invalid_request, not an HTTP 415.
            #expect(json.status == .badRequest)
            #expect(json.json?["error"] == .string("invalid_request"))
            let malformed = try await client.execute(uri: "/p/shop/sandbox/token", method: .post,
                                                     headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "a=%zz"))
            #expect(malformed.status == .badRequest)
            #expect(malformed.json?["error"] == "invalid_request")
            let anonymous = try await client.execute(uri: "/p/shop/sandbox/token", method: .post,
                                                     headers: [.contentType: "application/x-www-form-urlencoded"],
                                                     body: ByteBuffer(string: "grant_type=client_credentials"))
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.json?["error"] == "invalid_client")
            let unknown = try await client.execute(uri: "/p/nope/sandbox/.well-known/openid-configuration", method: .get)
            #expect(unknown.status == .notFound)
            let garbage = try await client.execute(uri: "/p/shop/sandbox/authorize?%ff%fe=%", method: .get)
            #expect(garbage.status.code < 500)
            let userinfo = try await client.execute(uri: "/p/shop/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer x.y.z"])
            #expect(userinfo.status == .unauthorized)
            #expect(userinfo.headers[.wwwAuthenticate]?.hasPrefix("Bearer error=\"invalid_token\"") == true)
            // RFC 6750 §3.1: without any token, a bare challenge and no error code.
            let tokenless = try await client.execute(uri: "/p/shop/sandbox/userinfo", method: .get)
            #expect(tokenless.status == .unauthorized)
            #expect(tokenless.headers[.wwwAuthenticate] == "Bearer realm=\"lamba\"")
        }
    }
}
