public import Foundation
import LambaJOSE

/// The installation's own records (docs/console-access.md#the-console-issuer): a Workspace whose
/// Team Members administer the installation, and in it the console Project, whose production
/// issuer people sign in to the console through, with the console as its first-party public client
/// (PKCE, no secret to keep). Made on first start, and brought up to date on every start (the
/// console's redirect URIs follow the public URL).
public struct InstallationSetup: Sendable {
    public let store: any IdentityStore
    public let clock: WallClock

    public init(store: any IdentityStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    public static func consoleRedirectURI(publicBaseURL: String) -> String { publicBaseURL + "/console/callback" }
    public static func consoleSignedOutURI(publicBaseURL: String) -> String { publicBaseURL + "/console/signed-out" }
    public static func consoleIssuer(publicBaseURL: String) -> String {
        publicBaseURL + "/p/" + Installation.consoleProjectSlug + "/" + Environment.production.rawValue
    }

    /// The installation, made when missing; `publicBaseURL` has no trailing slash.
    @discardableResult
    public func ensure(publicBaseURL: String, workspaceCreation: WorkspaceCreationPolicy = .inviteOnly) async throws -> Installation {
        let now = clock.now()
        let redirect = Self.consoleRedirectURI(publicBaseURL: publicBaseURL)
        let signedOut = Self.consoleSignedOutURI(publicBaseURL: publicBaseURL)
        return try await store.write { tx in
            if let installation = try tx.installation() {
                guard var client = try tx.client(id: installation.consoleClientID) else { throw DomainError.refused("the console client is missing") }
                if client.redirectURIs != [redirect] || client.postLogoutRedirectURIs != [signedOut] {
                    client.redirectURIs = [redirect]
                    client.postLogoutRedirectURIs = [signedOut]
                    try tx.update(client)
                }
                return installation
            }
            if try tx.workspace(slug: Installation.workspaceSlug) != nil || tx.project(slug: Installation.consoleProjectSlug) != nil {
                throw DomainError.refused("""
                    the slugs \(Installation.workspaceSlug) (workspace) and \(Installation.consoleProjectSlug) (project) are the installation's own, \
                    and a tenant holds one: rename it before starting this version
                    """)
            }
            let workspace = Workspace(slug: Installation.workspaceSlug, name: "Lamba installation", plan: .enterprise, createdAt: now)
            try tx.insert(workspace)
            try tx.append(DomainEvent(type: .workspaceCreated, actor: "system", workspaceID: workspace.id, occurredAt: now, data: [
                "workspace_id": .string(workspace.id), "slug": .string(workspace.slug),
            ]))
            let project = Project(workspaceID: workspace.id, slug: Installation.consoleProjectSlug, name: "Lamba console", visibility: .public, createdAt: now)
            try tx.insert(project)
            for environment in Environment.allCases {
                try tx.save(EnvironmentSettings(projectID: project.id, environment: environment))
            }
            for role in ProjectRole.starterCatalog(projectID: project.id) { try tx.insert(role) }
            try tx.append(DomainEvent(type: .projectCreated, actor: "system", workspaceID: workspace.id, projectID: project.id, occurredAt: now, data: [
                "project_id": .string(project.id), "slug": .string(project.slug), "visibility": .string(project.visibility.rawValue),
            ]))
            // The base URL is the operator's own setting, not a registration to vet, so it is not held to the https rule of client redirect URIs.
            let client = OAuthClient(workspaceID: workspace.id, projectID: project.id, environment: .production, name: "Lamba console", type: .public,
                                     tokenEndpointAuthMethod: .none, secretHash: nil, redirectURIs: [redirect], postLogoutRedirectURIs: [signedOut],
                                     grantTypes: ["authorization_code"], scopes: ["openid", "profile", "email"], firstParty: true, createdAt: now)
            try tx.insert(client)
            try tx.append(DomainEvent(type: .clientCreated, actor: "system", workspaceID: workspace.id, projectID: project.id, environment: .production,
                                      occurredAt: now, data: ["client_id": .string(client.id), "name": .string(client.name)]))
            let installation = Installation(workspaceID: workspace.id, consoleProjectID: project.id, consoleClientID: client.id,
                                            workspaceCreation: workspaceCreation)
            try tx.insert(installation)
            try ConsoleAccessAdministration.applyCreationPolicy(tx, installation)
            return installation
        }
    }

    /// Whether the installation has an administrator yet.
    public func hasAdministrator() async throws -> Bool {
        try await store.read { tx in
            guard let installation = try tx.installation() else { return false }
            return try tx.teamMembers(workspaceID: installation.workspaceID).contains { $0.workspaceRole == .owner }
        }
    }

    /// Makes the person with `email` (created without a password when new) an administrator: an
    /// owner of the installation's Workspace, and a member of the console Project so that they can
    /// sign in through its issuer.
    public func addAdministrator(email: String, name: String) async throws -> LambaUser {
        let email = try EmailAddress.normalize(email)
        let name = try MemberLifecycle.validateName(name)
        let now = clock.now()
        return try await store.write { tx in
            guard let installation = try tx.installation() else { throw DomainError.refused("the installation is not set up") }
            let user: LambaUser
            if let existing = try tx.user(email: email) {
                user = existing
            } else {
                user = LambaUser(email: email, emailVerified: true, name: name, passwordHash: nil, createdAt: now)
                try tx.insert(user)
                try tx.append(DomainEvent(type: .userCreated, actor: "system", workspaceID: nil, occurredAt: now, data: ["user_id": .string(user.id)]))
            }
            if try tx.teamMember(workspaceID: installation.workspaceID, userID: user.id) == nil {
                let owner = TeamMember(workspaceID: installation.workspaceID, userID: user.id, workspaceRole: .owner, createdAt: now)
                try tx.insert(owner)
                try tx.append(DomainEvent(type: .teamMemberAdded, actor: "system", workspaceID: installation.workspaceID, occurredAt: now, data: [
                    "team_member_id": .string(owner.id), "user_id": .string(user.id), "workspace_role": "owner",
                ]))
            }
            try Self.admitToConsole(tx, installation, userID: user.id, role: ProjectRole.admin, at: now)
            return user
        }
    }

    /// Makes a person an owner Team Member of a Workspace (first-run setup: the administrator owns the demo).
    public func addOwner(userID: String, workspaceSlug: String) async throws {
        let now = clock.now()
        try await store.write { tx in
            guard let workspace = try tx.workspace(slug: workspaceSlug) else { throw DomainError.notFound("workspace \(workspaceSlug)") }
            guard try tx.teamMember(workspaceID: workspace.id, userID: userID) == nil else { return }
            let owner = TeamMember(workspaceID: workspace.id, userID: userID, workspaceRole: .owner, createdAt: now)
            try tx.insert(owner)
            try tx.append(DomainEvent(type: .teamMemberAdded, actor: "system", workspaceID: workspace.id, occurredAt: now, data: [
                "team_member_id": .string(owner.id), "user_id": .string(userID), "workspace_role": "owner",
            ]))
        }
    }

    /// The installation's administrators, by email.
    public func administrators() async throws -> [LambaUser] {
        try await store.read { tx in
            guard let installation = try tx.installation() else { return [] }
            return try tx.teamMembers(workspaceID: installation.workspaceID).filter { [.owner, .admin].contains($0.workspaceRole) }
                .compactMap { try tx.user(id: $0.userID) }
        }
    }

    /// A member of the console Project (runtime access to the console product, nothing more).
    static func admitToConsole(_ tx: any IdentityWriter, _ installation: Installation, userID: String, role: String, at now: Date) throws {
        if let member = try tx.projectMember(projectID: installation.consoleProjectID, userID: userID), member.status == .active { return }
        if let member = try tx.projectMember(projectID: installation.consoleProjectID, userID: userID) {
            var restored = member
            restored.status = .active
            restored.roles = [role]
            restored.updatedAt = now
            try tx.update(restored)
        } else {
            try tx.insert(ProjectMember(workspaceID: installation.workspaceID, projectID: installation.consoleProjectID, userID: userID, roles: [role],
                                        joinedVia: .operator, createdAt: now))
        }
        try tx.append(DomainEvent(type: .projectMemberAdded, actor: "system", workspaceID: installation.workspaceID, projectID: installation.consoleProjectID,
                                  occurredAt: now, data: ["user_id": .string(userID), "roles": .array([.string(role)])]))
    }
}
