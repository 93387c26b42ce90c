import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaPasswords
import LambaModel
import LambaOAuth
import LambaServer
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Logging
import ServiceLifecycle
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Social sign-in over real HTTP: the upstream is another Lamba server (its own database, its own
// Workspace and Project environment acting as the OpenID Provider) on 127.0.0.1, and the
// downstream Lamba reaches it over HTTP for discovery, the token request and its JWKS.

/// A free TCP port of 127.0.0.1: each server's public URL must be its real address.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw SocialFixture.Failure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// An HTTP answer as the tests read it.
struct HTTPAnswer: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: ByteBuffer

    var json: JSONObject? { try? JSON.decodeObject(Array(body.readableBytesView)) }
    var text: String { String(buffer: body) }
}

/// A client of one live server (Hummingbird's test client, on the server's real port).
struct LiveHTTP: Sendable {
    let client: TestClient

    func execute(uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil) async throws -> HTTPAnswer {
        let response = try await client.execute(TestClient.Request(uri, method: method, authority: "127.0.0.1", headers: headers, body: body))
        return HTTPAnswer(status: response.status, headers: response.headers, body: response.body ?? ByteBuffer())
    }
}

/// One running Lamba: its client, its dependencies and its public URL.
struct LambaHost: Sendable {
    let client: LiveHTTP
    let dependencies: ServerDependencies
    var base: String { dependencies.configuration.publicBaseURL }
}

/// The upstream's ID token, changed on its way to the downstream (for the refusal tests); counts
/// the downstream's fetches of the upstream's discovery document and JWK Set.
final class TamperingUpstreamHTTP: UpstreamHTTPClient {
    enum Tamper: Sendable {
        /// Re-signed with the upstream's real key, with another nonce.
        case nonce(key: AsymmetricKey, kid: String)
        /// Signed with a key the upstream never published, under the real kid.
        case signature(kid: String)
        /// Signed with a key the upstream never published, under a kid it never published.
        case unknownKid(String)
    }

    struct Fetches: Sendable, Equatable {
        var discovery = 0
        var jwks = 0
    }

    let real = ServerUpstreamHTTPClient()
    let tamper = Mutex<Tamper?>(nil)
    let fetches = Mutex(Fetches())
    /// The `kid` of the last ID token the upstream's token endpoint answered with (before tampering).
    let lastUpstreamKid = Mutex<String?>(nil)

    func get(_ url: String, environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        fetches.withLock { fetches in
            if url.hasSuffix("/.well-known/openid-configuration") { fetches.discovery += 1 }
            if url.hasSuffix("/jwks") { fetches.jwks += 1 }
        }
        return try await real.get(url, environment: environment)
    }

    func postForm(_ url: String, form: [(String, String)], authorization: String, environment: LambaModel.Environment) async throws -> UpstreamHTTPResponse {
        let response = try await real.postForm(url, form: form, authorization: authorization, environment: environment)
        if response.status == 200, let token = (try? JSON.decodeObject(response.body))?["id_token"]?.stringValue,
            let header = try? JSON.decodeObject(try Base64URL.decode(String(token.split(separator: ".")[0])))
        {
            lastUpstreamKid.withLock { $0 = header["kid"]?.stringValue }
        }
        guard let tamper = tamper.withLock({ $0 }), response.status == 200 else { return response }
        var body = try JSON.decodeObject(response.body)
        let idToken = try #require(body["id_token"]?.stringValue)
        var claims = JWTClaims(try JSON.decodeObject(try Base64URL.decode(String(idToken.split(separator: ".")[1]))))
        switch tamper {
        case .nonce(let key, let kid):
            claims["nonce"] = "not-the-nonce-of-this-sign-in"
            body["id_token"] = .string(try JWT.sign(claims, algorithm: .rs256, key: key, kid: kid))
        case .signature(let kid), .unknownKid(let kid):
            body["id_token"] = .string(try JWT.sign(claims, algorithm: .rs256, key: try AsymmetricKey.generate(JWSAlgorithm.rs256.keyKind), kid: kid))
        }
        return UpstreamHTTPResponse(status: 200, body: JSON.encode(body))
    }
}

/// A browser with one cookie jar across both servers (cookies are per host, not per port), which
/// follows redirects by hand.
struct TwoHostBrowser {
    var cookies: [String: String] = [:]
    let hosts: [LambaHost]

    func route(_ url: String) throws -> (LiveHTTP, String) {
        for host in hosts where url.hasPrefix(host.base) { return (host.client, String(url.dropFirst(host.base.count))) }
        guard url.hasPrefix("/") else { throw SocialFixture.Failure("not one of our hosts: \(url)") }
        return (hosts[hosts.count - 1].client, url)
    }

