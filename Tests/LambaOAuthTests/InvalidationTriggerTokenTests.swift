import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaPasswords
import LambaStore
import LambaStoreTestSupport
import Testing

/// The invalidation triggers (docs/sessions-and-scopes.md#invalidation-triggers) seen from real issued
/// tokens: after each trigger, the tokens it must end are inactive at introspection, refused at userinfo
/// and the access check, and their refresh tokens are refused at once; the tokens it must leave alone keep
/// working. The revocation state and events themselves are proven in LambaModelTests
/// (`InvalidationTriggerTests`).
@Suite("invalidation triggers, token level", .serialized)
struct InvalidationTriggerTokenTests {
    /// Mia (the fixture's member of alpha and beta) and Olaf (a second member of alpha), each with
    /// real tokens: Mia in alpha sandbox, alpha production and beta sandbox; Olaf in alpha sandbox.
    struct Tokens: Sendable {
        let f: Fixture
        let other: LambaUser
        let otherMember: ProjectMember
        let miaAlpha: Issued
        let miaProduction: Issued
        let miaBeta: Issued
        let olafAlpha: Issued

        static func make(_ backend: Backend) async throws -> Tokens {
            let f = try await Fixture.make(backend)
            let other = LambaUser(email: "olaf@example.com", emailVerified: true, name: "Olaf", passwordHash: try PasswordHasher.hash(Fixture.password))
            try await f.oauth.identity.write { tx in try tx.insert(other) }
            let otherMember = try await MemberLifecycle(store: f.oauth.identity).admitExistingUser(f.caller, projectID: f.alpha.id, email: other.email,
                                                                                                    roles: ["member"])
            return Tokens(
                f: f, other: other, otherMember: otherMember,
                miaAlpha: try await f.issue("alpha", "sandbox", f.confidential, f.confidentialSecret),
                miaProduction: try await f.issue("alpha", "production", f.productionClient, f.productionSecret),
                miaBeta: try await f.issue("beta", "sandbox", f.betaClient, f.betaSecret),
                olafAlpha: try await f.issue("alpha", "sandbox", f.confidential, f.confidentialSecret, email: other.email))
        }

        var all: [Issued] { [miaAlpha, miaProduction, miaBeta, olafAlpha] }
    }

