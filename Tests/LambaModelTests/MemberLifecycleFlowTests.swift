import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// The flows of the member lifecycle page, with the event each one writes in its transaction.
@Suite("member lifecycle flows")
struct MemberLifecycleFlowTests {
    @Test("bootstrap writes the first user, Workspace, owner and key, and runs only once", arguments: Backend.underTest)
    func bootstrap_runsOnceOnAnEmptyDatabase(backend: Backend) async throws {
        try await World.with(backend) { world in
            #expect(world.boot.user.email == "owner@example.com")
            #expect(world.owner.workspaceRole == .owner && world.owner.workspaceID == world.boot.workspace.id)
            #expect(world.boot.apiKeySecret.hasPrefix("lmb_sk_") && world.boot.apiKey.secretHash == OpaqueSecret.hash(world.boot.apiKeySecret))
            let events = try await world.events()
            #expect(events.map(\.type) == ["user.created", "workspace.created", "team_member.added", "api_key.created"])
            #expect(events.dropFirst().allSatisfy { $0.workspaceID == world.boot.workspace.id && $0.actor == world.boot.user.id })
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.workspaces.bootstrap(email: "x@example.com", password: nil, name: "X", workspaceSlug: "other", workspaceName: "Other")
            }
        }
    }

    @Test("every flow writes its event with actor, Workspace, Project and environment", arguments: Backend.underTest)
    func everyFlow_writesItsEvent(backend: Backend) async throws {
        try await World.with(backend) { world in
            let ws = world.owner.workspaceID
            let actor = world.owner.actor
            var mark = try await world.lastSequence()
            func expectEvents(_ types: [String], project: String? = nil, environment: String? = nil, actor expectedActor: String? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let events = try await world.events(after: mark)
                #expect(events.map(\.type) == types, sourceLocation: sourceLocation)
                for event in events {
                    #expect(event.workspaceID == ws, sourceLocation: sourceLocation)
                    #expect(event.actor == (expectedActor ?? actor), sourceLocation: sourceLocation)
                    if let project { #expect(event.projectID == project, sourceLocation: sourceLocation) }
                    if let environment { #expect(event.environment == environment, sourceLocation: sourceLocation) }
                }
                mark = try await world.lastSequence()
            }

            let project = try await world.project("community", .public)
            try await expectEvents(["project.created"], project: project.id)

            var open = ProjectAdministration.EnvironmentChanges()
            open.allowPublicJoin = true
            open.allowRegister = true
            _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .sandbox, open)
            try await expectEvents(["environment.updated"], project: project.id, environment: "sandbox")

            // Team invite and acceptance.
            let mate = try await world.user("mate@example.com")
            let (_, teamToken) = try await world.members.inviteTeamMember(world.owner, email: mate.email, workspaceRole: .developer)
            try await expectEvents(["team_invite.created"])
            _ = try await world.members.acceptInvite(token: teamToken, userID: mate.id)
            try await expectEvents(["team_member.added"], actor: mate.id)

            // Project invite and acceptance.
            let ana = try await world.user("ana@example.com")
            let (_, projectToken) = try await world.members.inviteProjectMember(world.owner, projectID: project.id, email: ana.email, role: nil)
            try await expectEvents(["project_invite.created"], project: project.id)
            _ = try await world.members.acceptInvite(token: projectToken, userID: ana.id)
            try await expectEvents(["project_member.added"], project: project.id, actor: ana.id)

            // Public join and register.
            let joiner = try await world.user("join@example.com")
            _ = try await world.members.publicJoin(userID: joiner.id, projectID: project.id, workspaceID: ws, environment: .sandbox)
            try await expectEvents(["project_member.joined"], project: project.id, environment: "sandbox", actor: joiner.id)
            let (registered, _) = try await world.members.register(email: "reg@example.com", password: "correct horse battery", name: "Reg",
                                                                   projectID: project.id, workspaceID: ws, environment: .sandbox)
            try await expectEvents(["user.created", "project_member.registered"], project: project.id, environment: "sandbox", actor: registered.id)

            // Operator-managed membership, role change, promotion, removal.
            let bo = try await world.user("bo@example.com")
            let member = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: bo.email, roles: nil)
            try await expectEvents(["project_member.added"], project: project.id)
            let scope = try await world.runtimeScope(userID: bo.id, projectID: project.id)
            _ = try await world.members.changeProjectMemberRoles(world.owner, projectID: project.id, memberID: member.id, roles: ["member"])
            try await expectEvents(["project_member.role_changed", "runtime_scope.revoked"], project: project.id)
            #expect(try await world.decide(scope).reason == "scope_revoked", "a role change ends the member's runtime scopes")
            let promoted = try await world.members.promoteToTeamMember(world.owner, userID: bo.id, workspaceRole: .viewer)
            try await expectEvents(["team_member.promoted"])
            let updated = try await world.members.updateTeamMember(world.owner, teamMemberID: promoted.id, workspaceRole: .developer, projectConsoleRoles: nil)
            #expect(updated.workspaceRole == .developer)
            try await expectEvents(["team_member.updated"])
            let secondScope = try await world.runtimeScope(userID: bo.id, projectID: project.id)
            try await world.members.removeProjectMember(world.owner, projectID: project.id, memberID: member.id)
            try await expectEvents(["project_member.removed", "runtime_scope.revoked"], project: project.id)
            #expect(try await world.decide(secondScope).allowed == false)
            #expect(try await world.members.teamMembers(world.owner).contains { $0.user.id == bo.id }, "removal from a Project keeps console access")
            try await world.members.removeTeamMember(world.owner, teamMemberID: promoted.id)
            try await expectEvents(["team_member.removed"])

            // Roles and clients.
            _ = try await world.projects.createRole(world.owner, projectID: project.id, name: "editor", description: "Edits", permissions: ["docs:*"])
            _ = try await world.projects.updateRole(world.owner, projectID: project.id, name: "editor", description: nil, permissions: ["docs:write"])
            try await world.projects.deleteRole(world.owner, projectID: project.id, name: "editor")
            try await expectEvents(["role.created", "role.updated", "role.deleted"], project: project.id)
            let (client, _) = try await world.projects.createClient(world.owner, projectID: project.id, environment: .production,
                                                                    .init(name: "api", type: .confidential, redirectURIs: ["https://example.com/cb"]))
            _ = try await world.projects.rotateClientSecret(world.owner, projectID: project.id, environment: .production, clientID: client.id)
            try await world.projects.deleteClient(world.owner, projectID: project.id, environment: .production, clientID: client.id)
            try await expectEvents(["client.created", "client.secret_rotated", "client.deleted"], project: project.id, environment: "production")

            // Workspace settings, keys, forced logout, deactivation.
            _ = try await world.workspaces.updateWorkspace(world.owner, .init(name: "Acme Inc"))
            let (key, _) = try await world.workspaces.createAPIKey(world.owner, name: "ci", role: .developer)
            try await world.workspaces.revokeAPIKey(world.owner, keyID: key.id)
            try await expectEvents(["workspace.updated", "api_key.created", "api_key.revoked"])
            let joinerScope = try await world.runtimeScope(userID: joiner.id, projectID: project.id)
            let revoked = try await world.workspaces.forceLogout(world.owner)
            #expect(revoked.scopes == 1)
            try await expectEvents(["workspace.forced_logout", "runtime_scope.revoked"])
            #expect(try await world.decide(joinerScope).allowed == false)
            _ = try await world.projects.deactivateProject(world.owner, projectID: project.id)
            try await expectEvents(["project.deactivated"], project: project.id)
            try await world.workspaces.deactivateWorkspace(world.owner)
            try await expectEvents(["workspace.deactivated"])
            #expect(try await world.workspaces.authenticate(apiKey: world.boot.apiKeySecret) == nil, "a deactivated Workspace's keys stop working")
        }
    }

    @Test("a refused change writes nothing, not even its event", arguments: Backend.underTest)
    func refusedChange_writesNoEvent(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let mark = try await world.lastSequence()
            await expectDomainError({ $0.isRefused }) { try await world.projects.deleteRole(world.owner, projectID: project.id, name: "viewer") }
            await expectDomainError({ $0.isInvalid }) { _ = try await world.project("Bad Slug") }
            await expectDomainError(.conflict("project slug portal is taken")) { _ = try await world.project("portal") }
            #expect(try await world.events(after: mark).isEmpty)
        }
    }

    @Test("an invite is accepted with credentials: a new account and its membership commit together", arguments: Backend.underTest)
    func acceptInvite_withCredentials(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let (_, token) = try await world.members.inviteProjectMember(world.owner, projectID: project.id, email: "New@Example.com", role: "member")
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.acceptInvite(token: token, email: "other@example.com", password: "correct horse battery", name: "X")
            }
            let (invite, user) = try await world.members.acceptInvite(token: token, email: "new@example.com", password: "correct horse battery", name: "New")
            #expect(invite.acceptedAt != nil && user.emailVerified)
            #expect(try await world.identity.read { tx in try tx.projectMember(projectID: project.id, userID: user.id)?.roles } == ["member"])

            // An existing account must prove its password.
            let existing = try await world.user("old@example.com", password: "right password 1")
            let (_, teamToken) = try await world.members.inviteTeamMember(world.owner, email: existing.email, workspaceRole: .viewer)
            await expectDomainError({ $0.isForbidden }) {
                _ = try await world.members.acceptInvite(token: teamToken, email: existing.email, password: "wrong password 1", name: nil)
            }
            let (_, same) = try await world.members.acceptInvite(token: teamToken, email: existing.email, password: "right password 1", name: nil)
            #expect(same.id == existing.id)
        }
    }

    @Test("tenancy: another Workspace's ids are not found by any service", arguments: Backend.underTest)
    func tenancy_foreignIdsAreNotFound(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let user = try await world.user("pat@example.com")
            let member = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: nil)
            let (client, _) = try await world.projects.createClient(world.owner, projectID: project.id, environment: .sandbox,
                                                                    .init(name: "web", type: .public, redirectURIs: ["https://example.com/cb"]))
            let other = try await world.workspaces.createWorkspace(email: "eve@example.com", password: nil, name: "Eve",
                                                                   workspaceSlug: "evil", workspaceName: "Evil")
            let eve = try #require(try await world.workspaces.authenticate(apiKey: other.apiKeySecret))
            let ownerTeamMember = try #require(try await world.members.teamMembers(world.owner).first)
            await expectDomainError({ $0.isNotFound }) { _ = try await world.projects.project(eve, projectID: project.id) }
            await expectDomainError({ $0.isNotFound }) { _ = try await world.projects.roles(eve, projectID: project.id) }
            await expectDomainError({ $0.isNotFound }) { _ = try await world.projects.client(eve, projectID: project.id, clientID: client.id) }
            await expectDomainError({ $0.isNotFound }) { _ = try await world.members.projectMembers(eve, projectID: project.id) }
            await expectDomainError({ $0.isNotFound }) {
                _ = try await world.members.changeProjectMemberRoles(eve, projectID: project.id, memberID: member.id, roles: ["admin"])
            }
            await expectDomainError({ $0.isNotFound }) { try await world.members.removeProjectMember(eve, projectID: project.id, memberID: member.id) }
            await expectDomainError({ $0.isNotFound }) { try await world.members.removeTeamMember(eve, teamMemberID: ownerTeamMember.member.id) }
            await expectDomainError({ $0.isNotFound }) { try await world.workspaces.revokeAPIKey(eve, keyID: world.boot.apiKey.id) }
            await expectDomainError({ $0.isNotFound }) { _ = try await world.members.promoteToTeamMember(eve, userID: user.id, workspaceRole: .viewer) }
            #expect(try await world.projects.projects(eve).isEmpty)
        }
    }

    @Test("a viewer key reads but cannot change; only owners grant owner", arguments: Backend.underTest)
    func permissionTable_isEnforced(backend: Backend) async throws {
        try await World.with(backend) { world in
            let viewer = try await world.caller(.viewer)
            let admin = try await world.caller(.admin)
            let project = try await world.project("portal")
            #expect(try await world.projects.projects(viewer).map(\.id) == [project.id])
            await expectDomainError(.forbidden("the caller's roles do not grant projects:create")) {
                _ = try await world.projects.createProject(viewer, slug: "nope", name: "Nope", visibility: .private)
            }
            await expectDomainError({ $0.isForbidden }) {
                _ = try await world.members.inviteProjectMember(viewer, projectID: project.id, email: "a@example.com", role: nil)
            }
            await expectDomainError({ $0.isForbidden }) { _ = try await world.workspaces.createAPIKey(admin, name: "root", role: .owner) }
            await expectDomainError({ $0.isForbidden }) {
                _ = try await world.members.inviteTeamMember(admin, email: "boss@example.com", workspaceRole: .owner)
            }
            // The last owner stays.
            let owner = try #require(try await world.members.teamMembers(world.owner).first)
            await expectDomainError(.refused("this is the workspace's last owner Team Member: make another member owner first")) {
                try await world.members.removeTeamMember(world.owner, teamMemberID: owner.member.id)
            }
        }
    }
}
