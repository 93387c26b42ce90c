public import Foundation
public import LambaModel
import LambaJOSE

/// The identity model on any `Store`: the same SQL runs on SQLite and PostgreSQL.
public struct SQLIdentityStore: IdentityStore {
    public let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any IdentityWriter) throws -> T) async throws -> T {
        try await store.withTransaction { tx in try body(SQLIdentityRecords(reader: tx, transaction: tx)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any IdentityReader) throws -> T) async throws -> T {
        try await store.read { reader in try body(SQLIdentityRecords(reader: reader, transaction: nil)) }
    }
}

/// Identity records inside one transaction (or one read snapshot, where `transaction` is nil).
public struct SQLIdentityRecords: IdentityWriter {
    let reader: any StoreReader
    let transaction: (any StoreTransaction)?

    public init(reader: any StoreReader, transaction: (any StoreTransaction)?) {
        self.reader = reader
        self.transaction = transaction
    }

    var tx: any StoreTransaction {
        get throws {
            guard let transaction else { throw StoreError.transactionClosed }
            return transaction
        }
    }

    private func one<T>(_ sql: SQL, _ parameters: [SQLValue], _ decode: (Row) throws -> T) throws -> T? {
        try reader.query(sql, parameters).first.map(decode)
    }

    private func all<T>(_ sql: SQL, _ parameters: [SQLValue], _ decode: (Row) throws -> T) throws -> [T] {
        try reader.query(sql, parameters).map(decode)
    }

    // MARK: Users

    public func user(id: String) throws -> LambaUser? {
        try one("SELECT * FROM users WHERE id = $1", [.text(id)], Self.user)
    }

    public func user(email: String) throws -> LambaUser? {
        try one("SELECT * FROM users WHERE email = $1", [.text(email.lowercased())], Self.user)
    }

