import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// The invalidation triggers (docs/sessions-and-scopes.md#invalidation-triggers), one test each:
/// what the trigger revokes, what it leaves alone (other Projects, other users, the other
/// environment, the global session) and the one event it writes with actor, Workspace, Project,
/// environment and session context. The auth-method guard (docs/access-model.md#auth-method-guard)
/// follows. Token-level effects are in LambaOAuthTests (`InvalidationTriggerTokenTests`).
@Suite("invalidation triggers")
struct InvalidationTriggerTests {
    /// Two Projects, two users who are members of both, and the sessions and scopes sign-in makes:
    /// Ana on a laptop (portal sandbox + production, game sandbox) and a phone (portal sandbox); Bo on
    /// one browser (portal sandbox, game sandbox).
    struct Stage: Sendable {
        let portal: Project
        let game: Project
        let ana: LambaUser
        let bo: LambaUser
        let anaPortal: ProjectMember
        let boPortal: ProjectMember
        let anaLaptop: IdentitySession
        let anaPhone: IdentitySession
        let boBrowser: IdentitySession
        let anaPortalSandbox: RuntimeScope
        let anaPortalProduction: RuntimeScope
        let anaGameSandbox: RuntimeScope
        let anaPhonePortalSandbox: RuntimeScope
        let boPortalSandbox: RuntimeScope
        let boGameSandbox: RuntimeScope

        var allScopes: [RuntimeScope] {
            [anaPortalSandbox, anaPortalProduction, anaGameSandbox, anaPhonePortalSandbox, boPortalSandbox, boGameSandbox]
        }
        var allSessions: [IdentitySession] { [anaLaptop, anaPhone, boBrowser] }

