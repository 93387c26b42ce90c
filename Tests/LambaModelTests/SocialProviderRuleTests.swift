import Foundation
import LambaJOSE
import LambaPasswords
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// Social providers as operators configure them, and the invalidation triggers and guard they take
/// part in (docs/sessions-and-scopes.md#sign-in-method-changed, docs/access-model.md#auth-method-guard),
/// each proven on SQLite and on PostgreSQL. The sign-in flows themselves are tested over HTTP.
@Suite("social provider rules")
struct SocialProviderRuleTests {
    static let noNetwork: UpstreamProviderAdministration.IssuerCheck = { _, _ in }

    static func administration(_ world: World) throws -> UpstreamProviderAdministration {
        UpstreamProviderAdministration(store: world.identity, masterKey: try MasterKey(bytes: Array(repeating: 7, count: 32)))
    }

    static func provider(_ world: World, _ project: Project, _ environment: LambaModel.Environment = .sandbox,
                         name: String = "Upstream") async throws -> UpstreamProvider {
        var settings = UpstreamProviderAdministration.Settings()
        settings.name = name
        settings.issuer = "https://idp.example.com"
        settings.clientID = "lamba-client"
        settings.clientSecret = "upstream secret value"
        return try await administration(world).createProvider(world.owner, projectID: project.id, environment: environment, settings,
                                                              checkIssuer: noNetwork).provider
    }

    /// Links an upstream account to a user, as a first social sign-in does.
    static func link(_ world: World, _ user: LambaUser, _ provider: UpstreamProvider, subject: String) async throws {
        let context = AccountLinking.Context(workspaceID: provider.workspaceID, projectID: provider.projectID, environment: provider.environment,
                                             sessionID: nil)
        _ = try await world.identity.write { tx in
            try AccountLinking.link(tx, user: user, provider: provider, subject: subject, email: user.email, context)
        }
    }

