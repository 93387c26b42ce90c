public import Foundation

// The identity model's storage, one small protocol per aggregate, so that a handler's fields say
// which records it may touch. `IdentityReader` and `IdentityWriter` compose them for the domain
// services that span the model. Every lookup by id is also scoped by the tenant that owns it where
// the caller knows it, so a foreign id reads as nil. All methods throw the store's errors; inserts
// of a duplicate key throw `StoreError.uniqueViolation`, which the store's domain transactions
// (`DomainIdentityStore`, `withDomainTransaction`) turn into `DomainError.conflict` at its boundary.

/// Lamba Users.
public protocol UserReader {
    func user(id: String) throws -> LambaUser?
    func user(email: String) throws -> LambaUser?
}

public protocol UserWriter: UserReader {
    func insert(_ user: LambaUser) throws
    func update(_ user: LambaUser) throws
}

/// Workspaces, their Projects and the Projects' environment settings.
public protocol TenantReader {
    func workspace(id: String) throws -> Workspace?
    func workspace(slug: String) throws -> Workspace?
    /// How many Workspaces exist, whatever their status (bootstrap runs only on an empty database).
    func workspaceCount() throws -> Int
    /// Workspaces where the user is a Team Member.
    func workspaces(teamMemberUserID: String) throws -> [Workspace]

    func project(id: String, workspaceID: String) throws -> Project?
    /// By globally unique slug, for issuer URLs; the caller checks status.
    func project(slug: String) throws -> Project?
    func projects(workspaceID: String) throws -> [Project]
    func environmentSettings(projectID: String, environment: Environment) throws -> EnvironmentSettings?
}

public protocol TenantWriter: TenantReader {
    func insert(_ workspace: Workspace) throws
    func update(_ workspace: Workspace) throws
    func insert(_ project: Project) throws
    func update(_ project: Project) throws
    func save(_ settings: EnvironmentSettings) throws
    /// Holds the Workspace's row until the transaction ends, so that rules spanning several of its
    /// records (its last owner credential) are decided by one writer at a time.
    func lockWorkspace(id: String) throws
}

/// Team Members, Project Members and the Projects' role catalogs.
public protocol MembershipReader {
    func teamMember(workspaceID: String, userID: String) throws -> TeamMember?
    func teamMember(id: String, workspaceID: String) throws -> TeamMember?
    func teamMembers(workspaceID: String) throws -> [TeamMember]

    func projectMember(projectID: String, userID: String) throws -> ProjectMember?
    func projectMember(id: String, projectID: String) throws -> ProjectMember?
    func projectMembers(projectID: String, includeRemoved: Bool) throws -> [ProjectMember]
    func countActiveProjectMembers(projectID: String) throws -> Int

    func roles(projectID: String) throws -> [ProjectRole]
}

public protocol MembershipWriter: MembershipReader {
    func insert(_ member: TeamMember) throws
    func update(_ member: TeamMember) throws
    func deleteTeamMember(id: String) throws
    func insert(_ member: ProjectMember) throws
    func update(_ member: ProjectMember) throws
    func insert(_ role: ProjectRole) throws
    func update(_ role: ProjectRole) throws
    func deleteRole(projectID: String, name: String) throws
}

/// OAuth clients registered in Project environments.
public protocol ClientReader {
    func client(id: String) throws -> OAuthClient?
    func clients(projectID: String, environment: Environment?) throws -> [OAuthClient]
}

public protocol ClientWriter: ClientReader {
    func insert(_ client: OAuthClient) throws
    func update(_ client: OAuthClient) throws
    func deleteClient(id: String) throws
}

/// Team and Project invites.
public protocol InviteReader {
    func invite(id: String, workspaceID: String) throws -> Invite?
    func invite(tokenHash: String) throws -> Invite?
    func invites(workspaceID: String, projectID: String?) throws -> [Invite]
}

public protocol InviteWriter: InviteReader {
    func insert(_ invite: Invite) throws
    func update(_ invite: Invite) throws
}

/// Custom domains claimed by Workspaces.
public protocol CustomDomainReader {
    func customDomain(id: String, workspaceID: String) throws -> CustomDomain?
    /// The claim on a domain (lowercased) by any Workspace: there is at most one.
    func customDomain(domain: String) throws -> CustomDomain?
    func customDomains(workspaceID: String) throws -> [CustomDomain]
}

public protocol CustomDomainWriter: CustomDomainReader {
    /// Throws `StoreError.uniqueViolation` when any Workspace holds a claim on the domain.
    func insert(_ domain: CustomDomain) throws
    func update(_ domain: CustomDomain) throws
    func deleteCustomDomain(id: String) throws
}

/// Workspace API keys of the console.
public protocol APIKeyReader {
    func apiKey(secretHash: String) throws -> APIKey?
    func apiKeys(workspaceID: String) throws -> [APIKey]
}

public protocol APIKeyWriter: APIKeyReader {
    func insert(_ key: APIKey) throws
    func update(_ key: APIKey) throws
}

