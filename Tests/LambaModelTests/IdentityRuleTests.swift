import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// The identity and access rules of docs/access-model.md, each proven by name on SQLite and on PostgreSQL.
@Suite("identity rules")
struct IdentityRuleTests {
    @Test("Console and runtime never mix: Team membership never grants runtime access", arguments: Backend.underTest)
    func rule1_teamMembershipNeverGrantsRuntimeAccess(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            // The owner is a Team Member with every console capability, and even a Project console role.
            let ownerMember = try #require(try await world.members.teamMembers(world.owner).first { $0.user.id == world.boot.user.id })
            _ = try await world.members.updateTeamMember(world.owner, teamMemberID: ownerMember.member.id, workspaceRole: nil,
                                                         projectConsoleRoles: [project.id: .admin])
            let scope = try await world.runtimeScope(userID: world.boot.user.id, projectID: project.id)
            let decision = try await world.decide(scope)
            #expect(decision == RuntimeAccess.Decision(allowed: false, reason: "not_a_member", roles: []))
        }
    }

    @Test("Console and runtime never mix: Project membership never grants console access", arguments: Backend.underTest)
    func rule1_projectMembershipNeverGrantsConsoleAccess(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let user = try await world.user("pat@example.com")
            let member = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: [ProjectRole.admin])
            #expect(member.roles == ["admin"])
            let (teamMember, consoleWorkspaces) = try await world.identity.read { tx in
                (try tx.teamMember(workspaceID: world.owner.workspaceID, userID: user.id), try tx.workspaces(teamMemberUserID: user.id))
            }
            #expect(teamMember == nil)
            #expect(consoleWorkspaces.isEmpty)
            #expect(try await world.members.teamMembers(world.owner).map(\.user.id) == [world.boot.user.id])
        }
    }

    @Test("Promote to Team Member: promotion changes console access only and assigns no Project role", arguments: Backend.underTest)
    func rule2_promoteChangesConsoleAccessOnly(backend: Backend) async throws {
        try await World.with(backend) { world in
            let portal = try await world.project("portal")
            let game = try await world.project("game")
            let user = try await world.user("pat@example.com")
            let before = try await world.members.admitExistingUser(world.owner, projectID: portal.id, email: user.email, roles: nil)
            let mark = try await world.lastSequence()

            let promoted = try await world.members.promoteToTeamMember(world.owner, userID: user.id, workspaceRole: .developer,
                                                                       projectConsoleRoles: [game.id: .viewer])
            #expect(promoted.workspaceRole == .developer)
            #expect(promoted.projectConsoleRoles == [game.id: .viewer])
            let (portalMember, gameMember) = try await world.identity.read { tx in
                (try tx.projectMember(projectID: portal.id, userID: user.id), try tx.projectMember(projectID: game.id, userID: user.id))
            }
            // Stored times have millisecond precision: compare what promotion could have changed.
            #expect(portalMember?.id == before.id && portalMember?.roles == before.roles && portalMember?.status == .active
                        && portalMember?.joinedVia == before.joinedVia, "the runtime membership is untouched")
            #expect(gameMember == nil, "a console role in a Project gives no runtime role there")
            #expect(try await world.events(after: mark).map(\.type) == ["team_member.promoted"])

            // Someone unknown to this Workspace cannot be promoted by id; they are invited by email.
            let stranger = try await world.user("stranger@example.com")
            await expectDomainError(.notFound("user \(stranger.id)")) {
                _ = try await world.members.promoteToTeamMember(world.owner, userID: stranger.id, workspaceRole: .viewer)
            }
        }
    }

    @Test("Default roles: a Project invite gives the chosen role or viewer", arguments: Backend.underTest)
    func rule3_projectInviteGivesChosenRoleOrViewer(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let ana = try await world.user("ana@example.com")
            let bo = try await world.user("bo@example.com")
            let (_, plain) = try await world.members.inviteProjectMember(world.owner, projectID: project.id, email: ana.email, role: nil)
            let (_, chosen) = try await world.members.inviteProjectMember(world.owner, projectID: project.id, email: bo.email, role: ProjectRole.member)
            _ = try await world.members.acceptInvite(token: plain, userID: ana.id)
            _ = try await world.members.acceptInvite(token: chosen, userID: bo.id)
            let roles = try await world.identity.read { tx in
                [try tx.projectMember(projectID: project.id, userID: ana.id)?.roles, try tx.projectMember(projectID: project.id, userID: bo.id)?.roles]
            }
            #expect(roles == [["viewer"], ["member"]])
            // A used token is spent.
            await expectDomainError(.notFound("invite")) { _ = try await world.members.acceptInvite(token: plain, userID: ana.id) }
        }
    }

    @Test("Default roles: public join and register give viewer unless the environment configures another role", arguments: Backend.underTest)
    func rule3_joinAndRegisterGiveViewerUnlessConfigured(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("community", .public)
            var open = ProjectAdministration.EnvironmentChanges()
            open.allowPublicJoin = true
            open.allowRegister = true
            _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .sandbox, open)
            var configured = open
            configured.defaultJoinRole = ProjectRole.member
            _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .production, configured)

            let joiner = try await world.user("join@example.com")
            let joined = try await world.members.publicJoin(userID: joiner.id, projectID: project.id, workspaceID: world.owner.workspaceID, environment: .sandbox)
            #expect(joined.roles == ["viewer"])
            #expect(joined.joinedVia == .publicJoin)
            let (_, registered) = try await world.members.register(email: "reg@example.com", password: "correct horse battery", name: "Reg",
                                                                   projectID: project.id, workspaceID: world.owner.workspaceID, environment: .sandbox)
            #expect(registered.roles == ["viewer"])
            let (_, configuredMember) = try await world.members.register(email: "reg2@example.com", password: "correct horse battery", name: "Reg",
                                                                         projectID: project.id, workspaceID: world.owner.workspaceID, environment: .production)
            #expect(configuredMember.roles == ["member"])
            #expect(configuredMember.joinedVia == .register)
        }
    }

    @Test("Public and private Projects: private Projects refuse public join and register; public ones allow what they enable", arguments: Backend.underTest)
    func rule4_privateProjectsRefuseJoinAndRegister(backend: Backend) async throws {
        try await World.with(backend) { world in
            let workspaceID = world.owner.workspaceID
            let closed = try await world.project("internal", .private)
            var open = ProjectAdministration.EnvironmentChanges()
            open.allowPublicJoin = true
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.projects.updateEnvironment(world.owner, projectID: closed.id, environment: .sandbox, open)
            }
            let user = try await world.user("pat@example.com")
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.publicJoin(userID: user.id, projectID: closed.id, workspaceID: workspaceID, environment: .sandbox)
            }
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.register(email: "new@example.com", password: "correct horse battery", name: "New",
                                                     projectID: closed.id, workspaceID: workspaceID, environment: .sandbox)
            }

            // Public: join enabled, register not; production enables nothing.
            let community = try await world.project("community", .public)
            _ = try await world.projects.updateEnvironment(world.owner, projectID: community.id, environment: .sandbox, open)
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.register(email: "new@example.com", password: "correct horse battery", name: "New",
                                                     projectID: community.id, workspaceID: workspaceID, environment: .sandbox)
            }
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.publicJoin(userID: user.id, projectID: community.id, workspaceID: workspaceID, environment: .production)
            }
            _ = try await world.members.publicJoin(userID: user.id, projectID: community.id, workspaceID: workspaceID, environment: .sandbox)

            // Going private closes what was open.
            _ = try await world.projects.updateProject(world.owner, projectID: community.id, name: nil, visibility: .private)
            let sandbox = try await world.projects.environment(world.owner, projectID: community.id, environment: .sandbox)
            #expect(!sandbox.allowPublicJoin && !sandbox.allowRegister)
            let other = try await world.user("other@example.com")
            await expectDomainError({ $0.isRefused }) {
                _ = try await world.members.publicJoin(userID: other.id, projectID: community.id, workspaceID: workspaceID, environment: .sandbox)
            }
        }
    }

    @Test("Built-in roles: a role catalog always holds its built-ins; deleting or emptying them is refused", arguments: Backend.underTest)
    func rule5_catalogAlwaysHoldsBuiltIns(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            #expect(try await world.projects.roles(world.owner, projectID: project.id).map(\.name) == ["admin", "member", "viewer"])
            for name in ProjectRole.builtInNames {
                await expectDomainError(.refused("\(name) is a built-in role and cannot be deleted")) {
                    try await world.projects.deleteRole(world.owner, projectID: project.id, name: name)
                }
                await expectDomainError(.refused("\(name) is a built-in role and cannot be emptied")) {
                    _ = try await world.projects.updateRole(world.owner, projectID: project.id, name: name, description: nil, permissions: [])
                }
            }
            // Built-ins may change their permissions, never lose all of them.
            let viewer = try await world.projects.updateRole(world.owner, projectID: project.id, name: "viewer", description: nil,
                                                             permissions: ["project:read", "docs:read"])
            #expect(viewer.permissions == ["project:read", "docs:read"] && viewer.builtIn)

            // Custom roles come and go, but not while someone holds them or join gives them.
            _ = try await world.projects.createRole(world.owner, projectID: project.id, name: "editor", description: "", permissions: ["docs:*"])
            let user = try await world.user("pat@example.com")
            let member = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: ["editor"])
            await expectDomainError({ $0.isRefused }) { try await world.projects.deleteRole(world.owner, projectID: project.id, name: "editor") }
            _ = try await world.members.changeProjectMemberRoles(world.owner, projectID: project.id, memberID: member.id, roles: ["viewer"])
            var join = ProjectAdministration.EnvironmentChanges()
            join.defaultJoinRole = "editor"
            _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .production, join)
            await expectDomainError(.refused("editor is the join role of production; choose another join role first")) {
                try await world.projects.deleteRole(world.owner, projectID: project.id, name: "editor")
            }
            join.defaultJoinRole = "viewer"
            _ = try await world.projects.updateEnvironment(world.owner, projectID: project.id, environment: .production, join)
            try await world.projects.deleteRole(world.owner, projectID: project.id, name: "editor")
            #expect(try await world.projects.roles(world.owner, projectID: project.id).map(\.name) == ["admin", "member", "viewer"])
        }
    }

    @Test("No fallback: a Workspace role or Project console role never stands in for a Project role, and the reverse", arguments: Backend.underTest)
    func rule6_roleLayersNeverStandInForEachOther(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let user = try await world.user("pat@example.com")
            // Console role names are not Project roles.
            for consoleRole in ["owner", "developer", "billing"] {
                await expectDomainError(.invalid(field: "roles", reason: "\(consoleRole) is not a role of this project")) {
                    _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: [consoleRole])
                }
                await expectDomainError({ $0.isInvalid(field: "roles") }) {
                    _ = try await world.members.inviteProjectMember(world.owner, projectID: project.id, email: user.email, role: consoleRole)
                }
            }
            // Project role names are not console roles.
            #expect(WorkspaceRole(rawValue: ProjectRole.member) == nil && ProjectConsoleRole(rawValue: ProjectRole.member) == nil)

            // A Project admin (runtime) holds no console capability anywhere.
            let member = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: [ProjectRole.admin])
            #expect(try await world.identity.read { tx in try tx.teamMember(workspaceID: world.owner.workspaceID, userID: user.id) } == nil)
            let scope = try await world.runtimeScope(userID: user.id, projectID: project.id)
            #expect(try await world.decide(scope, "billing:manage").allowed, "the Project admin role grants runtime permissions only")

            // A Project console admin (console) gets no runtime permission from it.
            let operatorUser = try await world.user("op@example.com")
            let (_, token) = try await world.members.inviteTeamMember(world.owner, email: operatorUser.email, workspaceRole: .viewer,
                                                                      projectConsoleRoles: [project.id: .admin])
            _ = try await world.members.acceptInvite(token: token, userID: operatorUser.id)
            let operatorScope = try await world.runtimeScope(userID: operatorUser.id, projectID: project.id)
            #expect(try await world.decide(operatorScope).reason == "not_a_member")
            #expect(member.roles == ["admin"])
        }
    }

    @Test("Plan limits: limits on projects and team members are enforced with a clear error", arguments: Backend.underTest)
    func rule7_planLimitsAreEnforced(backend: Backend) async throws {
        try await World.with(backend) { world in
            // Free plan: 3 Projects.
            var made: [Project] = []
            for slug in ["one", "two", "three"] { made.append(try await world.project(slug)) }
            await expectDomainError(.limitExceeded(limit: "projects", maximum: 3)) { _ = try await world.project("four") }
            #expect(DomainError.limitExceeded(limit: "projects", maximum: 3).description == "plan limit reached: at most 3 projects")
            // A deactivated Project frees its seat.
            _ = try await world.projects.deactivateProject(world.owner, projectID: made[0].id)
            _ = try await world.project("four")

            // Free plan: 5 team seats, open invites included; accepting an invite uses the seat it held.
            var tokens: [(String, LambaUser)] = []
            for n in 1...4 {
                let user = try await world.user("mate\(n)@example.com")
                let (_, token) = try await world.members.inviteTeamMember(world.owner, email: user.email, workspaceRole: .developer)
                tokens.append((token, user))
            }
            await expectDomainError(.limitExceeded(limit: "team members", maximum: 5)) {
                _ = try await world.members.inviteTeamMember(world.owner, email: "sixth@example.com", workspaceRole: .viewer)
            }
            for (token, user) in tokens { _ = try await world.members.acceptInvite(token: token, userID: user.id) }
            #expect(try await world.members.teamMembers(world.owner).count == 5)

            // A downgrade below what the Workspace holds is refused; an upgrade lifts the limits.
            _ = try await world.workspaces.updateWorkspace(world.owner, .init(plan: .pro))
            _ = try await world.project("five")
            await expectDomainError({ $0.isRefused }) { _ = try await world.workspaces.updateWorkspace(world.owner, .init(plan: .free)) }
        }
    }

    @Test("Environment isolation: sandbox and production never share clients, secrets or redirect URIs", arguments: Backend.underTest)
    func rule9_environmentsNeverShareClientsSecretsOrRedirectURIs(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let (sandboxClient, sandboxSecret) = try await world.projects.createClient(
                world.owner, projectID: project.id, environment: .sandbox,
                .init(name: "web", type: .confidential, redirectURIs: ["https://sandbox.example.com/cb"]))
            let (productionClient, productionSecret) = try await world.projects.createClient(
                world.owner, projectID: project.id, environment: .production,
                .init(name: "web", type: .confidential, redirectURIs: ["https://example.com/cb"]))
            #expect(sandboxClient.id != productionClient.id)
            #expect(sandboxSecret != nil && productionSecret != nil && sandboxSecret != productionSecret)
            #expect(sandboxClient.secretHash != productionClient.secretHash)

            // A redirect URI of one environment is refused in the other.
            await expectDomainError({ $0.isInvalid(field: "redirect_uris") }) {
                _ = try await world.projects.createClient(world.owner, projectID: project.id, environment: .production,
                                                          .init(name: "copy", type: .public, redirectURIs: ["https://sandbox.example.com/cb"]))
            }

            // Each environment lists and finds only its own clients.
            #expect(try await world.projects.clients(world.owner, projectID: project.id, environment: .sandbox).map(\.id) == [sandboxClient.id])
            #expect(try await world.projects.clients(world.owner, projectID: project.id, environment: .production).map(\.id) == [productionClient.id])
            let notFound = DomainError.notFound("client \(sandboxClient.id)")
            await expectDomainError(notFound) {
                _ = try await world.projects.client(world.owner, projectID: project.id, environment: .production, clientID: sandboxClient.id)
            }
            await expectDomainError(notFound) {
                _ = try await world.projects.rotateClientSecret(world.owner, projectID: project.id, environment: .production, clientID: sandboxClient.id)
            }
            await expectDomainError(notFound) {
                try await world.projects.deleteClient(world.owner, projectID: project.id, environment: .production, clientID: sandboxClient.id)
            }
            // Rotation changes one environment's secret only.
            let rotated = try await world.projects.rotateClientSecret(world.owner, projectID: project.id, environment: .sandbox, clientID: sandboxClient.id)
            #expect(rotated != sandboxSecret)
            let production = try await world.projects.client(world.owner, projectID: project.id, environment: .production, clientID: productionClient.id)
            #expect(production.secretHash == productionClient.secretHash)
        }
    }
}