        static func make(_ world: World) async throws -> Stage {
            let portal = try await world.project("portal")
            let game = try await world.project("game")
            let ana = try await world.user("ana@example.com", password: "ana password 1")
            let bo = try await world.user("bo@example.com", password: "bo password 12")
            let anaPortal = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: ana.email, roles: [ProjectRole.member])
            let boPortal = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: bo.email, roles: [ProjectRole.member])
            _ = try await world.members.admitExistingUser(world.owner, projectID: game.id, email: ana.email, roles: [ProjectRole.member])
            _ = try await world.members.admitExistingUser(world.owner, projectID: game.id, email: bo.email, roles: [ProjectRole.member])
            let anaLaptop = try await world.session(userID: ana.id)
            let anaPhone = try await world.session(userID: ana.id)
            let boBrowser = try await world.session(userID: bo.id)
            return Stage(
                portal: portal, game: game, ana: ana, bo: bo, anaPortal: anaPortal, boPortal: boPortal,
                anaLaptop: anaLaptop, anaPhone: anaPhone, boBrowser: boBrowser,
                anaPortalSandbox: try await world.enter(anaLaptop, portal.id, .sandbox),
                anaPortalProduction: try await world.enter(anaLaptop, portal.id, .production),
                anaGameSandbox: try await world.enter(anaLaptop, game.id, .sandbox),
                anaPhonePortalSandbox: try await world.enter(anaPhone, portal.id, .sandbox),
                boPortalSandbox: try await world.enter(boBrowser, portal.id, .sandbox),
                boGameSandbox: try await world.enter(boBrowser, game.id, .sandbox))
        }
    }

    // MARK: Triggers

    @Test("trigger: membership role changed ends that member's scopes in that Project, both environments, and nothing else",
          arguments: Backend.underTest)
    func trigger_membershipRoleChanged(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let mark = try await world.lastSequence()

            _ = try await world.members.changeProjectMemberRoles(world.owner, projectID: s.portal.id, memberID: s.anaPortal.id, roles: [ProjectRole.viewer])

            let ended = [s.anaPortalSandbox, s.anaPortalProduction, s.anaPhonePortalSandbox]
            try await world.expectRevoked(ended, reason: "membership_role_changed")
            try await world.expectActive([s.anaGameSandbox, s.boPortalSandbox, s.boGameSandbox])
            try await world.expectSessionsActive(s.allSessions)
            #expect(try await world.decide(s.anaPortalSandbox).reason == "scope_revoked")
            #expect(try await world.decide(s.boPortalSandbox).allowed)
            #expect(try await world.decide(s.anaGameSandbox).allowed, "Ana's other Project keeps its scope")

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["project_member.role_changed"] + Array(repeating: "runtime_scope.revoked", count: 3))
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: s.portal.id, environment: nil)
            let data = try trigger.object()
            #expect(data["user_id"] == .string(s.ana.id))
            #expect(data["project_member_id"] == .string(s.anaPortal.id))
            #expect(data["previous_roles"] == ["member"] && data["roles"] == ["viewer"])
            #expect(data["runtime_scope_ids"] == .ids(ended.map(\.id)))
            #expect(data["session_ids"] == .ids([s.anaLaptop.id, s.anaPhone.id]), "the sessions the scopes were under; they stay active")
            #expect(data["runtime_scopes_revoked"] == .integer(3) && data["sessions_revoked"] == .integer(0))
            #expect(data["reason"] == "membership_role_changed")
            try world.expectScopeEvents(Array(events.dropFirst()), for: ended, reason: "membership_role_changed")

            // The same roles again are no change: nothing revoked, nothing written.
            let fresh = try await world.enter(s.anaLaptop, s.portal.id, .sandbox)
            let again = try await world.lastSequence()
            _ = try await world.members.changeProjectMemberRoles(world.owner, projectID: s.portal.id, memberID: s.anaPortal.id, roles: [ProjectRole.viewer])
            try await world.expectActive([fresh])
            #expect(try await world.events(after: again).isEmpty)
            // A refused change (unknown role) writes nothing and revokes nothing.
            await expectDomainError({ $0.isInvalid(field: "roles") }) {
                _ = try await world.members.changeProjectMemberRoles(world.owner, projectID: s.portal.id, memberID: s.anaPortal.id, roles: ["nope"])
            }
            try await world.expectActive([fresh])
            #expect(try await world.events(after: again).isEmpty)
        }
    }

    @Test("trigger: membership removed ends that member's scopes in that Project; other Projects, users and sessions stay",
          arguments: Backend.underTest)
    func trigger_membershipRemoved(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let mark = try await world.lastSequence()

            try await world.members.removeProjectMember(world.owner, projectID: s.portal.id, memberID: s.boPortal.id)

            try await world.expectRevoked([s.boPortalSandbox], reason: "membership_removed")
            try await world.expectActive([s.boGameSandbox, s.anaPortalSandbox, s.anaPortalProduction, s.anaGameSandbox, s.anaPhonePortalSandbox])
            try await world.expectSessionsActive(s.allSessions)
            #expect(try await world.decide(s.boPortalSandbox).reason == "scope_revoked")
            #expect(try await world.decide(s.boGameSandbox).allowed, "Bo is still a member of the other Project")
            let membership = try await world.identity.read { tx in try tx.projectMember(projectID: s.portal.id, userID: s.bo.id) }
            #expect(membership?.status == .removed)

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["project_member.removed", "runtime_scope.revoked"])
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: s.portal.id, environment: nil)
            let data = try trigger.object()
            #expect(data["user_id"] == .string(s.bo.id) && data["project_member_id"] == .string(s.boPortal.id))
            #expect(data["runtime_scope_ids"] == .ids([s.boPortalSandbox.id]))
            #expect(data["session_ids"] == .ids([s.boBrowser.id]))
            #expect(data["runtime_scopes_revoked"] == .integer(1) && data["sessions_revoked"] == .integer(0))
            try world.expectScopeEvents(Array(events.dropFirst()), for: [s.boPortalSandbox], reason: "membership_removed")

            // Removing again is not found and writes nothing.
            let again = try await world.lastSequence()
            await expectDomainError(.notFound("project member \(s.boPortal.id)")) {
                try await world.members.removeProjectMember(world.owner, projectID: s.portal.id, memberID: s.boPortal.id)
            }
            #expect(try await world.events(after: again).isEmpty)
        }
    }

    @Test("trigger: forced logout ends every session and scope of the Workspace and nothing of another Workspace",
          arguments: Backend.underTest)
    func trigger_forcedLogout(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let other = try await world.otherWorkspace(memberEmail: s.ana.email)
            // A caller without security:manage is refused and changes nothing.
            let developer = try await world.caller(.developer)
            let mark = try await world.lastSequence()
            await expectDomainError({ $0.isForbidden }) { _ = try await world.workspaces.forceLogout(developer) }
            #expect(try await world.events(after: mark).isEmpty)
            try await world.expectActive(s.allScopes)

            let counts = try await world.workspaces.forceLogout(world.owner)

            #expect(counts.sessions == 3 && counts.scopes == 6)
            try await world.expectRevoked(s.allScopes, reason: "forced_logout")
            try await world.expectSessionsRevoked(s.allSessions, reason: "forced_logout")
            try await world.expectActive([other.scope])
            try await world.expectSessionsActive([other.session])
            let workspace = try await world.identity.read { tx in try tx.workspace(id: world.owner.workspaceID) }
            #expect(workspace?.securityPosture.sessionsValidAfter != nil, "sessions started before now stay invalid")

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["workspace.forced_logout"] + Array(repeating: "runtime_scope.revoked", count: 6))
            #expect(!events.contains { $0.workspaceID == other.workspaceID }, "the other Workspace gets no event")
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: nil, environment: nil)
            let data = try trigger.object()
            #expect(data["sessions_revoked"] == .integer(3) && data["runtime_scopes_revoked"] == .integer(6))
            #expect(data["reason"] == "forced_logout" && data["workspace_id"] == .string(world.owner.workspaceID))
            try world.expectScopeEvents(Array(events.dropFirst()), for: s.allScopes, reason: "forced_logout")
        }
    }

    @Test("trigger: Workspace deactivated ends every session and scope and key of the Workspace and nothing of another",
          arguments: Backend.underTest)
    func trigger_workspaceDeactivated(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let other = try await world.otherWorkspace(memberEmail: s.bo.email)
            let admin = try await world.caller(.admin)
            let mark = try await world.lastSequence()
            await expectDomainError(.forbidden("the caller's roles do not grant workspace:lifecycle")) { try await world.workspaces.deactivateWorkspace(admin) }
            #expect(try await world.events(after: mark).isEmpty)

            try await world.workspaces.deactivateWorkspace(world.owner)

            try await world.expectRevoked(s.allScopes, reason: "workspace_deactivated")
            try await world.expectSessionsRevoked(s.allSessions, reason: "workspace_deactivated")
            try await world.expectActive([other.scope])
            try await world.expectSessionsActive([other.session])
            #expect(try await world.workspaces.authenticate(apiKey: world.boot.apiKeySecret) == nil)
            #expect(try await world.workspaces.authenticate(apiKey: other.apiKeySecret) != nil, "the other Workspace's key still works")
            #expect(try await world.decide(other.scope).allowed)

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["workspace.deactivated"] + Array(repeating: "runtime_scope.revoked", count: 6))
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: nil, environment: nil)
            let data = try trigger.object()
            #expect(data["sessions_revoked"] == .integer(3) && data["runtime_scopes_revoked"] == .integer(6))
            #expect(data["reason"] == "workspace_deactivated")
            try world.expectScopeEvents(Array(events.dropFirst()), for: s.allScopes, reason: "workspace_deactivated")
        }
    }

    @Test("trigger: Project deactivated ends every scope of that Project in both environments; sessions and the other Project stay",
          arguments: Backend.underTest)
    func trigger_projectDeactivated(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let mark = try await world.lastSequence()

            _ = try await world.projects.deactivateProject(world.owner, projectID: s.portal.id)

            let ended = [s.anaPortalSandbox, s.anaPortalProduction, s.anaPhonePortalSandbox, s.boPortalSandbox]
            try await world.expectRevoked(ended, reason: "project_deactivated")
            try await world.expectActive([s.anaGameSandbox, s.boGameSandbox])
            try await world.expectSessionsActive(s.allSessions)
            #expect(try await world.decide(s.anaGameSandbox).allowed)

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["project.deactivated"] + Array(repeating: "runtime_scope.revoked", count: 4))
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: s.portal.id, environment: nil)
            let data = try trigger.object()
            #expect(data["runtime_scopes_revoked"] == .integer(4) && data["sessions_revoked"] == .integer(0))
            #expect(data["reason"] == "project_deactivated")
            try world.expectScopeEvents(Array(events.dropFirst()), for: ended, reason: "project_deactivated")

            // Deactivating again is refused and writes nothing.
            let again = try await world.lastSequence()
            await expectDomainError(.refused("the project is deactivated")) { _ = try await world.projects.deactivateProject(world.owner, projectID: s.portal.id) }
            #expect(try await world.events(after: again).isEmpty)
        }
    }

    @Test("trigger: login method changed ends the selected environment's scopes signed in with the removed provider, and only those",
          arguments: Backend.underTest)
    func trigger_loginMethodChanged(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let corp = try await world.upstreamProvider(s.portal, .sandbox, name: "Corp", enabled: false)
            let partner = try await world.upstreamProvider(s.portal, .sandbox, name: "Partner")
            // A method enabled takes nobody's way in away: the event is written, nothing is revoked.
            var mark = try await world.lastSequence()
            var enable = ProjectAdministration.EnvironmentChanges()
            enable.authMethods = [.password, partner.method, corp.method]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, enable)
            try await world.expectActive(s.allScopes)
            var events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["environment.updated"])
            var data = try events[0].object()
            try world.expectTrigger(events[0], project: s.portal.id, environment: "sandbox")
            #expect(data["auth_methods_added"] == .array([.string(corp.method.description)]) && data["auth_methods_removed"] == [])
            #expect(data["runtime_scopes_revoked"] == .integer(0) && data["login_methods_changed"] == .bool(true))

            // Bo signs in through Corp on a second browser (the upstream's amr says pwd: he typed a password
            // there; the recorded sign-in method decides), Ana through Partner on a tablet.
            try await world.link(s.bo, corp, subject: "bo-at-corp")
            let boFederated = try await world.session(userID: s.bo.id, method: corp.method, amr: ["pwd"])
            let boFederatedPortal = try await world.enter(boFederated, s.portal.id, .sandbox)
            let boFederatedProduction = try await world.enter(boFederated, s.portal.id, .production)
            let anaTablet = try await world.session(userID: s.ana.id, method: partner.method, amr: [])
            let anaPartnerPortal = try await world.enter(anaTablet, s.portal.id, .sandbox)

            // Corp is disabled again in sandbox: only the sandbox scopes of Corp sign-ins end; Partner's and password's stay.
            mark = try await world.lastSequence()
            var disable = ProjectAdministration.EnvironmentChanges()
            disable.authMethods = [.password, partner.method]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, disable)

            try await world.expectRevoked([boFederatedPortal], reason: "login_method_changed")
            try await world.expectActive(s.allScopes + [boFederatedProduction, anaPartnerPortal])
            try await world.expectSessionsActive(s.allSessions + [boFederated, anaTablet])
            events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["environment.updated", "runtime_scope.revoked"])
            try world.expectTrigger(events[0], project: s.portal.id, environment: "sandbox")
            data = try events[0].object()
            #expect(data["auth_methods_removed"] == .array([.string(corp.method.description)]) && data["auth_methods_added"] == [])
            #expect(data["auth_methods"] == .array([.string("password"), .string(partner.method.description)]))
            #expect(data["runtime_scopes_revoked"] == .integer(1) && data["sessions_revoked"] == .integer(0))
            #expect(data["reason"] == "login_method_changed")
            try world.expectScopeEvents(Array(events.dropFirst()), for: [boFederatedPortal], reason: "login_method_changed")

            // A change that keeps the methods is no login method change: nothing is revoked.
            mark = try await world.lastSequence()
            var lifetimes = ProjectAdministration.EnvironmentChanges()
            lifetimes.authMethods = [.password, partner.method]
            lifetimes.accessTokenLifetimeSeconds = 600
            _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, lifetimes)
            try await world.expectActive(s.allScopes + [anaPartnerPortal])
            events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["environment.updated"])
            #expect(try events[0].object()["login_methods_changed"] == .bool(false))
        }
    }

    @Test("trigger: login method changed — password removed ends the password sign-ins of that environment; provider sign-ins and the other environment stay",
          arguments: Backend.underTest)
    func trigger_loginMethodChanged_passwordRemoved(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            // Both members linked Corp, so they keep a way in without password: the guard lets the change through.
            let corp = try await world.upstreamProvider(s.portal, .sandbox, name: "Corp")
            try await world.link(s.ana, corp, subject: "ana-at-corp")
            try await world.link(s.bo, corp, subject: "bo-at-corp")
            // Ana also signed in through Corp on a tablet, in both environments of portal.
            let anaTablet = try await world.session(userID: s.ana.id, method: corp.method, amr: ["pwd"])
            let anaCorpSandbox = try await world.enter(anaTablet, s.portal.id, .sandbox)
            let anaCorpProduction = try await world.enter(anaTablet, s.portal.id, .production)
            let mark = try await world.lastSequence()

            var corpOnly = ProjectAdministration.EnvironmentChanges()
            corpOnly.authMethods = [corp.method]
            let settings = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, corpOnly)
            #expect(settings.authMethods == [corp.method])

            let ended = [s.anaPortalSandbox, s.anaPhonePortalSandbox, s.boPortalSandbox]
            try await world.expectRevoked(ended, reason: "login_method_changed")
            try await world.expectActive([s.anaPortalProduction, s.anaGameSandbox, s.boGameSandbox, anaCorpSandbox, anaCorpProduction])
            try await world.expectSessionsActive(s.allSessions + [anaTablet])
            #expect(try await world.decide(anaCorpSandbox).allowed)
            #expect(try await world.decide(s.anaPortalProduction).allowed, "production still offers password")

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["environment.updated"] + Array(repeating: "runtime_scope.revoked", count: 3))
            let trigger = try #require(events.first)
            try world.expectTrigger(trigger, project: s.portal.id, environment: "sandbox")
            let data = try trigger.object()
            #expect(data["auth_methods_removed"] == ["password"] && data["auth_methods_added"] == [])
            #expect(data["auth_methods"] == .array([.string(corp.method.description)]))
            #expect(data["runtime_scopes_revoked"] == .integer(3) && data["sessions_revoked"] == .integer(0))
            #expect(data["reason"] == "login_method_changed" && data["login_methods_changed"] == .bool(true))
            try world.expectScopeEvents(Array(events.dropFirst()), for: ended, reason: "login_method_changed")
        }
    }

    @Test("trigger: disabling a provider through the environment or through its administration ends the same scopes, with one trigger event each",
          arguments: Backend.underTest)
    func trigger_providerDisabled_samePathEitherWay(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let corp = try await world.upstreamProvider(s.portal, .sandbox, name: "Corp")
            let partner = try await world.upstreamProvider(s.portal, .sandbox, name: "Partner")
            let administration = try world.providerAdministration()
            func signInThroughCorp() async throws -> (IdentitySession, sandbox: RuntimeScope, production: RuntimeScope) {
                let session = try await world.session(userID: s.bo.id, method: corp.method, amr: [])
                return (session, try await world.enter(session, s.portal.id, .sandbox), try await world.enter(session, s.portal.id, .production))
            }
            func expectEnded(_ corpScopes: (IdentitySession, sandbox: RuntimeScope, production: RuntimeScope), reason: String,
                             after mark: Int64, trailing: [String]) async throws {
                try await world.expectRevoked([corpScopes.sandbox], reason: reason)
                try await world.expectActive(s.allScopes + [corpScopes.production])
                try await world.expectSessionsActive(s.allSessions + [corpScopes.0])
                let events = try await world.events(after: mark)
                #expect(events.map(\.type) == ["environment.updated", "runtime_scope.revoked"] + trailing)
                let data = try events[0].object()
                #expect(data["auth_methods_removed"] == .array([.string(corp.method.description)]))
                #expect(data["runtime_scopes_revoked"] == .integer(1) && data["reason"] == .string(reason))
                try world.expectScopeEvents([events[1]], for: [corpScopes.sandbox], reason: reason)
                #expect(events.dropFirst(2).allSatisfy { (try? $0.object()["runtime_scopes_revoked"]) == nil }, "one trigger event only")
            }
            let enableCorp = { () async throws -> Void in
                var enable = ProjectAdministration.EnvironmentChanges()
                enable.authMethods = [.password, partner.method, corp.method]
                _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, enable)
            }

            // Through the environment.
            var corpScopes = try await signInThroughCorp()
            var mark = try await world.lastSequence()
            var disable = ProjectAdministration.EnvironmentChanges()
            disable.authMethods = [.password, partner.method]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, disable)
            try await expectEnded(corpScopes, reason: "login_method_changed", after: mark, trailing: [])

            // Through the provider's administration, disabling and re-pointing it at once: one revocation.
            try await enableCorp()
            corpScopes = try await signInThroughCorp()
            mark = try await world.lastSequence()
            var off = UpstreamProviderAdministration.Settings()
            off.enabled = false
            off.clientID = "another-client"
            _ = try await administration.updateProvider(world.owner, projectID: s.portal.id, environment: .sandbox, providerID: corp.id, off,
                                                        checkIssuer: World.noNetwork)
            try await expectEnded(corpScopes, reason: "provider_disabled", after: mark, trailing: ["provider.updated"])

            // Deleting it while enabled.
            try await enableCorp()
            corpScopes = try await signInThroughCorp()
            mark = try await world.lastSequence()
            try await administration.deleteProvider(world.owner, projectID: s.portal.id, environment: .sandbox, providerID: corp.id)
            try await expectEnded(corpScopes, reason: "provider_deleted", after: mark, trailing: ["provider.deleted"])
        }
    }

    @Test("trigger: login method changed — disabling password while members rely on it is refused and revokes nothing",
          arguments: Backend.underTest)
    func trigger_loginMethodChanged_passwordDisabledRefused(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let corp = try await world.upstreamProvider(s.portal, .sandbox, name: "Corp")
            let mark = try await world.lastSequence()
            var disable = ProjectAdministration.EnvironmentChanges()
            disable.authMethods = [corp.method]
            await expectDomainError(.refused(World.strandedMessage(2, "sandbox", "password"))) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: s.portal.id, environment: .sandbox, disable)
            }
            try await world.expectActive(s.allScopes)
            #expect(try await world.events(after: mark).isEmpty)
            let settings = try await world.identity.read { tx in try tx.environmentSettings(projectID: s.portal.id, environment: .sandbox) }
            #expect(settings?.authMethods == [.password, corp.method])
        }
    }

    @Test("trigger: Project scope revoked ends that one scope; the membership, the global session and every other scope stay",
          arguments: Backend.underTest)
    func trigger_projectScopeRevoked(backend: Backend) async throws {
        try await World.with(backend) { world in
            let s = try await Stage.make(world)
            let mark = try await world.lastSequence()

            let revoked = try await world.members.revokeRuntimeScope(world.owner, projectID: s.portal.id, scopeID: s.anaPortalSandbox.id)

            #expect(revoked.id == s.anaPortalSandbox.id && revoked.revokeReason == "project_scope_revoked")
            try await world.expectRevoked([s.anaPortalSandbox], reason: "project_scope_revoked")
            try await world.expectActive([s.anaPortalProduction, s.anaGameSandbox, s.anaPhonePortalSandbox, s.boPortalSandbox, s.boGameSandbox])
            try await world.expectSessionsActive(s.allSessions)
            let membership = try await world.identity.read { tx in try tx.projectMember(projectID: s.portal.id, userID: s.ana.id) }
            #expect(membership?.status == .active && membership?.roles == ["member"])
            // No auto-heal: the session remembers the revoked scope, so re-entry must be explicit.
            let remembered = try await world.identity.read { tx in
                (try tx.hasRevokedRuntimeScope(sessionID: s.anaLaptop.id, projectID: s.portal.id, environment: .sandbox),
                 try tx.activeRuntimeScope(sessionID: s.anaLaptop.id, projectID: s.portal.id, environment: .sandbox))
            }
            #expect(remembered.0 && remembered.1 == nil)

            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["runtime_scope.revoked"])
            let event = try #require(events.first)
            try world.expectTrigger(event, project: s.portal.id, environment: "sandbox", session: s.anaLaptop.id)
            let data = try event.object()
            #expect(data["runtime_scope_id"] == .string(s.anaPortalSandbox.id) && data["user_id"] == .string(s.ana.id))
            #expect(data["reason"] == "project_scope_revoked" && data["application_id"] == "cli_audit_only")

            // Again, a scope of another Project, of another Workspace, or an unknown id: nothing is written.
            let again = try await world.lastSequence()
            await expectDomainError(.conflict("runtime scope \(s.anaPortalSandbox.id) is already revoked")) {
                _ = try await world.members.revokeRuntimeScope(world.owner, projectID: s.portal.id, scopeID: s.anaPortalSandbox.id)
            }
            await expectDomainError(.notFound("runtime scope \(s.anaGameSandbox.id)")) {
                _ = try await world.members.revokeRuntimeScope(world.owner, projectID: s.portal.id, scopeID: s.anaGameSandbox.id)
            }
            let other = try await world.otherWorkspace(memberEmail: s.bo.email)
            let afterOther = try await world.lastSequence()
            await expectDomainError(.notFound("runtime scope \(other.scope.id)")) {
                _ = try await world.members.revokeRuntimeScope(world.owner, projectID: s.portal.id, scopeID: other.scope.id)
            }
            await expectDomainError({ $0.isNotFound }) {
                _ = try await world.members.revokeRuntimeScope(other.caller, projectID: s.portal.id, scopeID: s.boPortalSandbox.id)
            }
            try await world.expectActive([other.scope, s.boPortalSandbox])
            #expect(try await world.events(after: afterOther).isEmpty)
            #expect(try await world.events(after: again).map(\.type).allSatisfy { $0 != "runtime_scope.revoked" })
        }
    }

    // MARK: The auth-method guard (docs/access-model.md#auth-method-guard), password part

    @Test("guard: Team Members who are not Project Members do not count", arguments: Backend.underTest)
    func guard_teamMembersDoNotCount(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal")
            // A Team Member with a password and even a console role in the Project, but no runtime membership.
            let dev = try await world.user("dev@example.com", password: "dev password 1")
            let (_, token) = try await world.members.inviteTeamMember(world.owner, email: dev.email, workspaceRole: .developer,
                                                                      projectConsoleRoles: [portal.id: .admin])
            _ = try await world.members.acceptInvite(token: token, userID: dev.id)
            let corp = try await world.upstreamProvider(portal, .sandbox, name: "Corp", enabled: false)
            var disable = ProjectAdministration.EnvironmentChanges()
            disable.authMethods = [corp.method]
            let settings = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, disable)
            #expect(settings.authMethods == [corp.method])
        }
    }

    @Test("guard: removed members and deactivated users do not count; an active runtime member does", arguments: Backend.underTest)
    func guard_onlyActiveRuntimeMembersCount(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal")
            let gone = try await world.user("gone@example.com", password: "gone password 1")
            let left = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: gone.email, roles: nil)
            try await world.members.removeProjectMember(world.owner, projectID: portal.id, memberID: left.id)
            let dormant = try await world.user("dormant@example.com", password: "dormant password")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: dormant.email, roles: nil)
            try await world.identity.write { tx in
                var user = dormant
                user.status = .deactivated
                try tx.update(user)
            }
            let corp = try await world.upstreamProvider(portal, .sandbox, name: "Corp", enabled: false)
            var disable = ProjectAdministration.EnvironmentChanges()
            disable.authMethods = [corp.method]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, disable)

            // One active runtime member with only a password now blocks the same change in production.
            let active = try await world.user("active@example.com", password: "active password")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: active.email, roles: nil)
            let corpProduction = try await world.upstreamProvider(portal, .production, name: "Corp", enabled: false)
            disable.authMethods = [corpProduction.method]
            let mark = try await world.lastSequence()
            await expectDomainError(.refused(World.strandedMessage(1, "production", "password"))) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .production, disable)
            }
            #expect(try await world.events(after: mark).isEmpty)
            let production = try await world.identity.read { tx in try tx.environmentSettings(projectID: portal.id, environment: .production) }
            #expect(production?.authMethods == [.password])
        }
    }

    @Test("guard: the selected environment's effective config is evaluated; the other environment keeping password does not rescue it",
          arguments: Backend.underTest)
    func guard_usesTheSelectedEnvironment(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal")
            let pat = try await world.user("pat@example.com", password: "pat password 1")
            _ = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: pat.email, roles: nil)
            // Each environment has its own Corp provider, enabled beside password.
            let corpProduction = try await world.upstreamProvider(portal, .production, name: "Corp")
            let corp = try await world.upstreamProvider(portal, .sandbox, name: "Corp")

            // Production still offers password, yet sandbox without it would strand Pat in sandbox.
            var providerOnly = ProjectAdministration.EnvironmentChanges()
            providerOnly.authMethods = [corp.method]
            let mark = try await world.lastSequence()
            await expectDomainError({ $0 == .refused(World.strandedMessage(1, "sandbox", "password")) }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, providerOnly)
            }
            #expect(try await world.events(after: mark).isEmpty)
            // Dropping the provider, not password, is fine in either environment: Pat keeps a way in.
            var passwordOnly = ProjectAdministration.EnvironmentChanges()
            passwordOnly.authMethods = [.password]
            _ = try await world.projects.updateEnvironment(world.owner, projectID: portal.id, environment: .sandbox, passwordOnly)
            let (sandbox, production) = try await world.identity.read { tx in
                (try tx.environmentSettings(projectID: portal.id, environment: .sandbox), try tx.environmentSettings(projectID: portal.id, environment: .production))
            }
            #expect(sandbox?.authMethods == [.password])
            #expect(production?.authMethods == [.password, corpProduction.method], "the other environment is untouched")
        }
    }
}