    @Test("trigger: membership role changed — Mia's alpha tokens (both environments) die; her beta tokens and Olaf's live", arguments: Backend.underTest)
    func test_trigger_roleChanged_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        try await t.f.expectAlive(t.all)
        _ = try await MemberLifecycle(store: t.f.oauth.identity).changeProjectMemberRoles(t.f.caller, projectID: t.f.alpha.id,
                                                                                           memberID: t.f.memberRecord.id, roles: ["viewer"])
        try await t.f.expectDead([t.miaAlpha, t.miaProduction])
        try await t.f.expectAlive([t.miaBeta, t.olafAlpha])
        try await t.f.expectRefresh(dead: [t.miaAlpha, t.miaProduction], alive: [t.miaBeta, t.olafAlpha])
    }

    @Test("trigger: membership removed — Mia's alpha tokens die; her beta tokens and Olaf's live", arguments: Backend.underTest)
    func test_trigger_memberRemoved_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        try await MemberLifecycle(store: t.f.oauth.identity).removeProjectMember(t.f.caller, projectID: t.f.alpha.id, memberID: t.f.memberRecord.id)
        try await t.f.expectDead([t.miaAlpha, t.miaProduction])
        try await t.f.expectAlive([t.miaBeta, t.olafAlpha])
        try await t.f.expectRefresh(dead: [t.miaAlpha, t.miaProduction], alive: [t.miaBeta, t.olafAlpha])
    }

    @Test("trigger: forced logout — every token of every user and Project of the Workspace dies, and the session cookie signs in no more", arguments: Backend.underTest)
    func test_trigger_forcedLogout_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        let counts = try await WorkspaceAdministration(store: t.f.oauth.identity).forceLogout(t.f.caller)
        #expect(counts.sessions == 4 && counts.scopes == 4)
        try await t.f.expectDead(t.all)
        try await t.f.expectRefresh(dead: t.all, alive: [])
        // The global session ended: authorize asks for a login again.
        let ctx = try await t.f.context()
        let outcome = await t.f.authorize(ctx, t.f.authorizeParameters(client: t.f.confidential, prompt: "none"), session: t.miaAlpha.session)
        #expect(outcome.redirectParameters?["error"] == "login_required")
    }

    @Test("trigger: Workspace deactivated — its issuers answer not found, so no token of it is accepted anywhere", arguments: Backend.underTest)
    func test_trigger_workspaceDeactivated_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        try await WorkspaceAdministration(store: t.f.oauth.identity).deactivateWorkspace(t.f.caller)
        for (slug, environment) in [("alpha", "sandbox"), ("alpha", "production"), ("beta", "sandbox")] {
            await #expect(throws: OAuthError.self) { _ = try await t.f.context(slug, environment) }
        }
        // And the state behind them is revoked too, should the Workspace come back.
        let scopes = try await t.f.oauth.identity.read { tx in try t.all.map { try tx.runtimeScope(id: $0.sid) } }
        #expect(scopes.allSatisfy { $0?.revokeReason == "workspace_deactivated" })
    }

    @Test("trigger: Project deactivated — alpha's issuers are gone and its scopes revoked; beta tokens live", arguments: Backend.underTest)
    func test_trigger_projectDeactivated_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        _ = try await ProjectAdministration(store: t.f.oauth.identity).deactivateProject(t.f.caller, projectID: t.f.alpha.id)
        await #expect(throws: OAuthError.self) { _ = try await t.f.context("alpha", "sandbox") }
        await #expect(throws: OAuthError.self) { _ = try await t.f.context("alpha", "production") }
        let scopes = try await t.f.oauth.identity.read { tx in try [t.miaAlpha, t.miaProduction, t.olafAlpha].map { try tx.runtimeScope(id: $0.sid) } }
        #expect(scopes.allSatisfy { $0?.revokeReason == "project_deactivated" })
        try await t.f.expectAlive([t.miaBeta])
        try await t.f.expectRefresh(dead: [], alive: [t.miaBeta])
    }

    @Test("trigger: login method changed — disabling a provider in alpha sandbox ends its sign-ins there; removing password ends password sign-ins only", arguments: Backend.underTest)
    func test_trigger_loginMethodChanged_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        let projects = ProjectAdministration(store: t.f.oauth.identity)
        // Corp in each alpha environment, enabled beside password.
        let corp = try await t.f.upstreamProvider(.sandbox)
        let corpProduction = try await t.f.upstreamProvider(.production)
        try await t.f.expectAlive(t.all)
        // Olaf signed in through alpha sandbox's Corp (its amr says pwd: he typed a password upstream), then used
        // that session in both environments.
        let federated = try await t.f.federatedSession(userID: t.other.id, method: corp.method)
        let olafFedSandbox = try await t.f.issue("alpha", "sandbox", t.f.confidential, t.f.confidentialSecret, session: federated)
        let olafFedProduction = try await t.f.issue("alpha", "production", t.f.productionClient, t.f.productionSecret, session: federated)

        var disable = ProjectAdministration.EnvironmentChanges()
        disable.authMethods = [.password]
        _ = try await projects.updateEnvironment(t.f.caller, projectID: t.f.alpha.id, environment: .sandbox, disable)
        try await t.f.expectDead([olafFedSandbox])
        try await t.f.expectAlive(t.all + [olafFedProduction])

        // Disabling password in production while Mia and Olaf rely on it is refused and ends nothing.
        var passwordOff = ProjectAdministration.EnvironmentChanges()
        passwordOff.authMethods = [corpProduction.method]
        await #expect(throws: DomainError.refused(
            "2 active project members of production would have no way to sign in (they use: password); keep one of these methods, "
                + "or have them add another sign-in method first (a password, a passkey, or a provider linked at /me/providers)")) {
            _ = try await projects.updateEnvironment(t.f.caller, projectID: t.f.alpha.id, environment: .production, passwordOff)
        }
        try await t.f.expectAlive(t.all + [olafFedProduction])

        // Once both linked production's Corp, it goes through: Mia's password tokens in production die; Olaf's
        // provider session there, and everything in sandbox and beta, live.
        for (user, subject) in [(t.f.member, "mia"), (t.other, "olaf")] {
            try await t.f.oauth.identity.write { tx in
                try tx.insert(LinkedIdentity(userID: user.id, workspaceID: corpProduction.workspaceID, projectID: corpProduction.projectID,
                                             environment: .production, providerID: corpProduction.id, subject: subject, email: user.email))
            }
        }
        _ = try await projects.updateEnvironment(t.f.caller, projectID: t.f.alpha.id, environment: .production, passwordOff)
        try await t.f.expectDead([olafFedSandbox, t.miaProduction])
        try await t.f.expectAlive([t.miaAlpha, t.miaBeta, t.olafAlpha, olafFedProduction])
        try await t.f.expectRefresh(dead: [olafFedSandbox, t.miaProduction], alive: [t.miaAlpha, t.miaBeta, t.olafAlpha, olafFedProduction])
    }

    @Test("trigger: Project scope revoked — tokens of that scope die for every client; the session re-enters only explicitly", arguments: Backend.underTest)
    func test_trigger_projectScopeRevoked_tokens(backend: Backend) async throws {
        let t = try await Tokens.make(backend)
        defer { Task { await t.f.close() } }
        // A second client of alpha sandbox in the same scope: revocation is by Project scope, not by client.
        let ctx = try await t.f.context()
        let code = try await t.f.code(ctx, client: t.f.publicClient, session: t.miaAlpha.session)
        let body = await t.f.exchange(ctx, code: code, client: t.f.publicClient).object
        let publicAccess = try #require(body["access_token"]?.stringValue)
        #expect(try await t.f.introspect(ctx, publicAccess)["sid"] == .string(t.miaAlpha.sid))

        _ = try await MemberLifecycle(store: t.f.oauth.identity).revokeRuntimeScope(t.f.caller, projectID: t.f.alpha.id, scopeID: t.miaAlpha.sid)
        try await t.f.expectDead([t.miaAlpha])
        #expect(try await t.f.introspect(ctx, publicAccess)["active"] == .bool(false))
        try await t.f.expectAlive([t.miaProduction, t.miaBeta, t.olafAlpha])
        try await t.f.expectRefresh(dead: [t.miaAlpha], alive: [t.miaProduction, t.miaBeta, t.olafAlpha])
        // No auto-heal: a silent authorize from the still-valid session does not mint a new scope.
        let outcome = await t.f.authorize(ctx, t.f.authorizeParameters(client: t.f.confidential, prompt: "none"), session: t.miaAlpha.session)
        #expect(outcome.redirectParameters?["error"] == "login_required")
    }

    @Test("login method: a password session does not enter an environment where password sign-in is off", arguments: Backend.underTest)
    func test_passwordSession_doesNotEnterEnvironmentWithoutPassword(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        // beta sandbox offers only the provider; with no members yet the guard allows it.
        let projects = ProjectAdministration(store: f.oauth.identity)
        let lifecycle = MemberLifecycle(store: f.oauth.identity)
        try await lifecycle.removeProjectMember(f.caller, projectID: f.beta.id,
                                                memberID: try #require(try await f.oauth.identity.read { tx in
                                                    try tx.projectMember(projectID: f.beta.id, userID: f.member.id)?.id }))
        let corp = try await f.upstreamProvider(.sandbox, projectID: f.beta.id)
        var providerOnly = ProjectAdministration.EnvironmentChanges()
        providerOnly.authMethods = [corp.method]
        _ = try await projects.updateEnvironment(f.caller, projectID: f.beta.id, environment: .sandbox, providerOnly)
        // Mia signed in with her password at alpha; the same cookie at beta sandbox counts as no session.
        let alpha = try await f.context()
        let session = try await f.login(alpha, client: f.confidential)
        let beta = try await f.context("beta", "sandbox")
        let outcome = await f.authorize(beta, f.authorizeParameters(client: f.betaClient, prompt: "none"), session: session)
        #expect(outcome.redirectParameters?["error"] == "login_required")
        let scopes = try await f.oauth.identity.read { tx in try tx.runtimeScopes(userID: f.member.id, activeOnly: true) }
        #expect(scopes.map(\.projectID) == [f.alpha.id], "no scope was created in beta")
    }
}