    var cookieHeader: HTTPFields { cookies.isEmpty ? [:] : [.cookie: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")] }

    mutating func absorb(_ response: HTTPAnswer) {
        for value in response.headers[values: .setCookie] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[1].isEmpty { cookies[pair[0]] = nil } else { cookies[pair[0]] = pair[1] }
        }
    }

    mutating func get(_ url: String, headers extra: HTTPFields = [:]) async throws -> HTTPAnswer {
        let (client, path) = try route(url)
        var headers = cookieHeader
        headers.append(contentsOf: extra)
        let response = try await client.execute(uri: path, method: .get, headers: headers)
        absorb(response)
        return response
    }

    mutating func post(_ url: String, _ form: [(String, String)]) async throws -> HTTPAnswer {
        let (client, path) = try route(url)
        var headers = cookieHeader
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: OAuthParameters.encode(form)))
        absorb(response)
        return response
    }

    /// Follows 303s on our hosts; stops after `stop` matches a fetched URL, or at any other answer.
    mutating func follow(_ start: HTTPAnswer, stopAfter stop: (String) -> Bool = { _ in false }) async throws -> HTTPAnswer {
        var response = start
        while response.status == .seeOther, let location = response.headers[.location], !location.hasPrefix(SocialFixture.appRedirect) {
            response = try await get(location)
            if stop(location) { return response }
        }
        return response
    }

    static func attribute(_ html: String, before marker: String, _ name: String) -> String? {
        guard let range = html.range(of: marker) else { return nil }
        let head = html[..<range.lowerBound]
        guard let start = head.range(of: "\(name)=\"", options: .backwards) else { return nil }
        let rest = head[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// Two Lambas: `idp` (the upstream Project environment, Workspace "idp-co") and `shop` (Workspace
/// "acme", public, registration on), with "Upstream IdP" configured in shop's sandbox through the
/// console API.
struct SocialFixture: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let appRedirect = "http://127.0.0.1:7777/cb"
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let password = "upstream password 1"

    let upstream: LambaHost
    let downstream: LambaHost
    let tampering: TamperingUpstreamHTTP
    let shop: Project
    let shopClient: OAuthClient
    let shopSecret: String
    let shopKey: String
    let owner: ConsoleCaller
    let providerID: String
    let upstreamProject: Project
    let upstreamOwner: ConsoleCaller

    var shopIdentity: any IdentityStore { SQLIdentityStore(store: downstream.dependencies.store) }

    static func run(_ backend: Backend, _ test: @Sendable (SocialFixture) async throws -> Void) async throws {
        let tampering = TamperingUpstreamHTTP()
        try await withLamba(backend, upstreamHTTP: ServerUpstreamHTTPClient()) { upstream in
            try await withLamba(backend, upstreamHTTP: tampering) { downstream in
                try await test(try await make(upstream, downstream, tampering))
            }
        }
    }

    static func withLamba(_ backend: Backend, upstreamHTTP: any UpstreamHTTPClient, _ body: @Sendable (LambaHost) async throws -> Void) async throws {
        let database = try TestDatabases.makeURL(backend, prefix: "social")
        defer { TestDatabases.remove(database) }
        let port = try freeLoopbackPort()
        // One kept-alive test client connects before the test's own setup runs; on a loaded machine that
        // setup can outlast the production header and idle timeouts (ConnectionLimitTests tests those).
        let configuration = try ServerConfiguration(port: port, publicBaseURL: "http://127.0.0.1:\(port)", databaseURL: database,
                                                    maxRequestBodySize: 64 * 1024, headerReadTimeout: .seconds(600), idleTimeout: .seconds(600))
        let store = try await StoreFactory.open(database, poolSize: 3)
        try await store.migrate()
        let dependencies = ServerDependencies(configuration: configuration, store: store, masterKey: try MasterKey(bytes: try SecureRandom.bytes(32)),
                                              upstreamHTTP: upstreamHTTP)
        var logger = Logger(label: "lamba-social-test")
        logger.logLevel = .critical
        // Hummingbird's `.live` tester binds port 0; the issuer must be the real address, so the
        // server runs on its chosen port here, stopped by a graceful shutdown as `.live` stops its
        // own: cancelling the service would drop connections it accepted but never served.
        let (running, started) = AsyncStream<Int?>.makeStream()
        let app = LambaApplication.build(dependencies: dependencies, routes: FeatureRoutes.all(dependencies), logger: logger,
                                         onServerRunning: { port in started.yield(port) })
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let server = Task { try await services.run() }
        var ports = running.makeAsyncIterator()
        _ = await ports.next()
        let client = TestClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30)))
        client.connect()
        do {
            try await body(LambaHost(client: LiveHTTP(client: client), dependencies: dependencies))
        } catch {
            try? await client.shutdown()
            await services.triggerGracefulShutdown()
            _ = try? await server.value
            await store.close()
            throw error
        }
        try? await client.shutdown()
        await services.triggerGracefulShutdown()
        _ = try? await server.value
        await store.close()
    }

    static func make(_ upstream: LambaHost, _ downstream: LambaHost, _ tampering: TamperingUpstreamHTTP) async throws -> SocialFixture {
        // The upstream: a private Project whose members are the people who will come to the shop.
        let idpIdentity = SQLIdentityStore(store: upstream.dependencies.store)
        let idpBoot = try await WorkspaceAdministration(store: idpIdentity).bootstrap(
            email: "admin@idp.example", password: nil, name: "IdP admin", workspaceSlug: "idp-co", workspaceName: "IdP Co")
        let idpOwner = ConsoleCaller(actor: idpBoot.user.id, workspaceID: idpBoot.workspace.id, workspaceRole: .owner)
        let idpProjects = ProjectAdministration(store: idpIdentity)
        let idpProject = try await idpProjects.createProject(idpOwner, slug: "idp", name: "IdP", visibility: .private)
        var registration = ProjectAdministration.ClientRegistration(
            name: "Shop sign-in", type: .confidential, redirectURIs: [downstream.base + "/p/shop/sandbox/providers/callback"])
        registration.firstParty = true
        let (idpClient, idpSecret) = try await idpProjects.createClient(idpOwner, projectID: idpProject.id, environment: .sandbox, registration)
        let hash = try PasswordHasher.hash(password)
        for (email, verified) in [("alice@people.example", true), ("bea@example.com", true), ("carol@example.com", false), ("dan@people.example", true)] {
            let user = LambaUser(email: email, emailVerified: verified, name: email, passwordHash: hash)
            try await idpIdentity.write { tx in try tx.insert(user) }
            _ = try await MemberLifecycle(store: idpIdentity).admitExistingUser(idpOwner, projectID: idpProject.id, email: email, roles: nil)
        }

        // The downstream shop: existing password accounts for bea and carol.
        let identity = SQLIdentityStore(store: downstream.dependencies.store)
        let workspaces = WorkspaceAdministration(store: identity)
        let boot = try await workspaces.bootstrap(email: "owner@acme.example", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        let owner = try #require(try await workspaces.authenticate(apiKey: boot.apiKeySecret))
        let projects = ProjectAdministration(store: identity)
        let shop = try await projects.createProject(owner, slug: "shop", name: "Shop", visibility: .public)
        var changes = ProjectAdministration.EnvironmentChanges()
        changes.allowRegister = true
        _ = try await projects.updateEnvironment(owner, projectID: shop.id, environment: .sandbox, changes)
        var web = ProjectAdministration.ClientRegistration(name: "Shop Web", type: .confidential, redirectURIs: [appRedirect])
        web.firstParty = true
        let (shopClient, shopSecret) = try await projects.createClient(owner, projectID: shop.id, environment: .sandbox, web)
        for email in ["bea@example.com", "carol@example.com"] {
            let user = LambaUser(email: email, emailVerified: true, name: email, passwordHash: try PasswordHasher.hash("shop password 1"))
            try await identity.write { tx in try tx.insert(user) }
            _ = try await MemberLifecycle(store: identity).admitExistingUser(owner, projectID: shop.id, email: email, roles: nil)
        }

        // The provider, through the console API: its issuer is checked over HTTP (discovery).
        let created = try await downstream.client.execute(
            uri: "/console/v1/projects/\(shop.id)/environments/sandbox/providers", method: .post, headers: bearer(boot.apiKeySecret),
            body: body(["name": "Upstream IdP", "issuer": .string(upstream.base + "/p/idp/sandbox"), "client_id": .string(idpClient.id),
                        "client_secret": .string(try #require(idpSecret))]))
        guard created.status == .created, let providerID = created.json?["id"]?.stringValue else {
            throw Failure("provider creation answered \(created.status): \(created.text)")
        }
        return SocialFixture(upstream: upstream, downstream: downstream, tampering: tampering, shop: shop, shopClient: shopClient,
                             shopSecret: try #require(shopSecret), shopKey: boot.apiKeySecret, owner: owner, providerID: providerID,
                             upstreamProject: idpProject, upstreamOwner: idpOwner)
    }

    func browser() -> TwoHostBrowser { TwoHostBrowser(hosts: [upstream, downstream]) }

    /// Another provider of shop's sandbox: a second client of the same upstream Project, configured
    /// through the console API. Returns its id.
    func addProvider(name: String) async throws -> String {
        var registration = ProjectAdministration.ClientRegistration(
            name: name, type: .confidential, redirectURIs: [downstream.base + "/p/shop/sandbox/providers/callback"])
        registration.firstParty = true
        let (client, secret) = try await ProjectAdministration(store: SQLIdentityStore(store: upstream.dependencies.store))
            .createClient(upstreamOwner, projectID: upstreamProject.id, environment: .sandbox, registration)
        let created = try await downstream.client.execute(
            uri: "/console/v1/projects/\(shop.id)/environments/sandbox/providers", method: .post, headers: bearer(shopKey),
            body: body(["name": .string(name), "issuer": .string(upstream.base + "/p/idp/sandbox"), "client_id": .string(client.id),
                        "client_secret": .string(try #require(secret))]))
        guard created.status == .created, let id = created.json?["id"]?.stringValue else {
            throw Failure("provider creation answered \(created.status): \(created.text)")
        }
        return id
    }

    /// Changes shop's provider through the console API.
    func patchProvider(_ id: String, _ changes: JSONObject) async throws -> HTTPAnswer {
        try await downstream.client.execute(uri: "/console/v1/projects/\(shop.id)/environments/sandbox/providers/\(id)", method: .patch,
                                            headers: bearer(shopKey), body: body(changes))
    }

    /// The shop's authorization request with `prompt=none`, answered without any interaction.
    func silentAuthorize(_ browser: inout TwoHostBrowser) async throws -> OAuthParameters {
        let response = try await browser.get(authorizePath + "&prompt=none")
        let location = try #require(response.headers[.location], "\(response.status) \(response.text)")
        #expect(location.hasPrefix(Self.appRedirect + "?"))
        return try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
    }

    /// Rotates the upstream environment's signing keys as `lamba keys rotate --now` does (a key ring of
    /// its own on the upstream's database); returns the new current kid. The running upstream
    /// server sees the change through the store's table versions.
    func rotateUpstreamKeys() async throws -> String {
        let ring = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: upstream.base, masterKey: upstream.dependencies.masterKey),
                                  store: SQLOAuthStore(store: upstream.dependencies.store)).keys
        // At once: the downstream must meet a kid its cached JWKS does not hold yet.
        let rotation = try await ring.rotate(projectID: upstreamProject.id, workspaceID: upstreamProject.workspaceID, environment: .sandbox,
                                             algorithms: [.rs256], keepOldFor: 3600, immediately: true, actor: upstreamOwner.actor)
        return try #require(rotation.promoted.first)
    }

    var authorizePath: String {
        "/p/shop/sandbox/authorize?" + OAuthParameters.encode([
            ("response_type", "code"), ("client_id", shopClient.id), ("redirect_uri", Self.appRedirect), ("scope", "openid email profile"),
            ("state", "app-state"), ("nonce", "app-nonce"), ("code_challenge", Self.challenge), ("code_challenge_method", "S256"),
        ])
    }

    /// The shop's authorize → login page → "Continue with Upstream IdP" → the upstream's login
    /// form (unless already signed in there) → back at the shop's callback, whose answer is returned.
    func signInWithProvider(_ browser: inout TwoHostBrowser, email: String, password: String = SocialFixture.password,
                            provider: (name: String, id: String)? = nil) async throws -> HTTPAnswer {
        let (name, id) = provider ?? ("Upstream IdP", providerID)
        var response = try await browser.get(authorizePath)
        response = try await browser.follow(response)
        #expect(response.status == .ok)
        let start = try #require(TwoHostBrowser.attribute(response.text, before: ">Continue with \(name)<", "href"))
        #expect(start.contains("/p/shop/sandbox/providers/\(id)/login?"))
        response = try await browser.get(start)
        #expect(response.status == .seeOther)
        let upstreamAuthorize = try #require(response.headers[.location])
        #expect(upstreamAuthorize.hasPrefix(upstream.base + "/p/idp/sandbox/authorize?"))
        let sent = try OAuthParameters.decode(String(upstreamAuthorize.split(separator: "?", maxSplits: 1)[1]))
        #expect(try sent.single("code_challenge_method") == "S256" && sent.single("nonce") != nil && sent.single("state") != nil)
        response = try await browser.follow(response, stopAfter: { $0.contains("/providers/callback") })
        if response.status == .ok, response.text.contains("name=\"password\""), response.text.contains("Sign in to IdP") {
            let html = response.text
            response = try await browser.post(upstream.base + "/p/idp/sandbox/login", [
                ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                ("email", email), ("password", password),
            ])
            response = try await browser.follow(response, stopAfter: { $0.contains("/providers/callback") })
        }
        return response
    }

    /// From a resumed authorization to the application's code, then tokens.
    func tokens(_ browser: inout TwoHostBrowser, _ start: HTTPAnswer) async throws -> (access: String, idToken: String) {
        let response = try await browser.follow(start)
        let location = try #require(response.headers[.location], "\(response.status) \(response.text)")
        #expect(location.hasPrefix(Self.appRedirect + "?"))
        let code = try #require(try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1])).single("code"))
        let basic = "Basic " + Data("\(shopClient.id):\(shopSecret)".utf8).base64EncodedString()
        let token = try await downstream.client.execute(
            uri: "/p/shop/sandbox/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic],
            body: ByteBuffer(string: OAuthParameters.encode([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.appRedirect),
                                                            ("code_verifier", Self.verifier)])))
        #expect(token.status == .ok, "\(token.text)")
        return (try #require(token.json?["access_token"]?.stringValue), try #require(token.json?["id_token"]?.stringValue))
    }

    /// Password sign-in at the shop, for users who have one.
    func signInWithPassword(_ browser: inout TwoHostBrowser, email: String, password: String) async throws -> HTTPAnswer {
        var response = try await browser.follow(try await browser.get(authorizePath))
        let html = response.text
        response = try await browser.post(downstream.base + "/p/shop/sandbox/login", [
            ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
            ("email", email), ("password", password),
        ])
        #expect(response.status == .seeOther)
        return response
    }

    func me(_ path: String, _ token: String, method: HTTPRequest.Method = .get, issuer: String = "/p/shop/sandbox") async throws -> HTTPAnswer {
        try await downstream.client.execute(uri: issuer + path, method: method, headers: [.authorization: "Bearer " + token])
    }

    /// Users created by a first sign-in through a provider (bootstrap creates one too).
    func usersCreatedThroughProvider() async throws -> Int {
        try await events("user.created").filter { $0.data.contains("provider_id") }.count
    }

    func events(_ type: String) async throws -> [OutboxEvent] {
        try await downstream.dependencies.store.read { reader in try reader.events(after: 0, limit: 10_000).map(\.event) }.filter { $0.type == type }
    }

    func user(_ email: String) async throws -> LambaUser? {
        try await shopIdentity.read { tx in try tx.user(email: email) }
    }
}

@Suite("social providers over HTTP", .serialized)
struct SocialProviderHTTPTests {
    @Test("first upstream login creates a user and links the account; the second login reuses the link", arguments: Backend.underTest)
    func firstLogin_createsUser_secondLogin_reusesLink(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            var browser = fx.browser()
            let callback = try await fx.signInWithProvider(&browser, email: "alice@people.example")
            #expect(callback.status == .seeOther, "\(callback.text)")
            #expect(callback.headers[.location]?.hasPrefix(fx.downstream.base + "/p/shop/sandbox/authorize?") == true)
            let (access, _) = try await fx.tokens(&browser, callback)
            let user = try #require(try await fx.user("alice@people.example"))
            #expect(user.passwordHash == nil && user.emailVerified)
            let links = try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: user.id) }
            #expect(links.map(\.providerID) == [fx.providerID])
            #expect(try await fx.usersCreatedThroughProvider() == 1)
            let linked = try #require(try await fx.events("user.provider_linked").first)
            #expect(linked.actor == user.id && linked.projectID == fx.shop.id && linked.environment == "sandbox" && linked.sessionID != nil)
            // Registration was on: the new user is a member and can use the API.
            let me = try await fx.me("/me", access)
            #expect(me.status == .ok, "\(me.text)")
            #expect(me.json?["email"] == "alice@people.example")
            #expect(me.json?["providers"]?.arrayValue?.first?.objectValue?["provider_id"]?.stringValue == fx.providerID)
            #expect(me.json?["sign_in_methods"] == .array([.string("provider:\(fx.providerID)")]))

            // A second login, in a fresh browser: same user, no second account, no second link.
            var second = fx.browser()
            let again = try await fx.signInWithProvider(&second, email: "alice@people.example")
            #expect(again.status == .seeOther)
            _ = try await fx.tokens(&second, again)
            #expect(try await fx.usersCreatedThroughProvider() == 1)
            #expect(try await fx.events("user.provider_linked").count == 1)
            let sessions = try await fx.shopIdentity.read { tx in try tx.activeIdentitySessions(workspaceID: fx.owner.workspaceID, userID: user.id) }
            #expect(sessions.count == 2 && sessions.allSatisfy { $0.signInMethod == .provider(fx.providerID) })
        }
    }

    @Test("a verified upstream email matching an existing account asks for proof, then links", arguments: Backend.underTest)
    func verifiedEmailMatch_requiresProof_thenLinks(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            var browser = fx.browser()
            let bea = try #require(try await fx.user("bea@example.com"))
            let proof = try await fx.signInWithProvider(&browser, email: "bea@example.com")
            #expect(proof.status == .ok)
            #expect(proof.text.contains("Is this your account?"))
            #expect(browser.cookies.keys.contains { $0.hasPrefix("lamba_session_\(fx.owner.workspaceID)") } == false, "no session before the proof")
            #expect(try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: bea.id) }.isEmpty)
            let html = proof.text
            let form = [("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                        ("proof", try #require(Browser.hidden(html, "proof")))]
            var response = try await browser.post("/p/shop/sandbox/providers/proof", form + [("password", "not the password")])
            #expect(response.status == .badRequest)
            #expect(response.text.contains("the password is wrong"))
            #expect(try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: bea.id) }.isEmpty)
            response = try await browser.post("/p/shop/sandbox/providers/proof", form + [("password", "shop password 1")])
            #expect(response.status == .seeOther, "\(response.text)")
            _ = try await fx.tokens(&browser, response)
            let links = try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: bea.id) }
            #expect(links.map(\.providerID) == [fx.providerID])
            #expect(try await fx.usersCreatedThroughProvider() == 0)
            // The proof is single-use.
            response = try await browser.post("/p/shop/sandbox/providers/proof", form + [("password", "shop password 1")])
            #expect(response.status != .seeOther)
            // From now on the provider alone signs bea in.
            var later = fx.browser()
            let direct = try await fx.signInWithProvider(&later, email: "bea@example.com")
            #expect(direct.status == .seeOther && direct.headers[.location]?.contains("/p/shop/sandbox/authorize?") == true)
        }
    }

    @Test("an unverified upstream email matching an existing account is refused: no link, no session, no takeover", arguments: Backend.underTest)
    func unverifiedEmailMatch_isRefused(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            var browser = fx.browser()
            let response = try await fx.signInWithProvider(&browser, email: "carol@example.com")
            #expect(response.status == .badRequest)
            #expect(response.text.contains("has not verified this address"), "\(response.text)")
            #expect(response.text.contains("Sign in to Shop"), "back on the login page")
            #expect(browser.cookies.keys.contains("lamba_session_\(fx.owner.workspaceID)") == false)
            let carol = try #require(try await fx.user("carol@example.com"))
            #expect(try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: carol.id) }.isEmpty)
            #expect(try await fx.events("user.provider_linked").isEmpty)
        }
    }

    @Test("tampered state, another browser, a replayed callback, a wrong nonce and a bad ID token signature are refused", arguments: Backend.underTest)
    func tamperedState_wrongNonce_badSignature_areRefused(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            /// Runs the flow up to the upstream's redirect to the callback, without fetching it.
            func callbackURL(_ browser: inout TwoHostBrowser) async throws -> String {
                var response = try await browser.follow(try await browser.get(fx.authorizePath))
                let start = try #require(TwoHostBrowser.attribute(response.text, before: ">Continue with Upstream IdP<", "href"))
                response = try await browser.follow(try await browser.get(start))
                if response.text.contains("name=\"password\"") {
                    let html = response.text
                    response = try await browser.post(fx.upstream.base + "/p/idp/sandbox/login", [
                        ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                        ("email", "dan@people.example"), ("password", SocialFixture.password),
                    ])
                }
                while let location = response.headers[.location], !location.contains("/providers/callback") { response = try await browser.get(location) }
                return try #require(response.headers[.location])
            }
            func noSession(_ browser: TwoHostBrowser) -> Bool { !browser.cookies.keys.contains("lamba_session_\(fx.owner.workspaceID)") }

            // Tampered state.
            var browser = fx.browser()
            var url = try await callbackURL(&browser)
            var response = try await browser.get(url.replacingOccurrences(of: "state=", with: "state=x"))
            #expect(response.status == .forbidden && response.text.contains("access_denied"))
            #expect(noSession(browser))
            // The untampered callback in another browser (no binding cookie) is refused too.
            var stranger = fx.browser()
            response = try await stranger.get(url)
            #expect(response.status == .forbidden && noSession(stranger))
            // The browser that started it finishes it; then the state is spent and a replay is refused.
            response = try await browser.get(url)
            #expect(response.status == .seeOther && !noSession(browser))
            var replay = TwoHostBrowser(cookies: browser.cookies.filter { $0.key == SocialSignIn.browserCookie }, hosts: [fx.upstream, fx.downstream])
            response = try await replay.get(url)
            #expect(response.status == .forbidden && noSession(replay))

            // A wrong nonce, in a token the upstream really signed.
            let upstreamProvider = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: fx.upstream.base, masterKey: fx.upstream.dependencies.masterKey),
                                                  store: SQLOAuthStore(store: fx.upstream.dependencies.store))
            let key = try await upstreamProvider.keys.signingKey(projectID: fx.upstreamProject.id, environment: .sandbox, algorithm: .rs256)
            fx.tampering.tamper.withLock { $0 = .nonce(key: key.key, kid: key.kid) }
            browser = fx.browser()
            url = try await callbackURL(&browser)
            response = try await browser.get(url)
            #expect(response.status == .badRequest && response.text.contains("could not be verified"), "\(response.text)")
            #expect(noSession(browser))

            // A bad signature under the upstream's kid.
            fx.tampering.tamper.withLock { $0 = .signature(kid: key.kid) }
            browser = fx.browser()
            url = try await callbackURL(&browser)
            response = try await browser.get(url)
            #expect(response.status == .badRequest && response.text.contains("could not be verified"))
            #expect(noSession(browser))

            // Untampered, the same flow works: the refusals above were about the token.
            fx.tampering.tamper.withLock { $0 = nil }
            browser = fx.browser()
            url = try await callbackURL(&browser)
            response = try await browser.get(url)
            #expect(response.status == .seeOther && !noSession(browser))
            #expect(try await fx.usersCreatedThroughProvider() == 1)
        }
    }

    @Test("/me/providers: unlinking the last sign-in path is 409; linking from the API then unlinking works and ends the other sessions", arguments: Backend.underTest)
    func unlink_lastPathRefused_linkFromAPI_thenUnlinkEndsOtherSessions(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            // Alice has only the provider.
            var alice = fx.browser()
            let (aliceToken, _) = try await fx.tokens(&alice, try await fx.signInWithProvider(&alice, email: "alice@people.example"))
            var response = try await fx.me("/me/providers/\(fx.providerID)", aliceToken, method: .delete)
            #expect(response.status == .conflict && response.json?["error"] == "refused", "\(response.text)")
            #expect(response.json?["error_description"]?.stringValue?.contains("last way to sign in") == true)

            // Bea (password) links the provider from the self-service API, in her browser.
            var bea = fx.browser()
            let (beaToken, _) = try await fx.tokens(&bea, try await fx.signInWithPassword(&bea, email: "bea@example.com", password: "shop password 1"))
            var other = fx.browser()
            let (otherToken, _) = try await fx.tokens(&other, try await fx.signInWithPassword(&other, email: "bea@example.com", password: "shop password 1"))
            response = try await fx.downstream.client.execute(
                uri: "/p/shop/sandbox/me/providers/\(fx.providerID)/link", method: .post,
                headers: [.authorization: "Bearer " + beaToken, .contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: OAuthParameters.encode([("redirect_uri", SocialFixture.appRedirect)])))
            #expect(response.status == .created, "\(response.text)")
            let ticketURL = try #require(response.json?["authorization_url"]?.stringValue)
            response = try await bea.get(ticketURL)
            #expect(response.headers[.location]?.hasPrefix(fx.upstream.base) == true)
            response = try await bea.follow(response, stopAfter: { $0.contains("/providers/callback") })
            let html = response.text
            response = try await bea.post(fx.upstream.base + "/p/idp/sandbox/login", [
                ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                ("email", "bea@example.com"), ("password", SocialFixture.password),
            ])
            response = try await bea.follow(response, stopAfter: { $0.contains("/providers/callback") })
            #expect(response.headers[.location] == SocialFixture.appRedirect + "?provider_linked=\(fx.providerID)", "\(response.text)")
            // Linking ended bea's other session (its token dies with its scope); the current one stays.
            #expect(try await fx.me("/me", otherToken).status == .unauthorized)
            response = try await fx.me("/me", beaToken)
            #expect(response.status == .ok)
            #expect(response.json?["sign_in_methods"] == .array([.string("password"), .string("provider:\(fx.providerID)")]))
            // The ticket was single-use.
            #expect(try await bea.get(ticketURL).status == .forbidden)

            // A new other session, then unlink: allowed (password remains), the other session ends, the event is written.
            var third = fx.browser()
            let (thirdToken, _) = try await fx.tokens(&third, try await fx.signInWithPassword(&third, email: "bea@example.com", password: "shop password 1"))
            response = try await fx.me("/me/providers/\(fx.providerID)", beaToken, method: .delete)
            #expect(response.status == .noContent, "\(response.text)")
            #expect(try await fx.me("/me", thirdToken).status == .unauthorized)
            #expect(try await fx.me("/me", beaToken).status == .ok)
            #expect(try await fx.me("/me", aliceToken).status == .ok, "another user's sessions are untouched")
            let beaUser = try #require(try await fx.user("bea@example.com"))
            let unlinked = try #require(try await fx.events("user.provider_unlinked").first)
            #expect(unlinked.actor == beaUser.id && unlinked.workspaceID == fx.owner.workspaceID && unlinked.projectID == fx.shop.id
                        && unlinked.environment == "sandbox" && unlinked.sessionID != nil)
            #expect(unlinked.data.contains("\"ended_sessions\":1"))
            // Unlinking something not linked is 404.
            #expect(try await fx.me("/me/providers/\(fx.providerID)", beaToken, method: .delete).status == .notFound)
        }
    }

    @Test("/me and /me/sessions: list with the current marked, revoke one, other users' ids are 404, another Project's token is refused", arguments: Backend.underTest)
    func meAndSessions_listRevokeOne_tenancy(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            var first = fx.browser()
            let (token, _) = try await fx.tokens(&first, try await fx.signInWithPassword(&first, email: "bea@example.com", password: "shop password 1"))
            var second = fx.browser()
            let (secondToken, _) = try await fx.tokens(&second, try await fx.signInWithPassword(&second, email: "bea@example.com", password: "shop password 1"))
            var carol = fx.browser()
            let (carolToken, _) = try await fx.tokens(&carol, try await fx.signInWithPassword(&carol, email: "carol@example.com", password: "shop password 1"))

            var response = try await fx.me("/me/sessions", token)
            #expect(response.status == .ok)
            let sessions = try #require(response.json?["data"]?.arrayValue).compactMap { $0.objectValue }
            #expect(sessions.count == 2)
            let current = try #require(sessions.first { $0["current"] == true })
            let otherSession = try #require(sessions.first { $0["current"] == false })
            #expect(current["sign_in_method"] == "password")
            #expect(current["runtime_scopes"]?.arrayValue?.first?.objectValue?["current"] == true)
            let otherID = try #require(otherSession["id"]?.stringValue)

            // Carol's session id, seen from bea's token: not found, and carol keeps it.
            let carolSessions = try await fx.me("/me/sessions", carolToken)
            let carolID = try #require(carolSessions.json?["data"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
            response = try await fx.me("/me/sessions/\(carolID)", token, method: .delete)
            #expect(response.status == .notFound)
            #expect(try await fx.me("/me", carolToken).status == .ok)
            #expect(try await fx.me("/me/sessions/rs_nope", token, method: .delete).status == .notFound)

            // Revoke the other session: its token dies, this one lives; session.revoked is written with context.
            response = try await fx.me("/me/sessions/\(otherID)", token, method: .delete)
            #expect(response.status == .noContent)
            #expect(try await fx.me("/me", secondToken).status == .unauthorized)
            #expect(try await fx.me("/me", token).status == .ok)
            let revoked = try #require(try await fx.events("session.revoked").first { $0.sessionID == otherID })
            #expect(revoked.workspaceID == fx.owner.workspaceID && revoked.projectID == fx.shop.id && revoked.environment == "sandbox")
            #expect(try await fx.me("/me/sessions", token).json?["data"]?.arrayValue?.count == 1)

            // Tenancy: the shop's token at another Project's /me (the upstream's issuer on its own server, and
            // a second Project on this server) is refused.
            let other = try await ProjectAdministration(store: fx.shopIdentity).createProject(fx.owner, slug: "arcade", name: "Arcade", visibility: .public)
            _ = other
            response = try await fx.me("/me", token, issuer: "/p/arcade/sandbox")
            #expect(response.status == .unauthorized && response.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            response = try await fx.me("/me", token, issuer: "/p/shop/production")
            #expect(response.status == .unauthorized)
            // No token at all: a bare challenge.
            response = try await fx.downstream.client.execute(uri: "/p/shop/sandbox/me", method: .get)
            #expect(response.status == .unauthorized)
        }
    }

    @Test("console: providers are listed without their secret; disabling through the console is guarded and revokes only its sessions' scopes", arguments: Backend.underTest)
    func console_providerDisable_guardAndRevocation(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            let base = "/console/v1/projects/\(fx.shop.id)/environments/sandbox/providers"
            var response = try await fx.downstream.client.execute(uri: base, method: .get, headers: bearer(fx.shopKey, json: false))
            #expect(response.status == .ok)
            let listed = try #require(response.json?["data"]?.arrayValue?.first?.objectValue)
            #expect(listed["enabled"] == true && listed["client_secret"] == nil && !response.text.contains("lmb_cs_"))
            // The other environment does not see it.
            response = try await fx.downstream.client.execute(uri: "/console/v1/projects/\(fx.shop.id)/environments/production/providers/\(fx.providerID)",
                                                              method: .get, headers: bearer(fx.shopKey, json: false))
            #expect(response.status == .notFound)
            // A wrong issuer is refused by discovery.
            response = try await fx.downstream.client.execute(uri: base, method: .post, headers: bearer(fx.shopKey), body: body([
                "name": "Broken", "issuer": .string(fx.upstream.base + "/p/nope/sandbox"), "client_id": "x", "client_secret": "y",
            ]))
            #expect(response.status == .badRequest && response.json?["field"] == "issuer", "\(response.text)")

            // Alice signs in through the provider (a member only through it); bea by password.
            var alice = fx.browser()
            let (aliceToken, _) = try await fx.tokens(&alice, try await fx.signInWithProvider(&alice, email: "alice@people.example"))
            var bea = fx.browser()
            let (beaToken, _) = try await fx.tokens(&bea, try await fx.signInWithPassword(&bea, email: "bea@example.com", password: "shop password 1"))
            response = try await fx.downstream.client.execute(uri: base + "/\(fx.providerID)", method: .patch, headers: bearer(fx.shopKey),
                                                              body: body(["enabled": false]))
            #expect(response.status == .conflict && response.json?["error"] == "refused")
            #expect(response.json?["error_description"]?.stringValue?.hasPrefix("1 active project members of sandbox") == true, "\(response.text)")
            // Changing the client id is allowed and ends exactly the scopes signed in through the provider.
            response = try await fx.downstream.client.execute(uri: base + "/\(fx.providerID)", method: .patch, headers: bearer(fx.shopKey),
                                                              body: body(["client_id": "rotated-client"]))
            #expect(response.status == .ok, "\(response.text)")
            #expect(try await fx.me("/me", aliceToken).status == .unauthorized)
            #expect(try await fx.me("/me", beaToken).status == .ok)
            let updated = try #require(try await fx.events("provider.updated").last)
            #expect(updated.projectID == fx.shop.id && updated.environment == "sandbox" && updated.data.contains("\"trust_changed\":true"))
        }
    }

    @Test("proof with another of the user's linked providers (no password) links the new provider and signs in", arguments: Backend.underTest)
    func proofWithAnotherLinkedProvider_linksTheNewOne(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            // Alice exists only through the first provider.
            var first = fx.browser()
            _ = try await fx.tokens(&first, try await fx.signInWithProvider(&first, email: "alice@people.example"))
            let alice = try #require(try await fx.user("alice@people.example"))
            #expect(alice.passwordHash == nil)
            let second = try await fx.addProvider(name: "Second IdP")

            // The second provider names alice's verified email: proof is asked, and the page offers
            // the first provider, not a password.
            var browser = fx.browser()
            let proof = try await fx.signInWithProvider(&browser, email: "alice@people.example", provider: ("Second IdP", second))
            #expect(proof.status == .ok && proof.text.contains("Is this your account?"), "\(proof.text)")
            #expect(!proof.text.contains("name=\"password\""))
            #expect(browser.cookies.keys.contains("lamba_session_\(fx.owner.workspaceID)") == false, "no session before the proof")
            let prove = try #require(TwoHostBrowser.attribute(proof.text, before: ">Prove it with Upstream IdP<", "href"))
            #expect(prove.contains("/p/shop/sandbox/providers/\(fx.providerID)/prove?"))

            // Proving through the first provider (the upstream session of this browser answers at once) links the second.
            var response = try await browser.get(prove)
            #expect(response.headers[.location]?.hasPrefix(fx.upstream.base + "/p/idp/sandbox/authorize?") == true)
            response = try await browser.follow(response, stopAfter: { $0.contains("/providers/callback") })
            #expect(response.status == .seeOther && response.headers[.location]?.contains("/p/shop/sandbox/authorize?") == true, "\(response.text)")
            let (access, _) = try await fx.tokens(&browser, response)
            let links = try await fx.shopIdentity.read { tx in try tx.linkedIdentities(userID: alice.id) }
            #expect(Set(links.map(\.providerID)) == [fx.providerID, second])
            #expect(try await fx.usersCreatedThroughProvider() == 1, "no second account")
            let linked = try await fx.events("user.provider_linked")
            #expect(linked.count == 2 && linked.last?.actor == alice.id && linked.last?.data.contains(second) == true)
            #expect(try await fx.me("/me", access).json?["email"] == "alice@people.example")

            // The proof was spent; from now on the second provider alone signs alice in.
            #expect(try await browser.get(prove).status != .seeOther)
            var later = fx.browser()
            let direct = try await fx.signInWithProvider(&later, email: "alice@people.example", provider: ("Second IdP", second))
            #expect(direct.status == .seeOther && direct.headers[.location]?.contains("/p/shop/sandbox/authorize?") == true, "\(direct.text)")
        }
    }

    @Test("a session signed in through a provider must sign in again once the provider is re-pointed (client id changed)", arguments: Backend.underTest)
    func providerSession_afterProviderRepointed_mustSignInAgain(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            var alice = fx.browser()
            _ = try await fx.tokens(&alice, try await fx.signInWithProvider(&alice, email: "alice@people.example"))
            #expect(try await fx.silentAuthorize(&alice).single("code") != nil, "the session answers prompt=none before the change")

            let response = try await fx.patchProvider(fx.providerID, ["client_id": "rotated-client"])
            #expect(response.status == .ok, "\(response.text)")
            #expect(alice.cookies.keys.contains("lamba_session_\(fx.owner.workspaceID)"), "the browser still holds the session")
            let silent = try await fx.silentAuthorize(&alice)
            #expect(try silent.single("error") == "login_required" && silent.single("code") == nil)
            // Interactive: the login page itself, not the account chooser of a live session.
            let page = try await alice.follow(try await alice.get(fx.authorizePath))
            #expect(page.status == .ok && page.text.contains("Sign in to Shop") && !page.text.contains("Continue to Shop"), "\(page.text)")
        }
    }

    @Test("a session signed in through a provider must sign in again once the provider is disabled; a password session of the same user stays", arguments: Backend.underTest)
    func providerSession_afterProviderDisabled_mustSignInAgain(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            // Bea links the provider by proving her password, then signs in through it in another browser.
            var linking = fx.browser()
            let proof = try await fx.signInWithProvider(&linking, email: "bea@example.com")
            var response = try await linking.post("/p/shop/sandbox/providers/proof", [
                ("csrf_token", try #require(Browser.hidden(proof.text, "csrf_token"))), ("authz", try #require(Browser.hidden(proof.text, "authz"))),
                ("proof", try #require(Browser.hidden(proof.text, "proof"))), ("password", "shop password 1"),
            ])
            _ = try await fx.tokens(&linking, response)
            var viaProvider = fx.browser()
            _ = try await fx.tokens(&viaProvider, try await fx.signInWithProvider(&viaProvider, email: "bea@example.com"))
            #expect(try await fx.silentAuthorize(&viaProvider).single("code") != nil)

            // Nobody would be stranded (bea has a password), so the guard allows it.
            response = try await fx.patchProvider(fx.providerID, ["enabled": false])
            #expect(response.status == .ok, "\(response.text)")
            let silent = try await fx.silentAuthorize(&viaProvider)
            #expect(try silent.single("error") == "login_required" && silent.single("code") == nil)
            let page = try await viaProvider.follow(try await viaProvider.get(fx.authorizePath))
            #expect(page.status == .ok && page.text.contains("Sign in to Shop") && !page.text.contains("Continue to Shop"), "\(page.text)")
            #expect(!page.text.contains("Continue with Upstream IdP"), "the disabled provider is no longer offered")
            // The session bea opened with her password is not about the provider: it still answers silently.
            #expect(try await fx.silentAuthorize(&linking).single("code") != nil)
        }
    }

    @Test("discovery and the JWKS are cached; after upstream key rotation the new kid fetches the JWKS once and sign-in works", arguments: Backend.underTest)
    func upstreamKeyRotation_kidMissRefetchesOnce(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            let baseline = fx.tampering.fetches.withLock { $0 }
            var alice = fx.browser()
            _ = try await fx.tokens(&alice, try await fx.signInWithProvider(&alice, email: "alice@people.example"))
            let oldKid = try #require(fx.tampering.lastUpstreamKid.withLock { $0 })
            #expect(fx.tampering.fetches.withLock { $0 } == TamperingUpstreamHTTP.Fetches(discovery: baseline.discovery + 1, jwks: baseline.jwks + 1))
            // A second sign-in fetches neither again.
            var dan = fx.browser()
            _ = try await fx.tokens(&dan, try await fx.signInWithProvider(&dan, email: "dan@people.example"))
            #expect(fx.tampering.fetches.withLock { $0 } == TamperingUpstreamHTTP.Fetches(discovery: baseline.discovery + 1, jwks: baseline.jwks + 1))

            let newKid = try await fx.rotateUpstreamKeys()
            #expect(newKid != oldKid)
            var rotated = fx.browser()
            let signedIn = try await fx.signInWithProvider(&rotated, email: "alice@people.example")
            #expect(signedIn.status == .seeOther, "signed in with a token under the new kid: \(signedIn.text)")
            #expect(fx.tampering.lastUpstreamKid.withLock { $0 } == newKid)
            #expect(fx.tampering.fetches.withLock { $0 } == TamperingUpstreamHTTP.Fetches(discovery: baseline.discovery + 1, jwks: baseline.jwks + 2))
            _ = try await fx.tokens(&rotated, signedIn)
            // The refetched set serves the next sign-in.
            var again = fx.browser()
            #expect(try await fx.signInWithProvider(&again, email: "dan@people.example").status == .seeOther)
            #expect(fx.tampering.fetches.withLock { $0 }.jwks == baseline.jwks + 2)
        }
    }

    @Test("an ID token under a kid the upstream never published is refused after one JWKS refetch; a second one within the window fetches nothing", arguments: Backend.underTest)
    func unknownKid_refusedAfterOneRefetch_rateLimited(backend: Backend) async throws {
        try await SocialFixture.run(backend) { fx in
            let baseline = fx.tampering.fetches.withLock { $0 }
            var alice = fx.browser()
            _ = try await fx.tokens(&alice, try await fx.signInWithProvider(&alice, email: "alice@people.example"))
            #expect(fx.tampering.fetches.withLock { $0 }.jwks == baseline.jwks + 1)
            func noSession(_ browser: TwoHostBrowser) -> Bool { !browser.cookies.keys.contains("lamba_session_\(fx.owner.workspaceID)") }

            fx.tampering.tamper.withLock { $0 = .unknownKid("made-up-kid-1") }
            var first = fx.browser()
            var response = try await fx.signInWithProvider(&first, email: "dan@people.example")
            #expect(response.status == .badRequest && response.text.contains("could not be verified"), "\(response.text)")
            #expect(noSession(first))
            #expect(fx.tampering.fetches.withLock { $0 }.jwks == baseline.jwks + 2, "the unknown kid fetched the JWKS once more")

            fx.tampering.tamper.withLock { $0 = .unknownKid("made-up-kid-2") }
            var second = fx.browser()
            response = try await fx.signInWithProvider(&second, email: "dan@people.example")
            #expect(response.status == .badRequest && response.text.contains("could not be verified"))
            #expect(noSession(second))
            #expect(fx.tampering.fetches.withLock { $0 }.jwks == baseline.jwks + 2, "no second forced fetch within the window")

            // The real keys were never dropped: an untampered sign-in works without a fetch.
            fx.tampering.tamper.withLock { $0 = nil }
            var third = fx.browser()
            response = try await fx.signInWithProvider(&third, email: "dan@people.example")
            #expect(response.status == .seeOther && !noSession(third), "\(response.text)")
            #expect(fx.tampering.fetches.withLock { $0 }.jwks == baseline.jwks + 2)
            #expect(fx.tampering.fetches.withLock { $0 }.discovery == baseline.discovery + 1)
        }
    }
}