// MARK: - Helpers

extension World {
    /// A global identity session as sign-in makes it: `method` is the recorded sign-in method that
    /// login-method triggers go by; `amr` is only what the token claims say (for a provider, the upstream's).
    func session(userID: String, method: AuthMethod = .password, amr: [String] = ["pwd"]) async throws -> IdentitySession {
        let workspaceID = owner.workspaceID
        return try await identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: workspaceID, userID: userID,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: amr, createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil, signInMethod: method)
            try tx.insert(session)
            return session
        }
    }

    static let noNetwork: UpstreamProviderAdministration.IssuerCheck = { _, _ in }

    func providerAdministration() throws -> UpstreamProviderAdministration {
        UpstreamProviderAdministration(store: identity, masterKey: try MasterKey(bytes: Array(repeating: 7, count: 32)))
    }

    /// A social provider of a Project environment, created through its administration (creation
    /// proves the issuer through the check it is given; here none, so no network). Enabled, it joins
    /// the environment's sign-in methods.
    func upstreamProvider(_ project: Project, _ environment: LambaModel.Environment, name: String, enabled: Bool = true) async throws -> UpstreamProvider {
        var settings = UpstreamProviderAdministration.Settings()
        settings.name = name
        settings.issuer = "https://\(name.lowercased()).example.com"
        settings.clientID = "lamba"
        settings.clientSecret = "upstream secret value"
        settings.enabled = enabled
        return try await providerAdministration().createProvider(owner, projectID: project.id, environment: environment, settings,
                                                                 checkIssuer: Self.noNetwork).provider
    }

    /// A `linked_identities` row for the user at the provider: a sign-in path the auth-method guard
    /// counts. Written directly: `AccountLinking.link` would also fire the "provider linked" trigger
    /// and end the user's other sessions (proven in SocialProviderRuleTests), which these tests keep.
    func link(_ user: LambaUser, _ provider: UpstreamProvider, subject: String) async throws {
        let identity = LinkedIdentity(userID: user.id, workspaceID: provider.workspaceID, projectID: provider.projectID,
                                      environment: provider.environment, providerID: provider.id, subject: subject, email: user.email)
        try await self.identity.write { tx in try tx.insert(identity) }
    }

    /// The auth-method guard's refusal.
    static func strandedMessage(_ count: Int, _ environment: String, _ methods: String) -> String {
        "\(count) active project members of \(environment) would have no way to sign in (they use: \(methods)); "
            + "keep one of these methods, or have them add another sign-in method first (a password, a passkey, or a provider linked at /me/providers)"
    }

    /// Entering a Project environment under a session: a new runtime scope.
    func enter(_ session: IdentitySession, _ projectID: String, _ environment: LambaModel.Environment) async throws -> RuntimeScope {
        try await identity.write { tx in
            let now = Date()
            let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: session.userID, workspaceID: session.workspaceID,
                                     projectID: projectID, environment: environment, applicationID: "cli_audit_only", authTime: session.authTime,
                                     createdAt: now, revokedAt: nil, revokeReason: nil)
            try tx.insert(scope)
            return scope
        }
    }

    struct OtherWorkspace: Sendable {
        let workspaceID: String
        let caller: ConsoleCaller
        let apiKeySecret: String
        let session: IdentitySession
        let scope: RuntimeScope
    }

    /// A second Workspace whose Project has the same person as member, signed in there.
    func otherWorkspace(memberEmail: String) async throws -> OtherWorkspace {
        let boot = try await workspaces.createWorkspace(email: "owner@other.example", password: nil, name: "Other", workspaceSlug: "other",
                                                        workspaceName: "Other")
        guard let caller = try await workspaces.authenticate(apiKey: boot.apiKeySecret) else { throw SetupError(description: "other key refused") }
        let project = try await projects.createProject(caller, slug: "other-app", name: "Other app", visibility: .private)
        let member = try await members.admitExistingUser(caller, projectID: project.id, email: memberEmail, roles: nil)
        let (session, scope) = try await identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: boot.workspace.id, userID: member.userID,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: ["pwd"], createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil)
            try tx.insert(session)
            let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: member.userID, workspaceID: boot.workspace.id,
                                     projectID: project.id, environment: .sandbox, applicationID: "cli_other", authTime: now, createdAt: now,
                                     revokedAt: nil, revokeReason: nil)
            try tx.insert(scope)
            return (session, scope)
        }
        return OtherWorkspace(workspaceID: boot.workspace.id, caller: caller, apiKeySecret: boot.apiKeySecret, session: session, scope: scope)
    }

    func expectRevoked(_ scopes: [RuntimeScope], reason: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await identity.read { tx in try scopes.map { try tx.runtimeScope(id: $0.id) } }
        for (scope, now) in zip(scopes, stored) {
            #expect(now?.revokedAt != nil && now?.revokeReason == reason, "\(scope.id) should be revoked for \(reason)", sourceLocation: sourceLocation)
        }
    }

    func expectActive(_ scopes: [RuntimeScope], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await identity.read { tx in try scopes.map { try tx.runtimeScope(id: $0.id) } }
        for (scope, now) in zip(scopes, stored) {
            #expect(now?.isActive == true, "\(scope.id) should be active, is \(now?.revokeReason ?? "missing")", sourceLocation: sourceLocation)
        }
    }

    func expectSessionsActive(_ sessions: [IdentitySession], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await identity.read { tx in try sessions.map { try tx.identitySession(id: $0.id) } }
        for (session, now) in zip(sessions, stored) {
            #expect(now != nil && now?.revokedAt == nil, "session \(session.id) should be active", sourceLocation: sourceLocation)
        }
    }

    func expectSessionsRevoked(_ sessions: [IdentitySession], reason: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await identity.read { tx in try sessions.map { try tx.identitySession(id: $0.id) } }
        for (session, now) in zip(sessions, stored) {
            #expect(now?.revokedAt != nil && now?.revokeReason == reason, "session \(session.id) should be revoked", sourceLocation: sourceLocation)
        }
    }

    /// The trigger's event: caused by the owner key, in the owner's Workspace, with the Project,
    /// environment and session it concerns (nil where it spans several).
    func expectTrigger(_ event: OutboxEvent, project: String?, environment: String?, session: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(event.actor == owner.actor, sourceLocation: sourceLocation)
        #expect(event.workspaceID == owner.workspaceID, sourceLocation: sourceLocation)
        #expect(event.projectID == project, sourceLocation: sourceLocation)
        #expect(event.environment == environment, sourceLocation: sourceLocation)
        #expect(event.sessionID == session, sourceLocation: sourceLocation)
    }

    /// One `runtime_scope.revoked` per ended scope, each with its own Project, environment and session.
    func expectScopeEvents(_ events: [OutboxEvent], for scopes: [RuntimeScope], reason: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(events.count == scopes.count, sourceLocation: sourceLocation)
        var seen: Set<String> = []
        for event in events {
            let data = try event.object()
            let id = data["runtime_scope_id"]?.stringValue ?? ""
            guard let scope = scopes.first(where: { $0.id == id }) else {
                Issue.record("an event for a scope that should not end: \(id)", sourceLocation: sourceLocation)
                continue
            }
            seen.insert(id)
            #expect(event.type == "runtime_scope.revoked" && event.actor == owner.actor, sourceLocation: sourceLocation)
            #expect(event.workspaceID == scope.workspaceID && event.projectID == scope.projectID, sourceLocation: sourceLocation)
            #expect(event.environment == scope.environment.rawValue && event.sessionID == scope.sessionID, sourceLocation: sourceLocation)
            #expect(data["user_id"] == .string(scope.userID) && data["reason"] == .string(reason), sourceLocation: sourceLocation)
        }
        #expect(seen == Set(scopes.map(\.id)), sourceLocation: sourceLocation)
    }
}

extension OutboxEvent {
    func object() throws -> JSONObject { try JSON.decodeObject(Array(data.utf8)) }
}

extension JSONValue {
    /// Ids as the events list them: sorted.
    static func ids(_ ids: [String]) -> JSONValue { .array(ids.sorted().map(JSONValue.string)) }
}
