import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Synchronization
import Testing

/// Brute-force protection of runtime password checks: lockout after repeated failures per Workspace
/// and email, the same for unknown emails, lifted by time, reset by success, shared by the hosted
/// login and the social sign-in proof.
@Suite("Sign-in throttle", .serialized)
struct SignInThrottleTests {
    static let wrong = "email or password is wrong"

    /// A provider over the fixture's database whose clock the test moves.
    final class Clock: Sendable {
        let instant = Mutex(Date())
        var now: Date { instant.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { instant.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    struct Harness {
        let f: Fixture
        let clock = Clock()
        let provider: OpenIDProvider

        init(_ f: Fixture) throws {
            self.f = f
            let clock = self.clock
            provider = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: try MasterKey.generate(),
                                                                           now: { clock.now }), store: f.oauth)
        }

        func context(_ slug: String = "alpha") async throws -> ProviderContext { try await provider.context(slug: slug, environment: "sandbox") }

        /// One hosted login POST: nil when it signed in, else the message shown.
        func login(_ context: ProviderContext, _ email: String, _ password: String, client: OAuthClient? = nil) async -> String? {
            let csrf = HostedInteraction.newCSRFCookie()
            let authz = OAuthParameters.encode(f.authorizeParameters(client: client ?? f.confidential))
            let form = OAuthParameters([("csrf_token", provider.interaction.csrfToken(cookie: csrf)), ("authz", authz), ("email", email), ("password", password)])
            switch await provider.interaction.login(context, form: form, csrfCookie: csrf) {
            case .resume(_, let token?) where !token.isEmpty: return nil
            case .failed(let message): return message
            case let other: return "unexpected: \(other)"
            }
        }

        func throttledEvents() async throws -> [JSONObject] {
            try await f.store.read { try $0.query("SELECT data FROM events WHERE type = 'user.sign_in_throttled' ORDER BY seq") }
                .map { try JSON.decodeObject(Array(try $0.string("data").utf8)) }
        }

        func throttleRows() async throws -> Int {
            try await f.store.read { try $0.queryOne("SELECT COUNT(*) AS n FROM sign_in_throttles").int("n") }
        }
    }