/// Tokens from one code exchange, with the session cookie behind them.
struct Issued: Sendable {
    let context: ProviderContext
    let client: OAuthClient
    let secret: String
    let session: String
    let access: String
    let refresh: String
    let sid: String
}

extension Fixture {
    /// Signs in (password, or the given session cookie), authorizes and exchanges the code.
    func issue(_ slug: String, _ environment: String, _ client: OAuthClient, _ secret: String, email: String? = nil,
               session: String? = nil) async throws -> Issued {
        let ctx = try await context(slug, environment)
        let cookie: String
        if let session { cookie = session } else { cookie = try await login(ctx, client: client, email: email) }
        let code = try await code(ctx, client: client, session: cookie)
        let response = await tokenRequest(ctx, client: client, secret: secret, [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.redirectURIs[0]), ("code_verifier", Fixture.verifier),
        ])
        guard response.status == 200 else { throw TestFailure("exchange failed: \(String(decoding: response.body, as: UTF8.self))") }
        let body = response.object
        guard let access = body["access_token"]?.stringValue, let refresh = body["refresh_token"]?.stringValue else { throw TestFailure("no tokens") }
        let introspected = await provider.introspection.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", access)]),
                                                                               authorization: basic(client, secret)), ctx, isForm: true)
        guard let sid = introspected.object["sid"]?.stringValue else { throw TestFailure("no sid") }
        return Issued(context: ctx, client: client, secret: secret, session: cookie, access: access, refresh: refresh, sid: sid)
    }

    /// A global session signed in through an upstream provider (`method`); returns its cookie. Its
    /// `amr` is the upstream's, here `pwd`: what the user did there says nothing about how they
    /// signed in here, the recorded sign-in method does.
    func federatedSession(userID: String, method: AuthMethod) async throws -> String {
        let secret = OpaqueSecret.generate(prefix: "lmb_ss_")
        let workspaceID = caller.workspaceID
        try await oauth.identity.write { tx in
            let now = Date()
            try tx.insert(IdentitySession(id: EntityID.generate(.identitySession), workspaceID: workspaceID, userID: userID, tokenHash: secret.hash,
                                          authTime: now, amr: ["pwd"], createdAt: now, expiresAt: now.addingTimeInterval(3600), revokedAt: nil,
                                          revokeReason: nil, signInMethod: method))
        }
        return secret.value
    }

    /// A social provider "Corp" of a Project environment (alpha unless told), enabled, created through
    /// its administration without a network check of its issuer.
    func upstreamProvider(_ environment: LambaModel.Environment, projectID: String? = nil) async throws -> UpstreamProvider {
        var settings = UpstreamProviderAdministration.Settings()
        settings.name = "Corp"
        settings.issuer = "https://corp.example.com"
        settings.clientID = "lamba"
        settings.clientSecret = "upstream secret value"
        let administration = UpstreamProviderAdministration(store: oauth.identity, masterKey: try MasterKey(bytes: Array(repeating: 7, count: 32)))
        return try await administration.createProvider(caller, projectID: projectID ?? alpha.id, environment: environment, settings,
                                                       checkIssuer: { _, _ in }).provider
    }

    func introspect(_ issued: Issued, _ token: String) async throws -> JSONObject {
        let response = await provider.introspection.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", token)]),
                                                                           authorization: basic(issued.client, issued.secret)), issued.context, isForm: true)
        return try JSON.decodeObject(response.body)
    }

    func check(_ issued: Issued) async throws -> JSONObject {
        let response = await provider.accessCheck.handle(
            EndpointRequest(method: "POST", parameters: OAuthParameters([("token", issued.access), ("permission", "project:read")]),
                            authorization: basic(issued.client, issued.secret)), issued.context)
        return try JSON.decodeObject(response.body)
    }

    func expectAlive(_ tokens: [Issued], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for issued in tokens {
            let access = try await introspect(issued, issued.access)
            #expect(access["active"] == .bool(true) && access["sid"] == .string(issued.sid), "\(issued.sid) access", sourceLocation: sourceLocation)
            #expect(try await introspect(issued, issued.refresh)["active"] == .bool(true), "\(issued.sid) refresh", sourceLocation: sourceLocation)
            #expect(await userinfo(issued.context, issued.access).status == 200, sourceLocation: sourceLocation)
            #expect(try await check(issued)["allowed"] == .bool(true), sourceLocation: sourceLocation)
        }
    }

    /// `runtimeScopeIsLive` for the token's scope, as the refresh grant asks it inside its write.
    func isLive(_ issued: Issued, userID: String? = nil, environment: LambaModel.Environment? = nil) async throws -> Bool {
        let context = issued.context
        return try await oauth.identity.read { tx -> Bool in
            guard let scope = try tx.runtimeScope(id: issued.sid) else { return false }
            return try tx.runtimeScopeIsLive(id: scope.id, userID: userID ?? scope.userID, projectID: context.project.id,
                                             environment: environment ?? context.environment)
        }
    }

    func expectDead(_ tokens: [Issued], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for issued in tokens {
            #expect(try await introspect(issued, issued.access) == ["active": false], "\(issued.sid) access", sourceLocation: sourceLocation)
            #expect(try await introspect(issued, issued.refresh) == ["active": false], "\(issued.sid) refresh", sourceLocation: sourceLocation)
            let info = await userinfo(issued.context, issued.access)
            #expect(info.status == 401 && info.errorCode == "invalid_token", sourceLocation: sourceLocation)
            let decision = try await check(issued)
            #expect(decision["allowed"] == .bool(false) && decision["reason"] == "scope_revoked", sourceLocation: sourceLocation)
        }
    }

    /// The refresh grant last (it rotates): refused for the dead, a new pair for the living. First,
    /// the one-query re-check that the grant's write makes agrees with reading the records.
    func expectRefresh(dead: [Issued], alive: [Issued], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for issued in dead {
            #expect(try await isLive(issued) == false, "\(issued.sid) re-check", sourceLocation: sourceLocation)
        }
        for issued in alive {
            #expect(try await isLive(issued) == true, "\(issued.sid) re-check", sourceLocation: sourceLocation)
            let other: LambaModel.Environment = issued.context.environment == .sandbox ? .production : .sandbox
            #expect(try await isLive(issued, environment: other) == false, "\(issued.sid) in the other environment", sourceLocation: sourceLocation)
            #expect(try await isLive(issued, userID: "usr_someone_else") == false, "\(issued.sid) for another user", sourceLocation: sourceLocation)
        }
        for issued in dead {
            let response = await tokenRequest(issued.context, client: issued.client, secret: issued.secret,
                                              [("grant_type", "refresh_token"), ("refresh_token", issued.refresh)])
            #expect(response.status == 400 && response.errorCode == "invalid_grant", "\(issued.sid)", sourceLocation: sourceLocation)
        }
        for issued in alive {
            let response = await tokenRequest(issued.context, client: issued.client, secret: issued.secret,
                                              [("grant_type", "refresh_token"), ("refresh_token", issued.refresh)])
            #expect(response.status == 200 && response.object["refresh_token"] != nil, "\(issued.sid)", sourceLocation: sourceLocation)
        }
    }
}
