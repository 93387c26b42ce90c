import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

/// The provider caches issuers, clients, verified tokens and runtime decisions (DESIGN.md "Scale");
/// these tests prove that no change waits for a cache: every one acts on the very next request.
@Suite("Provider caches")
struct ProviderCacheTests {
    @Test("Caches: a rotated client secret, a deleted client, a changed role and a deactivated Project act on the next request", arguments: Backend.underTest)
    func test_changes_actOnTheNextRequest(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        let access = try #require(body["access_token"]?.stringValue)
        // Warm every cache: issuer, client, verified token, decision.
        for _ in 0..<2 {
            #expect(try await f.accessCheck(ctx, access, "project:write")["allowed"] == .bool(true))
            #expect(await f.tokenRequest(ctx, client: f.thirdParty, secret: f.thirdPartySecret, [("grant_type", "client_credentials")]).status == 200)
        }

        // Secret rotation: the old secret is refused at once, the new one works.
        let projects = ProjectAdministration(store: f.oauth.identity)
        let newSecret = try await projects.rotateClientSecret(f.caller, projectID: f.alpha.id, clientID: f.thirdParty.id)
        #expect(await f.tokenRequest(ctx, client: f.thirdParty, secret: f.thirdPartySecret, [("grant_type", "client_credentials")]).status == 401)
        #expect(await f.tokenRequest(ctx, client: f.thirdParty, secret: newSecret, [("grant_type", "client_credentials")]).status == 200)

        // Role change (an invalidation trigger: it ends the member's runtime scopes): the same
        // token's cached "allowed" turns into a denial, and userinfo answers invalid_token.
        #expect(await f.userinfo(ctx, access).status == 200)
        let lifecycle = MemberLifecycle(store: f.oauth.identity)
        _ = try await lifecycle.changeProjectMemberRoles(f.caller, projectID: f.alpha.id, memberID: f.memberRecord.id, roles: ["viewer"])
        let denied = try await f.accessCheck(ctx, access, "project:write")
        #expect(denied["allowed"] == .bool(false))
        #expect(denied["reason"] == .string("scope_revoked"))
        #expect(await f.userinfo(ctx, access).errorCode == "invalid_token")

        // Client deletion: its credentials stop working at once.
        try await projects.deleteClient(f.caller, projectID: f.alpha.id, clientID: f.thirdParty.id)
        #expect(await f.tokenRequest(ctx, client: f.thirdParty, secret: newSecret, [("grant_type", "client_credentials")]).status == 401)

        // Deactivation: the issuer is gone for the next request, and Project beta is untouched.
        _ = try await projects.deactivateProject(f.caller, projectID: f.alpha.id)
        await #expect(throws: OAuthError.self) { _ = try await f.context() }
        #expect(try await f.context("beta").project.id == f.beta.id)
    }

    @Test("Caches: a change another process committed on the same database acts on the next request, before any notification", arguments: Backend.underTest)
    func test_otherProcessesChange_reachesTheProvider(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        let access = try #require(body["access_token"]?.stringValue)
        #expect(try await f.accessCheck(ctx, access, "project:read")["allowed"] == .bool(true))

        // Another process: its own store on the same database, as `lamba` CLI commands open it.
        let other = try await StoreFactory.open(f.database, poolSize: 2)
        let lifecycle = MemberLifecycle(store: SQLOAuthStore(store: other).identity)
        try await lifecycle.removeProjectMember(f.caller, projectID: f.alpha.id, memberID: f.memberRecord.id)
        await other.close()

        // The next request, at once: it resolves its issuer (which reads the change counters) as
        // the server's middleware does, and must not wait for LISTEN/NOTIFY or the SQLite poll.
        let decision = try await f.accessCheck(try await f.context(), access, "project:read")
        #expect(decision["allowed"] == .bool(false))
        #expect(decision["reason"] == .string("scope_revoked") || decision["reason"] == .string("membership_removed"))
    }

    @Test("Caches: a refresh token issued here is refreshed without a read, yet another process's revocation and a concurrent reuse are decided by the write", arguments: Backend.underTest)
    func test_issuedRefreshTokens_writeDecides(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, first) = try await f.tokens(ctx)
        let revokedElsewhere = try #require(first["refresh_token"]?.stringValue)

        // Another process revokes the family on the same file; no cache has heard of it.
        let other = try await StoreFactory.open(f.database, poolSize: 2)
        try await SQLOAuthStore(store: other).write { tx in
            let token = try #require(try tx.refreshToken(hash: OpaqueSecret.hash(revokedElsewhere)))
            try tx.revokeRefreshFamily(token.familyID, at: Date())
        }
        await other.close()
        let refused = await f.refresh(ctx, revokedElsewhere)
        #expect(refused.errorCode == "invalid_grant")
        #expect(refused.object["error_description"] == .string("the refresh token was revoked"))

        // The same token presented twice at once: one rotation wins, the other is reuse, which ends
        // the runtime scope, so the winner's successor is refused too.
        let (_, second) = try await f.tokens(ctx)
        let twice = try #require(second["refresh_token"]?.stringValue)
        async let a = f.refresh(ctx, twice)
        async let b = f.refresh(ctx, twice)
        let answers = await [a, b]
        #expect(answers.map(\.status).sorted() == [200, 400])
        let winner = try #require(answers.first { $0.status == 200 }?.object["refresh_token"]?.stringValue)
        #expect(answers.first { $0.status == 400 }?.errorCode == "invalid_grant")
        #expect(await f.refresh(ctx, winner).errorCode == "invalid_grant")
        let events = try await f.store.read { r in try r.query("SELECT type FROM events WHERE type = 'refresh_token.reused'") }
        #expect(events.count == 1)
    }
}