    public func insert(_ user: LambaUser) throws {
        try tx.execute(
            "INSERT INTO users (id, email, email_verified, name, password_hash, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [.text(user.id), .text(user.email), .bool(user.emailVerified), .text(user.name), SQLValue(user.passwordHash),
             .text(user.status.rawValue), SQLValue(user.createdAt)])
    }

    public func update(_ user: LambaUser) throws {
        try tx.execute(
            "UPDATE users SET email = $2, email_verified = $3, name = $4, password_hash = $5, status = $6 WHERE id = $1",
            [.text(user.id), .text(user.email), .bool(user.emailVerified), .text(user.name), SQLValue(user.passwordHash), .text(user.status.rawValue)])
    }

    static func user(_ row: Row) throws -> LambaUser {
        var user = LambaUser(id: try row.string("id"), email: try row.string("email"), emailVerified: try row.bool("email_verified"),
                             name: try row.string("name"), passwordHash: try row.optionalString("password_hash"), createdAt: try row.date("created_at"))
        user.status = try row.enumeration("status")
        return user
    }

    // MARK: Workspaces

    public func workspace(id: String) throws -> Workspace? {
        try one("SELECT * FROM workspaces WHERE id = $1", [.text(id)], Self.workspace)
    }

    public func workspace(slug: String) throws -> Workspace? {
        try one("SELECT * FROM workspaces WHERE slug = $1", [.text(slug)], Self.workspace)
    }

    public func workspaceCount() throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM workspaces").int("n")
    }

    public func workspaces(teamMemberUserID: String) throws -> [Workspace] {
        try all(
            "SELECT w.* FROM workspaces w JOIN team_members t ON t.workspace_id = w.id WHERE t.user_id = $1 ORDER BY w.created_at, w.id",
            [.text(teamMemberUserID)], Self.workspace)
    }

    public func insert(_ workspace: Workspace) throws {
        try tx.execute(
            """
            INSERT INTO workspaces (id, slug, name, plan, status, sessions_valid_after, session_max_age_seconds, custom_domains, created_at, mail_from)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [.text(workspace.id), .text(workspace.slug), .text(workspace.name), .text(workspace.plan.rawValue), .text(workspace.status.rawValue),
             SQLValue(workspace.securityPosture.sessionsValidAfter), SQLValue(workspace.securityPosture.sessionMaxAgeSeconds),
             .json(workspace.customDomains), SQLValue(workspace.createdAt), SQLValue(workspace.mailFrom)])
    }

    public func update(_ workspace: Workspace) throws {
        try tx.execute(
            """
            UPDATE workspaces SET name = $2, plan = $3, status = $4, sessions_valid_after = $5, session_max_age_seconds = $6, custom_domains = $7,
                   mail_from = $8
            WHERE id = $1
            """,
            [.text(workspace.id), .text(workspace.name), .text(workspace.plan.rawValue), .text(workspace.status.rawValue),
             SQLValue(workspace.securityPosture.sessionsValidAfter), SQLValue(workspace.securityPosture.sessionMaxAgeSeconds),
             .json(workspace.customDomains), SQLValue(workspace.mailFrom)])
    }

    static func workspace(_ row: Row) throws -> Workspace {
        var workspace = Workspace(id: try row.string("id"), slug: try row.string("slug"), name: try row.string("name"),
                                  plan: try row.enumeration("plan"), createdAt: try row.date("created_at"))
        workspace.status = try row.enumeration("status")
        workspace.securityPosture = SecurityPosture(sessionsValidAfter: try row.optionalDate("sessions_valid_after"),
                                                    sessionMaxAgeSeconds: try row.int("session_max_age_seconds"))
        workspace.customDomains = try row.stringList("custom_domains")
        workspace.mailFrom = try row.optionalString("mail_from")
        return workspace
    }

    // MARK: Projects and environments

    public func project(id: String, workspaceID: String) throws -> Project? {
        try one("SELECT * FROM projects WHERE id = $1 AND workspace_id = $2", [.text(id), .text(workspaceID)], Self.project)
    }

    public func project(slug: String) throws -> Project? {
        try one("SELECT * FROM projects WHERE slug = $1", [.text(slug)], Self.project)
    }

    public func projects(workspaceID: String) throws -> [Project] {
        try all("SELECT * FROM projects WHERE workspace_id = $1 ORDER BY created_at, id", [.text(workspaceID)], Self.project)
    }

    public func insert(_ project: Project) throws {
        try tx.execute(
            "INSERT INTO projects (id, workspace_id, slug, name, visibility, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [.text(project.id), .text(project.workspaceID), .text(project.slug), .text(project.name), .text(project.visibility.rawValue),
             .text(project.status.rawValue), SQLValue(project.createdAt)])
    }

    public func update(_ project: Project) throws {
        try tx.execute(
            "UPDATE projects SET name = $3, visibility = $4, status = $5, branding = $6 WHERE id = $1 AND workspace_id = $2",
            [.text(project.id), .text(project.workspaceID), .text(project.name), .text(project.visibility.rawValue), .text(project.status.rawValue),
             try project.branding.map { try .document($0) } ?? .null])
    }

    static func project(_ row: Row) throws -> Project {
        var project = Project(id: try row.string("id"), workspaceID: try row.string("workspace_id"), slug: try row.string("slug"),
                              name: try row.string("name"), visibility: try row.enumeration("visibility"), createdAt: try row.date("created_at"))
        project.status = try row.enumeration("status")
        if try !row.isNull("branding") { project.branding = try row.document("branding", as: ProjectBranding.self) }
        return project
    }

    public func environmentSettings(projectID: String, environment: LambaModel.Environment) throws -> EnvironmentSettings? {
        try one("SELECT settings FROM environment_settings WHERE project_id = $1 AND environment = $2",
                [.text(projectID), .text(environment.rawValue)]) { try $0.document("settings", as: EnvironmentSettings.self) }
    }

    public func save(_ settings: EnvironmentSettings) throws {
        let changed = try tx.execute(
            "UPDATE environment_settings SET settings = $3 WHERE project_id = $1 AND environment = $2",
            [.text(settings.projectID), .text(settings.environment.rawValue), try .document(settings)])
        if changed == 0 {
            try tx.execute(
                "INSERT INTO environment_settings (project_id, environment, settings) VALUES ($1, $2, $3)",
                [.text(settings.projectID), .text(settings.environment.rawValue), try .document(settings)])
        }
    }

    // MARK: Team members

    public func teamMember(workspaceID: String, userID: String) throws -> TeamMember? {
        try one("SELECT * FROM team_members WHERE workspace_id = $1 AND user_id = $2", [.text(workspaceID), .text(userID)], Self.teamMember)
    }

    public func teamMember(id: String, workspaceID: String) throws -> TeamMember? {
        try one("SELECT * FROM team_members WHERE id = $1 AND workspace_id = $2", [.text(id), .text(workspaceID)], Self.teamMember)
    }

    public func teamMembers(workspaceID: String) throws -> [TeamMember] {
        try all("SELECT * FROM team_members WHERE workspace_id = $1 ORDER BY created_at, id", [.text(workspaceID)], Self.teamMember)
    }

    public func insert(_ member: TeamMember) throws {
        try tx.execute(
            "INSERT INTO team_members (id, workspace_id, user_id, workspace_role, project_console_roles, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            [.text(member.id), .text(member.workspaceID), .text(member.userID), .text(member.workspaceRole.rawValue),
             .json(member.projectConsoleRoles.mapValues(\.rawValue)), SQLValue(member.createdAt)])
    }

    public func update(_ member: TeamMember) throws {
        try tx.execute(
            "UPDATE team_members SET workspace_role = $3, project_console_roles = $4 WHERE id = $1 AND workspace_id = $2",
            [.text(member.id), .text(member.workspaceID), .text(member.workspaceRole.rawValue), .json(member.projectConsoleRoles.mapValues(\.rawValue))])
    }

    public func deleteTeamMember(id: String) throws {
        try tx.execute("DELETE FROM team_members WHERE id = $1", [.text(id)])
    }

    static func teamMember(_ row: Row) throws -> TeamMember {
        TeamMember(id: try row.string("id"), workspaceID: try row.string("workspace_id"), userID: try row.string("user_id"),
                   workspaceRole: try row.enumeration("workspace_role"),
                   projectConsoleRoles: try row.stringMap("project_console_roles").compactMapValues(ProjectConsoleRole.init(rawValue:)),
                   createdAt: try row.date("created_at"))
    }

    // MARK: Project members

    public func projectMember(projectID: String, userID: String) throws -> ProjectMember? {
        try one("SELECT * FROM project_members WHERE project_id = $1 AND user_id = $2", [.text(projectID), .text(userID)], Self.projectMember)
    }

    public func projectMember(id: String, projectID: String) throws -> ProjectMember? {
        try one("SELECT * FROM project_members WHERE id = $1 AND project_id = $2", [.text(id), .text(projectID)], Self.projectMember)
    }

    public func projectMembers(projectID: String, includeRemoved: Bool) throws -> [ProjectMember] {
        if includeRemoved {
            return try all("SELECT * FROM project_members WHERE project_id = $1 ORDER BY created_at, id", [.text(projectID)], Self.projectMember)
        }
        return try all("SELECT * FROM project_members WHERE project_id = $1 AND status = 'active' ORDER BY created_at, id",
                       [.text(projectID)], Self.projectMember)
    }

    public func countActiveProjectMembers(projectID: String) throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM project_members WHERE project_id = $1 AND status = 'active'", [.text(projectID)]).int("n")
    }

    public func insert(_ member: ProjectMember) throws {
        try tx.execute(
            """
            INSERT INTO project_members (id, workspace_id, project_id, user_id, roles, status, joined_via, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.text(member.id), .text(member.workspaceID), .text(member.projectID), .text(member.userID), .json(member.roles),
             .text(member.status.rawValue), .text(member.joinedVia.rawValue), SQLValue(member.createdAt), SQLValue(member.updatedAt)])
    }

    public func update(_ member: ProjectMember) throws {
        try tx.execute(
            "UPDATE project_members SET roles = $3, status = $4, joined_via = $5, updated_at = $6 WHERE id = $1 AND project_id = $2",
            [.text(member.id), .text(member.projectID), .json(member.roles), .text(member.status.rawValue), .text(member.joinedVia.rawValue),
             SQLValue(member.updatedAt)])
    }

    static func projectMember(_ row: Row) throws -> ProjectMember {
        var member = ProjectMember(id: try row.string("id"), workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"),
                                   userID: try row.string("user_id"), roles: try row.stringList("roles"), joinedVia: try row.enumeration("joined_via"),
                                   createdAt: try row.date("created_at"))
        member.status = try row.enumeration("status")
        member.updatedAt = try row.date("updated_at")
        return member
    }

    // MARK: Role catalog

    public func roles(projectID: String) throws -> [ProjectRole] {
        try all("SELECT * FROM project_roles WHERE project_id = $1 ORDER BY built_in DESC, created_at, name", [.text(projectID)]) { row in
            ProjectRole(projectID: try row.string("project_id"), name: try row.string("name"), description: try row.string("description"),
                        permissions: try row.stringList("permissions"), builtIn: try row.bool("built_in"), createdAt: try row.date("created_at"))
        }
    }

    public func insert(_ role: ProjectRole) throws {
        try tx.execute(
            "INSERT INTO project_roles (project_id, name, description, permissions, built_in, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            [.text(role.projectID), .text(role.name), .text(role.description), .json(role.permissions), .bool(role.builtIn), SQLValue(role.createdAt)])
    }

    public func update(_ role: ProjectRole) throws {
        try tx.execute(
            "UPDATE project_roles SET description = $3, permissions = $4 WHERE project_id = $1 AND name = $2",
            [.text(role.projectID), .text(role.name), .text(role.description), .json(role.permissions)])
    }

    public func deleteRole(projectID: String, name: String) throws {
        // Built-ins never leave the catalog, whatever the caller asked.
        try tx.execute("DELETE FROM project_roles WHERE project_id = $1 AND name = $2 AND built_in = $3", [.text(projectID), .text(name), .bool(false)])
    }

    // MARK: OAuth clients

    public func client(id: String) throws -> OAuthClient? {
        try one("SELECT * FROM oauth_clients WHERE id = $1", [.text(id)], Self.client)
    }

    public func clients(projectID: String, environment: LambaModel.Environment?) throws -> [OAuthClient] {
        if let environment {
            return try all("SELECT * FROM oauth_clients WHERE project_id = $1 AND environment = $2 ORDER BY created_at, id",
                           [.text(projectID), .text(environment.rawValue)], Self.client)
        }
        return try all("SELECT * FROM oauth_clients WHERE project_id = $1 ORDER BY created_at, id", [.text(projectID)], Self.client)
    }

    public func insert(_ client: OAuthClient) throws {
        try tx.execute(
            """
            INSERT INTO oauth_clients (id, workspace_id, project_id, environment, name, client_type, token_endpoint_auth_method, secret_hash,
                redirect_uris, post_logout_redirect_uris, grant_types, scopes, first_party, id_token_signed_response_alg, jwks,
                registered_dynamically, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            """,
            Self.clientValues(client) + [SQLValue(client.createdAt)])
    }

    public func update(_ client: OAuthClient) throws {
        try tx.execute(
            """
            UPDATE oauth_clients SET workspace_id = $2, project_id = $3, environment = $4, name = $5, client_type = $6,
                token_endpoint_auth_method = $7, secret_hash = $8, redirect_uris = $9, post_logout_redirect_uris = $10, grant_types = $11,
                scopes = $12, first_party = $13, id_token_signed_response_alg = $14, jwks = $15, registered_dynamically = $16
            WHERE id = $1
            """,
            Self.clientValues(client))
    }

    public func deleteClient(id: String) throws {
        try tx.execute("DELETE FROM oauth_clients WHERE id = $1", [.text(id)])
    }

    private static func clientValues(_ client: OAuthClient) -> [SQLValue] {
        [.text(client.id), .text(client.workspaceID), .text(client.projectID), .text(client.environment.rawValue), .text(client.name),
         .text(client.type.rawValue), .text(client.tokenEndpointAuthMethod.rawValue), SQLValue(client.secretHash), .json(client.redirectURIs),
         .json(client.postLogoutRedirectURIs), .json(client.grantTypes), .json(client.scopes), .bool(client.firstParty),
         .text(client.idTokenSignedResponseAlg), SQLValue(client.jwks), .bool(client.registeredDynamically)]
    }

    static func client(_ row: Row) throws -> OAuthClient {
        OAuthClient(
            id: try row.string("id"), workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"),
            environment: try row.enumeration("environment"), name: try row.string("name"), type: try row.enumeration("client_type"),
            tokenEndpointAuthMethod: try row.enumeration("token_endpoint_auth_method"), secretHash: try row.optionalString("secret_hash"),
            redirectURIs: try row.stringList("redirect_uris"), postLogoutRedirectURIs: try row.stringList("post_logout_redirect_uris"),
            grantTypes: try row.stringList("grant_types"), scopes: try row.stringList("scopes"), firstParty: try row.bool("first_party"),
            idTokenSignedResponseAlg: try row.string("id_token_signed_response_alg"), jwks: try row.optionalString("jwks"),
            registeredDynamically: try row.bool("registered_dynamically"), createdAt: try row.date("created_at"))
    }

    // MARK: Invites

    public func invite(id: String, workspaceID: String) throws -> Invite? {
        try one("SELECT * FROM invites WHERE id = $1 AND workspace_id = $2", [.text(id), .text(workspaceID)], Self.invite)
    }

    public func invite(tokenHash: String) throws -> Invite? {
        try one("SELECT * FROM invites WHERE token_hash = $1", [.text(tokenHash)], Self.invite)
    }

    public func invites(workspaceID: String, projectID: String?) throws -> [Invite] {
        if let projectID {
            return try all("SELECT * FROM invites WHERE workspace_id = $1 AND project_id = $2 ORDER BY created_at, id",
                           [.text(workspaceID), .text(projectID)], Self.invite)
        }
        return try all("SELECT * FROM invites WHERE workspace_id = $1 ORDER BY created_at, id", [.text(workspaceID)], Self.invite)
    }

    public func insert(_ invite: Invite) throws {
        try tx.execute(
            """
            INSERT INTO invites (id, kind, workspace_id, project_id, email, workspace_role, project_console_roles, project_role, token_hash,
                invited_by, created_at, expires_at, accepted_at, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
            """,
            [.text(invite.id), .text(invite.kind.rawValue), .text(invite.workspaceID), SQLValue(invite.projectID), .text(invite.email),
             SQLValue(invite.workspaceRole?.rawValue), .json(invite.projectConsoleRoles.mapValues(\.rawValue)), SQLValue(invite.projectRole),
             .text(invite.tokenHash), .text(invite.invitedBy), SQLValue(invite.createdAt), SQLValue(invite.expiresAt),
             SQLValue(invite.acceptedAt), SQLValue(invite.revokedAt)])
    }

    public func update(_ invite: Invite) throws {
        try tx.execute(
            "UPDATE invites SET accepted_at = $3, revoked_at = $4 WHERE id = $1 AND workspace_id = $2",
            [.text(invite.id), .text(invite.workspaceID), SQLValue(invite.acceptedAt), SQLValue(invite.revokedAt)])
    }

    static func invite(_ row: Row) throws -> Invite {
        Invite(
            id: try row.string("id"), kind: try row.enumeration("kind"), workspaceID: try row.string("workspace_id"),
            projectID: try row.optionalString("project_id"), email: try row.string("email"),
            workspaceRole: try row.optionalString("workspace_role").flatMap(WorkspaceRole.init(rawValue:)),
            projectConsoleRoles: try row.stringMap("project_console_roles").compactMapValues(ProjectConsoleRole.init(rawValue:)),
            projectRole: try row.optionalString("project_role"), tokenHash: try row.string("token_hash"), invitedBy: try row.string("invited_by"),
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), acceptedAt: try row.optionalDate("accepted_at"),
            revokedAt: try row.optionalDate("revoked_at"))
    }

    // MARK: Custom domains

    public func customDomain(id: String, workspaceID: String) throws -> CustomDomain? {
        try one("SELECT * FROM custom_domains WHERE id = $1 AND workspace_id = $2", [.text(id), .text(workspaceID)], Self.customDomain)
    }

    public func customDomain(domain: String) throws -> CustomDomain? {
        try one("SELECT * FROM custom_domains WHERE lower(domain) = $1", [.text(domain.lowercased())], Self.customDomain)
    }

    public func customDomains(workspaceID: String) throws -> [CustomDomain] {
        try all("SELECT * FROM custom_domains WHERE workspace_id = $1 ORDER BY domain", [.text(workspaceID)], Self.customDomain)
    }

    public func insert(_ domain: CustomDomain) throws {
        try tx.execute(
            """
            INSERT INTO custom_domains (id, workspace_id, domain, status, verification_token, created_at, expires_at, verified_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [.text(domain.id), .text(domain.workspaceID), .text(domain.domain.lowercased()), .text(domain.status.rawValue),
             .text(domain.verificationToken), SQLValue(domain.createdAt), SQLValue(domain.expiresAt), SQLValue(domain.verifiedAt)])
    }

    public func update(_ domain: CustomDomain) throws {
        try tx.execute(
            "UPDATE custom_domains SET status = $3, verified_at = $4 WHERE id = $1 AND workspace_id = $2",
            [.text(domain.id), .text(domain.workspaceID), .text(domain.status.rawValue), SQLValue(domain.verifiedAt)])
    }

    public func deleteCustomDomain(id: String) throws {
        try tx.execute("DELETE FROM custom_domains WHERE id = $1", [.text(id)])
    }

    static func customDomain(_ row: Row) throws -> CustomDomain {
        CustomDomain(
            id: try row.string("id"), workspaceID: try row.string("workspace_id"), domain: try row.string("domain"),
            status: try row.enumeration("status"), verificationToken: try row.string("verification_token"),
            createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), verifiedAt: try row.optionalDate("verified_at"))
    }

    // MARK: API keys

    public func apiKey(secretHash: String) throws -> APIKey? {
        try one("SELECT * FROM api_keys WHERE secret_hash = $1", [.text(secretHash)], Self.apiKey)
    }

    public func apiKeys(workspaceID: String) throws -> [APIKey] {
        try all("SELECT * FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id", [.text(workspaceID)], Self.apiKey)
    }

    /// PostgreSQL: a row lock that a concurrent writer waits for. SQLite: nothing to do, since a
    /// write transaction (`BEGIN IMMEDIATE`) already holds the database's one writer lock.
    public func lockWorkspace(id: String) throws {
        let tx = try tx
        guard tx.dialect == .postgres else { return }
        _ = try tx.query("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE", [.text(id)])
    }

    public func insert(_ key: APIKey) throws {
        try tx.execute(
            """
            INSERT INTO api_keys (id, workspace_id, name, role, secret_hash, display_prefix, created_by, created_at, revoked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.text(key.id), .text(key.workspaceID), .text(key.name), .text(key.role.rawValue), .text(key.secretHash), .text(key.displayPrefix),
             SQLValue(key.createdBy), SQLValue(key.createdAt), SQLValue(key.revokedAt)])
    }

    public func update(_ key: APIKey) throws {
        try tx.execute("UPDATE api_keys SET name = $3, revoked_at = $4 WHERE id = $1 AND workspace_id = $2",
                       [.text(key.id), .text(key.workspaceID), .text(key.name), SQLValue(key.revokedAt)])
    }

    static func apiKey(_ row: Row) throws -> APIKey {
        APIKey(id: try row.string("id"), workspaceID: try row.string("workspace_id"), name: try row.string("name"), role: try row.enumeration("role"),
               secretHash: try row.string("secret_hash"), displayPrefix: try row.string("display_prefix"), createdBy: try row.optionalString("created_by"),
               createdAt: try row.date("created_at"), revokedAt: try row.optionalDate("revoked_at"))
    }

    // MARK: Sessions and runtime scopes

    public func identitySession(tokenHash: String) throws -> IdentitySession? {
        try one("SELECT * FROM identity_sessions WHERE token_hash = $1", [.text(tokenHash)], Self.identitySession)
    }

    public func identitySession(id: String) throws -> IdentitySession? {
        try one("SELECT * FROM identity_sessions WHERE id = $1", [.text(id)], Self.identitySession)
    }

    public func insert(_ session: IdentitySession) throws {
        try tx.execute(
            """
            INSERT INTO identity_sessions (id, workspace_id, user_id, token_hash, auth_time, amr, created_at, expires_at, revoked_at, revoke_reason,
                sign_in_method)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [.text(session.id), .text(session.workspaceID), .text(session.userID), .text(session.tokenHash), SQLValue(session.authTime),
             .json(session.amr), SQLValue(session.createdAt), SQLValue(session.expiresAt), SQLValue(session.revokedAt), SQLValue(session.revokeReason),
             SQLValue(session.signInMethod?.description)])
    }

    public func update(_ session: IdentitySession) throws {
        try tx.execute(
            "UPDATE identity_sessions SET auth_time = $2, amr = $3, expires_at = $4, revoked_at = $5, revoke_reason = $6 WHERE id = $1",
            [.text(session.id), SQLValue(session.authTime), .json(session.amr), SQLValue(session.expiresAt), SQLValue(session.revokedAt),
             SQLValue(session.revokeReason)])
    }

    public func revokeIdentitySessions(workspaceID: String, userID: String?, reason: String, at date: Date) throws -> [IdentitySession] {
        let sessions: [IdentitySession]
        if let userID {
            sessions = try all("SELECT * FROM identity_sessions WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                               [.text(workspaceID), .text(userID)], Self.identitySession)
        } else {
            sessions = try all("SELECT * FROM identity_sessions WHERE workspace_id = $1 AND revoked_at IS NULL", [.text(workspaceID)], Self.identitySession)
        }
        for session in sessions {
            try tx.execute("UPDATE identity_sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
                           [.text(session.id), SQLValue(date), .text(reason)])
        }
        return sessions.map { var s = $0; s.revokedAt = date; s.revokeReason = reason; return s }
    }

    static func identitySession(_ row: Row) throws -> IdentitySession {
        IdentitySession(id: try row.string("id"), workspaceID: try row.string("workspace_id"), userID: try row.string("user_id"),
                        tokenHash: try row.string("token_hash"), authTime: try row.date("auth_time"), amr: try row.stringList("amr"),
                        createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), revokedAt: try row.optionalDate("revoked_at"),
                        revokeReason: try row.optionalString("revoke_reason"),
                        signInMethod: try row.optionalString("sign_in_method").flatMap(AuthMethod.init))
    }

    public func runtimeScope(id: String) throws -> RuntimeScope? {
        try one("SELECT * FROM runtime_scopes WHERE id = $1", [.text(id)], Self.runtimeScope)
    }

    public func activeRuntimeScope(sessionID: String, projectID: String, environment: LambaModel.Environment) throws -> RuntimeScope? {
        try one(
            """
            SELECT * FROM runtime_scopes WHERE session_id = $1 AND project_id = $2 AND environment = $3 AND revoked_at IS NULL
            ORDER BY created_at DESC LIMIT 1
            """,
            [.text(sessionID), .text(projectID), .text(environment.rawValue)], Self.runtimeScope)
    }

    public func runtimeScopeIsLive(id: String, userID: String, projectID: String, environment: LambaModel.Environment) throws -> Bool {
        try reader.query(
            """
            SELECT 1 FROM runtime_scopes s
            JOIN users u ON u.id = s.user_id AND u.status = 'active'
            JOIN project_members m ON m.project_id = s.project_id AND m.user_id = s.user_id AND m.status = 'active'
            JOIN projects p ON p.id = s.project_id AND p.workspace_id = s.workspace_id AND p.status = 'active'
            JOIN workspaces w ON w.id = p.workspace_id AND w.status = 'active'
            LEFT JOIN identity_sessions i ON i.id = s.session_id
            WHERE s.id = $1 AND s.user_id = $2 AND s.project_id = $3 AND s.environment = $4 AND s.revoked_at IS NULL AND i.revoked_at IS NULL
            """,
            [.text(id), .text(userID), .text(projectID), .text(environment.rawValue)]).isEmpty == false
    }

    public func hasRevokedRuntimeScope(sessionID: String, projectID: String, environment: LambaModel.Environment) throws -> Bool {
        try reader.query(
            "SELECT id FROM runtime_scopes WHERE session_id = $1 AND project_id = $2 AND environment = $3 AND revoked_at IS NOT NULL LIMIT 1",
            [.text(sessionID), .text(projectID), .text(environment.rawValue)]).isEmpty == false
    }

    public func runtimeScopes(userID: String, activeOnly: Bool) throws -> [RuntimeScope] {
        if activeOnly {
            return try all("SELECT * FROM runtime_scopes WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id", [.text(userID)], Self.runtimeScope)
        }
        return try all("SELECT * FROM runtime_scopes WHERE user_id = $1 ORDER BY created_at, id", [.text(userID)], Self.runtimeScope)
    }

    public func activeRuntimeScopes(projectID: String, environment: LambaModel.Environment) throws -> [RuntimeScope] {
        try all("SELECT * FROM runtime_scopes WHERE project_id = $1 AND environment = $2 AND revoked_at IS NULL ORDER BY created_at, id",
                [.text(projectID), .text(environment.rawValue)], Self.runtimeScope)
    }

    public func insert(_ scope: RuntimeScope) throws {
        try tx.execute(
            """
            INSERT INTO runtime_scopes (id, session_id, user_id, workspace_id, project_id, environment, application_id, auth_time, created_at,
                revoked_at, revoke_reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [.text(scope.id), .text(scope.sessionID), .text(scope.userID), .text(scope.workspaceID), .text(scope.projectID),
             .text(scope.environment.rawValue), .text(scope.applicationID), SQLValue(scope.authTime), SQLValue(scope.createdAt),
             SQLValue(scope.revokedAt), SQLValue(scope.revokeReason)])
    }

    public func revokeRuntimeScopes(_ selector: RuntimeScopeSelector, reason: String, at date: Date) throws -> [RuntimeScope] {
        let scopes: [RuntimeScope]
        switch selector {
        case .scope(let id):
            scopes = try all("SELECT * FROM runtime_scopes WHERE id = $1 AND revoked_at IS NULL", [.text(id)], Self.runtimeScope)
        case .member(let projectID, let userID):
            scopes = try all("SELECT * FROM runtime_scopes WHERE project_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                             [.text(projectID), .text(userID)], Self.runtimeScope)
        case .project(let projectID, let environment?):
            scopes = try all("SELECT * FROM runtime_scopes WHERE project_id = $1 AND environment = $2 AND revoked_at IS NULL",
                             [.text(projectID), .text(environment.rawValue)], Self.runtimeScope)
        case .project(let projectID, nil):
            scopes = try all("SELECT * FROM runtime_scopes WHERE project_id = $1 AND revoked_at IS NULL", [.text(projectID)], Self.runtimeScope)
        case .workspace(let workspaceID):
            scopes = try all("SELECT * FROM runtime_scopes WHERE workspace_id = $1 AND revoked_at IS NULL", [.text(workspaceID)], Self.runtimeScope)
        case .user(let workspaceID, let userID):
            scopes = try all("SELECT * FROM runtime_scopes WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL",
                             [.text(workspaceID), .text(userID)], Self.runtimeScope)
        case .session(let sessionID):
            scopes = try all("SELECT * FROM runtime_scopes WHERE session_id = $1 AND revoked_at IS NULL", [.text(sessionID)], Self.runtimeScope)
        case .signInMethod(let projectID, let environment, let method):
            scopes = try all(
                """
                SELECT r.* FROM runtime_scopes r JOIN identity_sessions s ON s.id = r.session_id
                WHERE r.project_id = $1 AND r.environment = $2 AND r.revoked_at IS NULL AND s.sign_in_method = $3
                """,
                [.text(projectID), .text(environment.rawValue), .text(method.description)], Self.runtimeScope)
        }
        for scope in scopes {
            try tx.execute("UPDATE runtime_scopes SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
                           [.text(scope.id), SQLValue(date), .text(reason)])
        }
        return scopes.map { var s = $0; s.revokedAt = date; s.revokeReason = reason; return s }
    }

    static func runtimeScope(_ row: Row) throws -> RuntimeScope {
        RuntimeScope(id: try row.string("id"), sessionID: try row.string("session_id"), userID: try row.string("user_id"),
                     workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"), environment: try row.enumeration("environment"),
                     applicationID: try row.string("application_id"), authTime: try row.date("auth_time"), createdAt: try row.date("created_at"),
                     revokedAt: try row.optionalDate("revoked_at"), revokeReason: try row.optionalString("revoke_reason"))
    }

    // MARK: Events

    public func append(_ event: DomainEvent) throws {
        let outbox = try OutboxEvent(
            id: event.id, type: event.type.rawValue, actor: event.actor, actorType: event.attribution.actorType.rawValue,
            consoleSessionID: event.attribution.consoleSessionID, actorCreatedBy: event.attribution.apiKeyCreatedBy, workspaceID: event.workspaceID, projectID: event.projectID,
            environment: event.environment?.rawValue, sessionID: event.sessionID, occurredAt: event.occurredAt,
            data: JSON.encodeString(.object(event.data)))
        try tx.appendEvent(outbox)
    }
}