    /// A session established through `method` and a runtime scope under it in the Project environment.
    static func scope(_ world: World, _ user: LambaUser, _ project: Project, _ environment: LambaModel.Environment = .sandbox,
                      method: AuthMethod) async throws -> RuntimeScope {
        let workspaceID = world.owner.workspaceID
        return try await world.identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: workspaceID, userID: user.id,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: [], createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil, signInMethod: method)
            try tx.insert(session)
            let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: user.id, workspaceID: workspaceID,
                                     projectID: project.id, environment: environment, applicationID: "cli_audit_only", authTime: now,
                                     createdAt: now, revokedAt: nil, revokeReason: nil)
            try tx.insert(scope)
            return scope
        }
    }

    static func isActive(_ world: World, _ scope: RuntimeScope) async throws -> Bool {
        try await world.identity.read { tx in try tx.runtimeScope(id: scope.id)?.isActive ?? false }
    }

    @Test("a provider's client secret is sealed at rest, bound to the provider, and never stored in the clear", arguments: Backend.underTest)
    func clientSecret_isSealedAndBound(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal", .public)
            let provider = try await Self.provider(world, project)
            let key = try MasterKey(bytes: Array(repeating: 7, count: 32))
            #expect(try provider.clientSecret(masterKey: key) == "upstream secret value")
            let stored = try await world.store.read { try $0.queryOne("SELECT client_secret_sealed FROM upstream_providers").string("client_secret_sealed") }
            #expect(!stored.contains("upstream secret value"))
            var moved = provider
            moved.id = EntityID.generate(.upstreamProvider)
            #expect(throws: (any Error).self) { try moved.clientSecret(masterKey: key) }
            let settings = try await world.projects.environment(world.owner, projectID: project.id, environment: .sandbox)
            #expect(settings.authMethods == [.password, .provider(provider.id)])
        }
    }

    @Test("issuers must be https; http only for a loopback host in sandbox", arguments: Backend.underTest)
    func issuerURL_isValidated(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            var settings = UpstreamProviderAdministration.Settings()
            settings.name = "Local"
            settings.clientID = "c"
            settings.clientSecret = "s"
            let administration = try Self.administration(world)
            for (issuer, environment) in [("http://idp.example.com", LambaModel.Environment.sandbox), ("http://127.0.0.1:9000/p/x/sandbox", .production),
                                          ("ftp://idp.example.com", .sandbox), ("https://user:pw@idp.example.com", .sandbox)] {
                settings.issuer = issuer
                await expectDomainError({ $0.isInvalid(field: "issuer") }) {
                    _ = try await administration.createProvider(world.owner, projectID: project.id, environment: environment, settings,
                                                                checkIssuer: Self.noNetwork)
                }
            }
            settings.issuer = "http://127.0.0.1:9000/p/x/sandbox"
            _ = try await administration.createProvider(world.owner, projectID: project.id, environment: .sandbox, settings, checkIssuer: Self.noNetwork)
            // auth_methods accept only providers of the same environment.
            let production = try await Self.provider(world, project, .production)
            var changes = ProjectAdministration.EnvironmentChanges()
            changes.authMethods = [.password, .provider(production.id)]
            await expectDomainError({ $0.isInvalid(field: "auth_methods") }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .sandbox, changes)
            }
        }
    }

    @Test("auth-method guard: disabling a provider counts active runtime Project Members of the selected environment only", arguments: Backend.underTest)
    func authMethodGuard_countsRuntimeMembersOfTheSelectedEnvironmentOnly(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal", .public)
            let sandbox = try await Self.provider(world, project, .sandbox)
            let production = try await Self.provider(world, project, .production)
            let administration = try Self.administration(world)
            // Everyone here signs in only through a provider (no password).
            let member = try await world.user("member@example.com")
            _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: member.email, roles: nil)
            try await Self.link(world, member, sandbox, subject: "m-1")
            let teamOnly = try await world.user("operator@example.com")
            let workspaceID = world.owner.workspaceID
            try await world.identity.write { tx in try tx.insert(TeamMember(workspaceID: workspaceID, userID: teamOnly.id, workspaceRole: .viewer)) }
            try await Self.link(world, teamOnly, sandbox, subject: "t-1")
            let productionMember = try await world.user("prod@example.com")
            _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: productionMember.email, roles: nil)
            try await Self.link(world, productionMember, production, subject: "p-1")
            // The guard counts the runtime members left with no sandbox path: member, and productionMember, whose only link is
            // to production's provider (the selected environment's config decides). The Team Member does not count.
            var disable = UpstreamProviderAdministration.Settings()
            disable.enabled = false
            do {
                _ = try await administration.updateProvider(world.owner, projectID: project.id, environment: .sandbox, providerID: sandbox.id, disable,
                                                            checkIssuer: Self.noNetwork)
                Issue.record("disabling the only path of a runtime member was allowed")
            } catch let error as DomainError {
                guard case .refused(let message) = error else { Issue.record("unexpected \(error)"); return }
                // member and productionMember are runtime members of the Project without a sandbox path once it is off;
                // the Team-Member-only user does not count.
                #expect(message.hasPrefix("2 active project members of sandbox"), "\(message)")
                #expect(message.contains("/me/providers"))
            }
            // Giving the sandbox member a password and removing the production member from the Project lets it through.
            try await world.identity.write { tx in
                var user = try #require(try tx.user(id: member.id))
                user.passwordHash = try PasswordHasher.hash("a long password 1")
                try tx.update(user)
            }
            let productionMembership = try #require(try await world.identity.read { tx in
                try tx.projectMember(projectID: project.id, userID: productionMember.id)
            })
            try await world.members.removeProjectMember(world.owner, projectID: project.id, memberID: productionMembership.id)
            let updated = try await administration.updateProvider(world.owner, projectID: project.id, environment: .sandbox, providerID: sandbox.id,
                                                                  disable, checkIssuer: Self.noNetwork)
            #expect(updated.enabled == false)
            // The production environment's config is its own: its provider is still enabled there.
            let productionSettings = try await world.projects.environment(world.owner, projectID: project.id, environment: .production)
            #expect(productionSettings.authMethods.contains(.provider(production.id)))
            // And in production, the guard counts production's links: disabling production's provider strands nobody active there now.
            let removed = try await world.identity.read { tx in try tx.projectMember(projectID: project.id, userID: productionMember.id)?.status }
            #expect(removed == .removed)
        }
    }

    @Test("environment PATCH: removing a provider from auth_methods is guarded by linked accounts", arguments: Backend.underTest)
    func environmentUpdate_guardCountsLinkedProviders(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal", .public)
            let upstream = try await Self.provider(world, project)
            let social = try await world.user("social@example.com")
            _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: social.email, roles: nil)
            try await Self.link(world, social, upstream, subject: "s-1")
            let password = try await world.user("pw@example.com", password: "a long password 1")
            _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: password.email, roles: nil)
            var changes = ProjectAdministration.EnvironmentChanges()
            changes.authMethods = [.password]
            await expectDomainError({ if case .refused(let m) = $0 { m.hasPrefix("1 active project members") && m.contains(upstream.method.description) } else { false } }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .sandbox, changes)
            }
            changes.authMethods = [.provider(upstream.id)]
            await expectDomainError({ if case .refused(let m) = $0 { m.hasPrefix("1 active project members") && m.contains("password") } else { false } }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .sandbox, changes)
            }
        }
    }

    @Test("trigger: a provider setting change revokes the scopes signed in through it in its environment, and nothing else", arguments: Backend.underTest)
    func providerChange_revokesItsScopesOnly(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal", .public)
            let game = try await world.project("game", .public)
            let upstream = try await Self.provider(world, portal)
            let other = try await Self.provider(world, portal, name: "Other")
            let user = try await world.user("u@example.com", password: "a long password 1")
            let bystander = try await world.user("b@example.com", password: "a long password 2")
            for person in [user, bystander] {
                for project in [portal, game] {
                    _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: person.email, roles: nil)
                }
            }
            let viaProvider = try await Self.scope(world, user, portal, method: upstream.method)
            let viaProviderProduction = try await Self.scope(world, user, portal, .production, method: upstream.method)
            let viaProviderOtherProject = try await Self.scope(world, user, game, method: upstream.method)
            let viaPassword = try await Self.scope(world, user, portal, method: .password)
            let viaOtherProvider = try await Self.scope(world, bystander, portal, method: other.method)
            let bystanderPassword = try await Self.scope(world, bystander, portal, method: .password)
            let mark = try await world.lastSequence()

            var change = UpstreamProviderAdministration.Settings()
            change.clientID = "a-new-client"
            let updated = try await Self.administration(world).updateProvider(world.owner, projectID: portal.id, environment: .sandbox,
                                                                              providerID: upstream.id, change, checkIssuer: Self.noNetwork)
            #expect(updated.provider.trustChangedAt > upstream.trustChangedAt)
            #expect(try await Self.isActive(world, viaProvider) == false)
            for untouched in [viaProviderProduction, viaProviderOtherProject, viaPassword, viaOtherProvider, bystanderPassword] {
                #expect(try await Self.isActive(world, untouched), "\(untouched.projectID) \(untouched.environment)")
            }
            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["provider.updated", "runtime_scope.revoked"])
            let updatedEvent = try #require(events.first)
            #expect(try updatedEvent.object()["reason"] == "provider_changed" && updatedEvent.object()["runtime_scopes_revoked"] == .integer(1))
            #expect(updatedEvent.actor == world.owner.actor && updatedEvent.workspaceID == world.owner.workspaceID
                        && updatedEvent.projectID == portal.id && updatedEvent.environment == "sandbox")
            let revoked = try #require(events.last)
            #expect(revoked.sessionID == viaProvider.sessionID && revoked.environment == "sandbox" && revoked.projectID == portal.id)
            #expect(revoked.data.contains("\"reason\":\"provider_changed\""))
            #expect(revoked.data.contains(viaProvider.id))
            // A rename only is no trigger.
            var rename = UpstreamProviderAdministration.Settings()
            rename.name = "Renamed"
            let beforeRename = try await world.lastSequence()
            _ = try await Self.administration(world).updateProvider(world.owner, projectID: portal.id, environment: .sandbox, providerID: upstream.id,
                                                                    rename, checkIssuer: Self.noNetwork)
            #expect(try await world.events(after: beforeRename).map(\.type) == ["provider.updated"])
        }
    }

    @Test("trigger: deleting a provider ends its scopes and its links; a new issuer is refused while accounts are linked", arguments: Backend.underTest)
    func providerDeletion_andIssuerChange(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal", .public)
            let upstream = try await Self.provider(world, portal)
            let user = try await world.user("u@example.com", password: "a long password 1")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: user.email, roles: nil)
            try await Self.link(world, user, upstream, subject: "sub-1")
            var move = UpstreamProviderAdministration.Settings()
            move.issuer = "https://elsewhere.example.com"
            await expectDomainError({ $0.isRefused }) {
                _ = try await Self.administration(world).updateProvider(world.owner, projectID: portal.id, environment: .sandbox, providerID: upstream.id,
                                                                        move, checkIssuer: Self.noNetwork)
            }
            let scope = try await Self.scope(world, user, portal, method: upstream.method)
            let mark = try await world.lastSequence()
            try await Self.administration(world).deleteProvider(world.owner, projectID: portal.id, environment: .sandbox, providerID: upstream.id)
            #expect(try await Self.isActive(world, scope) == false)
            #expect(try await world.identity.read { tx in try tx.linkedIdentities(userID: user.id) }.isEmpty)
            // One trigger event (the sign-in methods lose the provider) with what ended, its scope's event, then the deletion.
            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["environment.updated", "runtime_scope.revoked", "provider.deleted"])
            let trigger = try events[0].object()
            #expect(trigger["reason"] == "provider_deleted" && trigger["runtime_scopes_revoked"] == .integer(1))
            #expect(trigger["auth_methods_removed"] == .array([.string(upstream.method.description)]) && trigger["provider_id"] == .string(upstream.id))
            #expect(events[1].data.contains(scope.id) && events[1].data.contains("\"reason\":\"provider_deleted\""))
            let settings = try await world.projects.environment(world.owner, projectID: portal.id, environment: .sandbox)
            #expect(settings.authMethods == [.password])
            // Another Workspace's key cannot see it, and it is gone for its own.
            await expectDomainError({ $0.isNotFound }) {
                _ = try await Self.administration(world).provider(world.owner, projectID: portal.id, environment: .sandbox, providerID: upstream.id)
            }
        }
    }

    @Test("unlinking the last sign-in path is refused; with another path it ends the user's other sessions and writes the event",
          arguments: Backend.underTest)
    func unlink_lastPathRefused_otherwiseEndsOtherSessions(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal", .public)
            let upstream = try await Self.provider(world, portal)
            let user = try await world.user("u@example.com")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: user.email, roles: nil)
            try await Self.link(world, user, upstream, subject: "sub-1")
            let current = try await Self.scope(world, user, portal, method: upstream.method)
            let other = try await Self.scope(world, user, portal, method: upstream.method)
            let bystander = try await world.user("b@example.com", password: "a long password 2")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: bystander.email, roles: nil)
            let bystanderScope = try await Self.scope(world, bystander, portal, method: .password)
            let context = AccountLinking.Context(workspaceID: world.owner.workspaceID, projectID: portal.id, environment: .sandbox,
                                                 sessionID: current.sessionID)
            await expectDomainError({ $0.isRefused }) {
                try await world.identity.write { tx in try AccountLinking.unlink(tx, userID: user.id, providerID: upstream.id, context) }
            }
            // A password only counts while password sign-in is enabled in the environment.
            try await world.identity.write { tx in
                var stored = try #require(try tx.user(id: user.id))
                stored.passwordHash = try PasswordHasher.hash("a long password 1")
                try tx.update(stored)
            }
            // (Set directly: the guard would refuse this change for the password-only bystander.)
            func setMethods(_ methods: [AuthMethod]) async throws {
                try await world.identity.write { tx in
                    var settings = try #require(try tx.environmentSettings(projectID: portal.id, environment: .sandbox))
                    settings.authMethods = methods
                    try tx.save(settings)
                }
            }
            try await setMethods([.provider(upstream.id)])
            await expectDomainError({ $0.isRefused }) {
                try await world.identity.write { tx in try AccountLinking.unlink(tx, userID: user.id, providerID: upstream.id, context) }
            }
            try await setMethods([.password, .provider(upstream.id)])
            let current2 = try await Self.scope(world, user, portal, method: upstream.method)
            let other2 = try await Self.scope(world, user, portal, method: .password)
            let bystander2 = try await Self.scope(world, bystander, portal, method: .password)
            _ = (other, bystanderScope)
            let mark = try await world.lastSequence()
            let context2 = AccountLinking.Context(workspaceID: world.owner.workspaceID, projectID: portal.id, environment: .sandbox,
                                                  sessionID: current2.sessionID)
            try await world.identity.write { tx in try AccountLinking.unlink(tx, userID: user.id, providerID: upstream.id, context2) }
            #expect(try await Self.isActive(world, current2))
            #expect(try await Self.isActive(world, other2) == false)
            #expect(try await Self.isActive(world, bystander2))
            let sessions = try await world.identity.read { tx in
                (try tx.identitySession(id: current2.sessionID), try tx.identitySession(id: other2.sessionID))
            }
            #expect(sessions.0?.revokedAt == nil && sessions.1?.revokedAt != nil)
            let events = try await world.events(after: mark)
            #expect(events.map(\.type).contains("session.revoked"))
            let unlinked = try #require(events.first { $0.type == "user.provider_unlinked" })
            #expect(unlinked.actor == user.id && unlinked.workspaceID == world.owner.workspaceID && unlinked.projectID == portal.id
                        && unlinked.environment == "sandbox" && unlinked.sessionID == current2.sessionID)
            #expect(try await world.identity.read { tx in try tx.linkedIdentities(userID: user.id) }.isEmpty)
        }
    }
}