    @Test("five failures lock the email: even the right password is refused, and one event says so", arguments: Backend.underTest)
    func test_fiveFailures_refuseRightPassword(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        for _ in 1...4 { #expect(await h.login(ctx, f.member.email, "wrong password") == Self.wrong) }
        #expect(await h.login(ctx, f.member.email, "wrong password") == "too many attempts; try again in 1 minute")
        // Refused before the password is checked: the right one gets the same answer, no session.
        #expect(await h.login(ctx, f.member.email, Fixture.password) == "too many attempts; try again in 1 minute")
        #expect(await h.login(ctx, "  MEMBER@example.com ", Fixture.password) == "too many attempts; try again in 1 minute")
        let events = try await h.throttledEvents()
        #expect(events.count == 1)
        #expect(events.first?["user_id"] == .string(f.member.id))
        #expect(events.first?["lockout_seconds"] == .integer(60))
        let row = try await f.store.read { try $0.queryOne("SELECT * FROM events WHERE type = 'user.sign_in_throttled'") }
        #expect(try row.optionalString("workspace_id") == ctx.workspace.id)
        #expect(try row.optionalString("project_id") == f.alpha.id)
        #expect(try row.optionalString("environment") == "sandbox")
        #expect(!(try row.string("data")).contains("example.com"))
        // Only the hash of the email is stored.
        let stored = try await f.store.read { try $0.query("SELECT email_hash FROM sign_in_throttles") }.map { try $0.string("email_hash") }
        #expect(stored == [OpaqueSecret.hash("member@example.com")])
    }

    @Test("an unknown email gets the same answers at the same points, and no event", arguments: Backend.underTest)
    func test_unknownEmail_identicalBehaviour(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        var known: [String?] = []
        var unknown: [String?] = []
        for _ in 1...6 {
            known.append(await h.login(ctx, f.member.email, "wrong password"))
            unknown.append(await h.login(ctx, "nobody@example.com", "wrong password"))
        }
        #expect(known == unknown)
        #expect(unknown.last == "too many attempts; try again in 1 minute")
        #expect(try await h.throttledEvents().count == 1)
        #expect(try await h.throttleRows() == 2)
    }

    @Test("the lockout lifts after its delay; the next lockout is longer; success resets the count", arguments: Backend.underTest)
    func test_lockLifts_escalates_successResets(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        for _ in 1...5 { _ = await h.login(ctx, f.member.email, "wrong password") }
        h.clock.advance(59)
        #expect(await h.login(ctx, f.member.email, Fixture.password) == "too many attempts; try again in 1 minute")
        h.clock.advance(2)
        // While the last lockout is remembered, one more failure starts the next, twice as long.
        #expect(await h.login(ctx, f.member.email, "wrong password") == "too many attempts; try again in 2 minutes")
        h.clock.advance(121)
        #expect(await h.login(ctx, f.member.email, Fixture.password) == nil)
        #expect(try await h.throttleRows() == 0)
        // After the reset, four failures lock nothing.
        for _ in 1...4 { #expect(await h.login(ctx, f.member.email, "wrong password") == Self.wrong) }
        #expect(await h.login(ctx, f.member.email, Fixture.password) == nil)
        #expect(try await h.throttledEvents().map { $0["lockouts"] } == [.integer(1), .integer(2)])
    }

    @Test("failures older than the window are forgotten, and expired rows are cleaned up by later failures", arguments: Backend.underTest)
    func test_window_andCleanup(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        for _ in 1...4 { _ = await h.login(ctx, f.member.email, "wrong password") }
        h.clock.advance(15 * 60 + 1)
        for _ in 1...4 { #expect(await h.login(ctx, f.member.email, "wrong password") == Self.wrong) }
        h.clock.advance(15 * 60 + 1)
        #expect(await h.login(ctx, "someone@example.com", "wrong password") == Self.wrong)
        // member's row expired and went with the other email's failure.
        #expect(try await h.throttleRows() == 1)
    }

    @Test("tenancy: one email's lockout leaves other users and the same email in another Workspace alone", arguments: Backend.underTest)
    func test_lockout_isPerWorkspaceAndEmail(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        for _ in 1...5 { _ = await h.login(ctx, f.member.email, "wrong password") }
        #expect(await h.login(ctx, f.member.email, Fixture.password) == "too many attempts; try again in 1 minute")
        #expect(await h.login(ctx, "owner@example.com", "owner password 1") == nil)

        let other = try await WorkspaceAdministration(store: f.oauth.identity).createWorkspace(
            email: "globex-owner@example.com", password: "globex password 1", name: "Gia", workspaceSlug: "globex", workspaceName: "Globex")
        let caller = ConsoleCaller(actor: other.user.id, workspaceID: other.workspace.id, workspaceRole: .owner)
        let projects = ProjectAdministration(store: f.oauth.identity)
        let gamma = try await projects.createProject(caller, slug: "gamma", name: "Gamma", visibility: .public)
        let (client, _) = try await projects.createClient(caller, projectID: gamma.id, environment: .sandbox,
                                                          .init(name: "App", type: .confidential, redirectURIs: [Fixture.redirect]))
        let gammaContext = try await h.context("gamma")
        #expect(gammaContext.workspace.id != ctx.workspace.id)
        #expect(await h.login(gammaContext, f.member.email, Fixture.password, client: client) == nil)
    }

    @Test("the social sign-in proof counts towards the same lockout and is refused by it", arguments: Backend.underTest)
    func test_proofPage_throttled(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let h = try Harness(f)
        let ctx = try await h.context()
        let upstream = UpstreamProvider(workspaceID: ctx.workspace.id, projectID: f.alpha.id, environment: .sandbox, name: "Upstream",
                                        issuer: "https://upstream.example", clientID: "rp", sealedClientSecret: "sealed", scopes: ["openid", "email"])
        try await f.oauth.identity.write { tx in try tx.insert(upstream) }
        let browser = HostedInteraction.newCSRFCookie()
        let proof = OpaqueSecret.generate()
        let authz = OAuthParameters.encode(f.authorizeParameters(client: f.confidential))
        let now = h.clock.now
        try await f.oauth.write { tx in
            try tx.insert(ProviderSignInRecord(secretHash: proof.hash, kind: .proof, providerID: upstream.id, workspaceID: ctx.workspace.id,
                                               projectID: f.alpha.id, environment: .sandbox, browserHash: OpaqueSecret.hash(browser), authz: authz,
                                               userID: f.member.id, upstreamClaims: #"{"sub":"u-1","email":"member@example.com","amr":[]}"#,
                                               createdAt: now, expiresAt: now.addingTimeInterval(600)))
        }
        func prove(_ password: String) async -> String? {
            let csrf = HostedInteraction.newCSRFCookie()
            let form = OAuthParameters([("csrf_token", h.provider.interaction.csrfToken(cookie: csrf)), ("authz", authz), ("proof", proof.value),
                                        ("password", password)])
            switch await h.provider.socialSignIn.prove(ctx, form: form, csrfCookie: csrf, browserCookie: browser) {
            case .proof(let request): return request.message
            case .resume: return nil
            case let other: return "unexpected: \(other)"
            }
        }
        for _ in 1...4 { #expect(await prove("wrong password") == "the password is wrong") }
        #expect(await prove("wrong password") == "too many attempts; try again in 1 minute")
        #expect(await prove(Fixture.password) == "too many attempts; try again in 1 minute")
        // One counter per Workspace and email: the hosted login is locked too.
        #expect(await h.login(ctx, f.member.email, Fixture.password) == "too many attempts; try again in 1 minute")
        #expect(try await h.throttledEvents().count == 1)
        h.clock.advance(61)
        #expect(await prove(Fixture.password) == nil)
        #expect(try await h.throttleRows() == 0)
    }
}
