import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Testing

/// The refresh grant's optional reuse grace (OAuth 2.0 Security BCP §4.14.2 allows a server to
/// soften reuse detection; Hydra and Auth0 offer the same): off by default, one retry of a rotated
/// token's direct parent within the grace, reuse detection everywhere else.
@Suite("Refresh token reuse grace (RFC 6749 §6, Security BCP §4.14.2)")
struct RefreshTokenReuseGraceTests {
    /// The fixture's provider on the same store, with a clock the test moves.
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var offset: TimeInterval = 0
        func advance(_ seconds: TimeInterval) { lock.withLock { offset += seconds } }
        func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }
    }

    func setGrace(_ f: Fixture, _ seconds: Int) async throws {
        var changes = ProjectAdministration.EnvironmentChanges()
        changes.refreshTokenReuseGraceSeconds = seconds
        _ = try await ProjectAdministration(store: f.oauth.identity).updateEnvironment(f.caller, projectID: f.alpha.id, environment: .sandbox, changes)
    }

    func events(_ f: Fixture, _ type: String) async throws -> Int {
        try await f.store.read { r in try r.query("SELECT id FROM events WHERE type = $1", [.text(type)]) }.count
    }

    @Test("test_reuseGrace_isOffByDefault_soARetryRevokesTheFamily", arguments: Backend.underTest)
    func test_reuseGrace_isOffByDefault(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        #expect(ctx.settings.refreshTokenReuseGraceSeconds == nil)
        let refresh1 = try #require(try await f.tokens(ctx).body["refresh_token"]?.stringValue)
        let refresh2 = try #require(await f.refresh(ctx, refresh1).object["refresh_token"]?.stringValue)
        #expect(await f.refresh(ctx, refresh1).errorCode == "invalid_grant")
        #expect(await f.refresh(ctx, refresh2).errorCode == "invalid_grant")
        #expect(try await events(f, "refresh_token.reused") == 1)
    }

    @Test("test_retryWithinGrace_yieldsAFreshSuccessor_andRevokesTheUnusedOne", arguments: Backend.underTest)
    func test_retryWithinGrace_yieldsAFreshSuccessor(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        try await setGrace(f, 30)
        let ctx = try await f.context()
        #expect(ctx.settings.refreshTokenReuseGraceSeconds == 30)
        let refresh1 = try #require(try await f.tokens(ctx).body["refresh_token"]?.stringValue)
        let first = await f.refresh(ctx, refresh1)
        let lost = try #require(first.object["refresh_token"]?.stringValue)
        // The answer was lost: the client presents its old token once more.
        let retry = await f.refresh(ctx, refresh1)
        #expect(retry.status == 200)
        let fresh = try #require(retry.object["refresh_token"]?.stringValue)
        let access = try #require(retry.object["access_token"]?.stringValue)
        #expect(fresh != lost && fresh != refresh1)
        #expect(try await events(f, "refresh_token.retried") == 1)
        #expect(try await events(f, "refresh_token.reused") == 0)
        // The unused successor is revoked; the fresh one works and the session is whole.
        #expect(await f.refresh(ctx, lost).errorCode == "invalid_grant")
        #expect(await f.userinfo(ctx, access).status == 200)
        let next = await f.refresh(ctx, fresh)
        #expect(next.status == 200)
        #expect(try await events(f, "refresh_token.reused") == 0)
    }

    @Test("test_secondRetryWithinGrace_isReuse_andRevokesTheFamily", arguments: Backend.underTest)
    func test_secondRetryWithinGrace_isReuse(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        try await setGrace(f, 30)
        let ctx = try await f.context()
        let refresh1 = try #require(try await f.tokens(ctx).body["refresh_token"]?.stringValue)
        #expect(await f.refresh(ctx, refresh1).status == 200)
        let retried = try #require(await f.refresh(ctx, refresh1).object["refresh_token"]?.stringValue)
        let again = await f.refresh(ctx, refresh1)
        #expect(again.errorCode == "invalid_grant")
        #expect(await f.refresh(ctx, retried).errorCode == "invalid_grant")
        #expect(try await events(f, "refresh_token.reused") == 1)
    }

    @Test("test_retryAfterTheSuccessorWasUsed_isReuse_evenWithinGrace", arguments: Backend.underTest)
    func test_retryAfterSuccessorUsed_isReuse(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        try await setGrace(f, 30)
        let ctx = try await f.context()
        let refresh1 = try #require(try await f.tokens(ctx).body["refresh_token"]?.stringValue)
        let refresh2 = try #require(await f.refresh(ctx, refresh1).object["refresh_token"]?.stringValue)
        let refresh3 = try #require(await f.refresh(ctx, refresh2).object["refresh_token"]?.stringValue)
        #expect(await f.refresh(ctx, refresh1).errorCode == "invalid_grant")
        #expect(await f.refresh(ctx, refresh3).errorCode == "invalid_grant")
        #expect(try await events(f, "refresh_token.reused") == 1)
    }

    @Test("test_retryPastTheGrace_isReuse", arguments: Backend.underTest)
    func test_retryPastTheGrace_isReuse(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        try await setGrace(f, 10)
        let clock = Clock()
        let provider = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: f.provider.configuration.masterKey,
                                                                           now: { clock.now() }), store: f.oauth)
        let ctx = try await provider.context(slug: "alpha", environment: "sandbox")
        let refresh1 = try #require(try await f.tokens(ctx).body["refresh_token"]?.stringValue)
        func refresh(_ token: String) async -> EndpointResponse {
            await provider.token.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "refresh_token"), ("refresh_token", token)]),
                                                        authorization: f.basic(f.confidential, f.confidentialSecret)), ctx, isForm: true)
        }
        let refresh2 = try #require(await refresh(refresh1).object["refresh_token"]?.stringValue)
        clock.advance(11)
        #expect(await refresh(refresh1).errorCode == "invalid_grant")
        #expect(await refresh(refresh2).errorCode == "invalid_grant")
        #expect(try await events(f, "refresh_token.reused") == 1)
    }

    @Test("test_reuseGrace_isBoundedWhenSet", arguments: Backend.underTest)
    func test_reuseGrace_isBounded(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        await #expect(throws: DomainError.invalid(field: "refresh_token_reuse_grace_seconds", reason: "must be between 0 and 120")) {
            try await setGrace(f, 121)
        }
        await #expect(throws: DomainError.self) { try await setGrace(f, -1) }
    }
}