/// Identity sessions and the runtime scopes under them (docs/sessions-and-scopes.md).
public protocol SessionReader {
    func identitySession(tokenHash: String) throws -> IdentitySession?
    func identitySession(id: String) throws -> IdentitySession?
    func runtimeScope(id: String) throws -> RuntimeScope?
    /// The newest active scope of a session in a Project environment.
    func activeRuntimeScope(sessionID: String, projectID: String, environment: Environment) throws -> RuntimeScope?
    /// `RuntimeScopeLiveness` in one query, for writes that need only the answer; the store
    /// contract tests hold it to the rule over every combination of the records it reads.
    func runtimeScopeIsLive(id: String, userID: String, projectID: String, environment: Environment) throws -> Bool
    /// Whether a scope of this session in this Project environment was ever revoked
    /// (docs/sessions-and-scopes.md#never-auto-heal).
    func hasRevokedRuntimeScope(sessionID: String, projectID: String, environment: Environment) throws -> Bool
    func runtimeScopes(userID: String, activeOnly: Bool) throws -> [RuntimeScope]
    /// The active scopes of one Project environment (a login method change decides which to end).
    func activeRuntimeScopes(projectID: String, environment: Environment) throws -> [RuntimeScope]
    /// The active identity sessions of a user on one Workspace's auth host, oldest first.
    func activeIdentitySessions(workspaceID: String, userID: String) throws -> [IdentitySession]
    /// The Workspaces where the user holds an active identity session.
    func identitySessionWorkspaces(userID: String) throws -> [String]
}

public protocol SessionWriter: SessionReader {
    func insert(_ session: IdentitySession) throws
    func update(_ session: IdentitySession) throws
    func insert(_ scope: RuntimeScope) throws
    /// Revokes the active runtime scopes that match, returning them; tokens bound to them die with them.
    func revokeRuntimeScopes(_ selector: RuntimeScopeSelector, reason: String, at date: Date) throws -> [RuntimeScope]
    /// Revokes the active identity sessions of a Workspace, optionally of one user, returning them.
    func revokeIdentitySessions(workspaceID: String, userID: String?, reason: String, at date: Date) throws -> [IdentitySession]
}

/// Social providers and the upstream accounts linked to users.
public protocol UpstreamProviderReader {
    /// A social provider by id, deleted ones included (sessions and events still name them).
    func upstreamProvider(id: String) throws -> UpstreamProvider?
    /// The providers of one Project environment that are not deleted, oldest first.
    func upstreamProviders(projectID: String, environment: Environment) throws -> [UpstreamProvider]
    func linkedIdentity(providerID: String, subject: String) throws -> LinkedIdentity?
    /// Every upstream account linked to a user, in every Project environment, oldest first.
    func linkedIdentities(userID: String) throws -> [LinkedIdentity]
    func countLinkedIdentities(providerID: String) throws -> Int
}

public protocol UpstreamProviderWriter: UpstreamProviderReader {
    func insert(_ provider: UpstreamProvider) throws
    func update(_ provider: UpstreamProvider) throws
    /// Throws `StoreError.uniqueViolation` when the upstream account or the user is linked already.
    func insert(_ identity: LinkedIdentity) throws
    func deleteLinkedIdentity(id: String) throws
    /// Removes every link of a provider (it is being deleted); returns the removed links.
    func deleteLinkedIdentities(providerID: String) throws -> [LinkedIdentity]
}

/// The event outbox: an event is part of the transaction that makes the change it describes.
public protocol EventLog {
    func append(_ event: DomainEvent) throws
}

/// Reads of the whole identity model inside one consistent snapshot, for the domain services.
public protocol IdentityReader: UserReader, TenantReader, MembershipReader, ClientReader, InviteReader, CustomDomainReader, APIKeyReader,
    SessionReader, UpstreamProviderReader, ConsoleAccessReader, AccountTokenReader, SecondFactorReader, PasskeyReader {}

/// Changes to the whole identity model; each is part of the surrounding transaction, together with
/// the events appended in it.
public protocol IdentityWriter: IdentityReader, UserWriter, TenantWriter, MembershipWriter, ClientWriter, InviteWriter, CustomDomainWriter,
    APIKeyWriter, SessionWriter, UpstreamProviderWriter, ConsoleAccessWriter, AccountTokenWriter, SecondFactorWriter, PasskeyWriter, MailOutbox, EventLog {}

/// Which runtime scopes a revocation reaches. Revoke granularity is the Project: there is
/// deliberately no selector by client (`applicationID` is audit-only).
public enum RuntimeScopeSelector: Sendable, Hashable {
    case scope(id: String)
    /// One user's scopes in one Project (membership removed or role changed).
    case member(projectID: String, userID: String)
    /// Every scope of a Project environment, or of both when nil (deactivation, login method change).
    case project(projectID: String, environment: Environment?)
    /// Every scope in a Workspace (deactivation, forced logout).
    case workspace(workspaceID: String)
    /// Every scope of one user in one Workspace (provider linked or unlinked).
    case user(workspaceID: String, userID: String)
    /// Every scope under one identity session.
    case session(sessionID: String)
    /// The scopes of a Project environment whose identity session was established through one
    /// sign-in method (a social provider disabled, removed or re-pointed).
    case signInMethod(projectID: String, environment: Environment, method: AuthMethod)
}

/// Transactions over the identity model.
public protocol IdentityStore: Sendable {
    /// - Throws: the body's error, or the store's.
    func write<T: Sendable>(_ body: @escaping @Sendable (any IdentityWriter) throws -> T) async throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any IdentityReader) throws -> T) async throws -> T
}
