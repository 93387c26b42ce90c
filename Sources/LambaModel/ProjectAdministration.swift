public import Foundation
import LambaJOSE

/// Projects, their environments, role catalogs and OAuth clients, as operators manage them.
public struct ProjectAdministration: Sendable {
    public let store: any IdentityStore

    public init(store: any IdentityStore) {
        self.store = store
    }

    // MARK: Projects

    /// Creates a Project with both environments and the starter role catalog.
    public func createProject(_ caller: ConsoleCaller, slug: String, name: String, visibility: Project.Visibility) async throws -> Project {
        try caller.require(.projectsCreate)
        try Slug.validate(slug)
        let name = try MemberLifecycle.validateName(name)
        return try await store.write { tx in
            guard let workspace = try tx.workspace(id: caller.workspaceID), workspace.status == .active else {
                throw DomainError.refused("the workspace is deactivated")
            }
            let maximum = workspace.plan.limits.projects
            // Deactivated Projects free their seat; their slugs stay taken (issuer URLs never move).
            guard try tx.projects(workspaceID: workspace.id).filter({ $0.status == .active }).count < maximum else {
                throw DomainError.limitExceeded(limit: "projects", maximum: maximum)
            }
            guard try tx.project(slug: slug) == nil else { throw DomainError.conflict("project slug \(slug) is taken") }
            let project = Project(workspaceID: workspace.id, slug: slug, name: name, visibility: visibility)
            try tx.insert(project)
            for environment in Environment.allCases {
                try tx.save(EnvironmentSettings(projectID: project.id, environment: environment))
            }
            for role in ProjectRole.starterCatalog(projectID: project.id) { try tx.insert(role) }
            try tx.append(DomainEvent(type: .projectCreated, by: caller, workspaceID: workspace.id, projectID: project.id, data: [
                "project_id": .string(project.id), "slug": .string(slug), "visibility": .string(visibility.rawValue),
            ]))
            return project
        }
    }

    public func updateProject(_ caller: ConsoleCaller, projectID: String, name: String?, visibility: Project.Visibility?) async throws -> Project {
        try caller.require(.projectManage, inProject: projectID)
        let name = try name.map { try MemberLifecycle.validateName($0) }
        return try await store.write { tx in
            var project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            if let name { project.name = name }
            if let visibility { project.visibility = visibility }
            try tx.update(project)
            // A private Project admits nobody on their own
            // (docs/access-model.md#public-and-private-projects): going private closes public join and
            // register.
            if visibility == .private {
                for environment in Environment.allCases {
                    guard var settings = try tx.environmentSettings(projectID: project.id, environment: environment),
                        settings.allowPublicJoin || settings.allowRegister
                    else { continue }
                    settings.allowPublicJoin = false
                    settings.allowRegister = false
                    try tx.save(settings)
                    try tx.append(DomainEvent(type: .environmentUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
                                              environment: environment, data: [
                        "allow_public_join": .bool(false), "allow_register": .bool(false), "reason": .string("project_private"),
                    ]))
                }
            }
            try tx.append(DomainEvent(type: .projectUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "name": .string(project.name), "visibility": .string(project.visibility.rawValue),
            ]))
            return project
        }
    }

    /// Deactivation ends every runtime scope of the Project in both environments. Identity sessions
    /// stay: they belong to the Workspace's auth host and may still enter its other Projects.
    public func deactivateProject(_ caller: ConsoleCaller, projectID: String) async throws -> Project {
        try caller.require(.projectManage, inProject: projectID)
        return try await store.write { tx in
            var project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            project.status = .deactivated
            try tx.update(project)
            try MemberLifecycle.invalidate(tx, .project(projectID: project.id, environment: nil), reason: "project_deactivated", listingIDs: false,
                                           DomainEvent(type: .projectDeactivated, by: caller, workspaceID: caller.workspaceID,
                                                       projectID: project.id, data: ["project_id": .string(project.id)]))
            return project
        }
    }

    // MARK: Environments

    public struct EnvironmentChanges: Sendable {
        public var authMethods: [AuthMethod]?
        public var allowPublicJoin: Bool?
        public var allowRegister: Bool?
        public var requireVerifiedEmail: Bool?
        public var requireMFA: Bool?
        public var defaultJoinRole: String?
        public var accessTokenLifetimeSeconds: Int?
        public var idTokenLifetimeSeconds: Int?
        public var refreshTokenLifetimeSeconds: Int?
        public var accessTokenAlgorithm: String?
        public var dynamicClientRegistration: DynamicClientRegistration?
        public var refreshTokenReuseGraceSeconds: Int?
        public init() {}
    }

    /// Applies environment changes. A change of sign-in methods is checked against the active runtime
    /// Project Members first (docs/access-model.md#auth-method-guard): if some would be left without a way
    /// to sign in, it is refused with their number and the methods they use. Removing a method ends the
    /// environment's runtime scopes signed in with it (`endRemovedSignIns`,
    /// docs/sessions-and-scopes.md#sign-in-method-changed).
    public func updateEnvironment(_ caller: ConsoleCaller, projectID: String, environment: Environment, _ changes: EnvironmentChanges) async throws -> EnvironmentSettings {
        try caller.require(.projectManage, inProject: projectID)
        if let lifetime = changes.accessTokenLifetimeSeconds { try Self.checkLifetime(lifetime, "access_token_lifetime_seconds", 60...86_400) }
        if let lifetime = changes.idTokenLifetimeSeconds { try Self.checkLifetime(lifetime, "id_token_lifetime_seconds", 60...86_400) }
        if let lifetime = changes.refreshTokenLifetimeSeconds { try Self.checkLifetime(lifetime, "refresh_token_lifetime_seconds", 300...(365 * 86_400)) }
        if let grace = changes.refreshTokenReuseGraceSeconds {
            try Self.checkLifetime(grace, "refresh_token_reuse_grace_seconds", 0...EnvironmentSettings.maximumRefreshTokenReuseGraceSeconds)
        }
        if let alg = changes.accessTokenAlgorithm, JWSAlgorithm(rawValue: alg) == nil {
            throw DomainError.invalid(field: "access_token_algorithm", reason: "must be one of RS256, PS256, ES256, EdDSA")
        }
        if let methods = changes.authMethods {
            guard !methods.isEmpty else { throw DomainError.invalid(field: "auth_methods", reason: "must keep at least one sign-in method") }
            guard Set(methods).count == methods.count else { throw DomainError.invalid(field: "auth_methods", reason: "must not repeat a method") }
        }
        return try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            guard var settings = try tx.environmentSettings(projectID: project.id, environment: environment) else {
                throw DomainError.notFound("environment \(environment.rawValue)")
            }
            let previousMethods = settings.authMethods
            var loginMethodsChanged = false
            if let methods = changes.authMethods, methods != settings.authMethods {
                try Self.checkLoginMethods(tx, project: project, environment: environment, methods)
                settings.authMethods = methods
                loginMethodsChanged = true
            }
            if let role = changes.defaultJoinRole {
                try MemberLifecycle.requireRole(tx, projectID: project.id, role)
                settings.defaultJoinRole = role
            }
            if let value = changes.allowPublicJoin { settings.allowPublicJoin = value }
            if let value = changes.allowRegister { settings.allowRegister = value }
            if let value = changes.requireVerifiedEmail { settings.requireVerifiedEmail = value }
            if let value = changes.requireMFA { settings.requireMFA = value }
            if (settings.allowPublicJoin || settings.allowRegister), project.visibility == .private {
                throw DomainError.refused("a private project cannot allow public join or register; make it public first")
            }
            if let value = changes.accessTokenLifetimeSeconds { settings.accessTokenLifetimeSeconds = value }
            if let value = changes.idTokenLifetimeSeconds { settings.idTokenLifetimeSeconds = value }
            if let value = changes.refreshTokenLifetimeSeconds { settings.refreshTokenLifetimeSeconds = value }
            if let value = changes.accessTokenAlgorithm { settings.accessTokenAlgorithm = value }
            if let value = changes.dynamicClientRegistration { settings.dynamicClientRegistration = value }
            if let value = changes.refreshTokenReuseGraceSeconds { settings.refreshTokenReuseGraceSeconds = value }
            try tx.save(settings)
            let event = DomainEvent(type: .environmentUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id,
                                    environment: environment, data: [
                "auth_methods": .array(settings.authMethods.map { .string($0.description) }),
                "login_methods_changed": .bool(loginMethodsChanged), "require_mfa": .bool(settings.requireMFA ?? false),
            ])
            if loginMethodsChanged {
                try Self.endRemovedSignIns(tx, settings, previous: previousMethods, reason: "login_method_changed", event)
            } else {
                try tx.append(event)
            }
            return settings
        }
    }

    /// Checks a new list of an environment's sign-in methods inside the write: each `provider:{id}` names a
    /// live provider of this Project environment, and the auth-method guard
    /// (docs/access-model.md#auth-method-guard) lets nobody be stranded. Shape checks (not empty, no
    /// repeats) come before the write.
    static func checkLoginMethods(_ tx: any IdentityReader, project: Project, environment: Environment, _ methods: [AuthMethod]) throws {
        for case .provider(let id) in methods {
            guard let provider = try tx.upstreamProvider(id: id), provider.deletedAt == nil, provider.projectID == project.id,
                provider.environment == environment
            else { throw DomainError.invalid(field: "auth_methods", reason: "provider:\(id) is not a provider of \(environment.rawValue)") }
        }
        try AuthMethodGuard.check(tx, project: project, environment: environment, newMethods: methods)
    }

    /// The "login method or provider setting changed" trigger
    /// (docs/sessions-and-scopes.md#sign-in-method-changed) for a change of sign-in methods already saved
    /// in `settings`, whichever console route made it: the runtime scopes of this environment whose
    /// identity session signed in with a removed method (its recorded `signInMethod`, the exact provider)
    /// end; the other environment, other Projects, sessions that used a method still offered, and the
    /// global sessions stay. A method only added takes nobody's way in away, so nothing is revoked for it.
    /// Writes `event` once, with the methods added and removed and what ended, then one
    /// `runtime_scope.revoked` per scope.
    @discardableResult
    static func endRemovedSignIns(_ tx: any IdentityWriter, _ settings: EnvironmentSettings, previous: [AuthMethod], reason: String,
                                  _ event: DomainEvent) throws -> [RuntimeScope] {
        let removed = previous.filter { !settings.authMethods.contains($0) }
        let added = settings.authMethods.filter { !previous.contains($0) }
        var event = event
        event.data["auth_methods"] = .array(settings.authMethods.map { .string($0.description) })
        event.data["login_methods_changed"] = .bool(true)
        event.data["auth_methods_added"] = .array(added.map { .string($0.description) })
        event.data["auth_methods_removed"] = .array(removed.map { .string($0.description) })
        let ending = removed.map { RuntimeScopeSelector.signInMethod(projectID: settings.projectID, environment: settings.environment, method: $0) }
        return try MemberLifecycle.invalidate(tx, ending, reason: reason, listingIDs: false, event)
    }

    private static func checkLifetime(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws(DomainError) {
        guard range.contains(value) else { throw .invalid(field: field, reason: "must be between \(range.lowerBound) and \(range.upperBound)") }
    }

    // MARK: Role catalog

    public func createRole(_ caller: ConsoleCaller, projectID: String, name: String, description: String, permissions: [String]) async throws -> ProjectRole {
        try caller.require(.rolesManage, inProject: projectID)
        try ProjectRole.validateName(name)
        try ProjectRole.validatePermissions(permissions)
        guard description.count <= 500 else { throw DomainError.invalid(field: "description", reason: "must be at most 500 characters") }
        return try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            guard !(try tx.roles(projectID: project.id).contains { $0.name == name }) else { throw DomainError.conflict("role \(name) exists") }
            let role = ProjectRole(projectID: project.id, name: name, description: description, permissions: permissions)
            try tx.insert(role)
            try tx.append(DomainEvent(type: .roleCreated, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "role": .string(name), "permissions": .array(permissions.map(JSONValue.string)),
            ]))
            return role
        }
    }

    /// Built-in roles may change their permissions but never be emptied (validation refuses an
    /// empty list); their names never change.
    public func updateRole(_ caller: ConsoleCaller, projectID: String, name: String, description: String?, permissions: [String]?) async throws -> ProjectRole {
        try caller.require(.rolesManage, inProject: projectID)
        if let permissions, !permissions.isEmpty { try ProjectRole.validatePermissions(permissions) }
        if let description, description.count > 500 { throw DomainError.invalid(field: "description", reason: "must be at most 500 characters") }
        return try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            guard var role = try tx.roles(projectID: project.id).first(where: { $0.name == name }) else { throw DomainError.notFound("role \(name)") }
            if let permissions, permissions.isEmpty {
                if role.builtIn { throw DomainError.refused("\(name) is a built-in role and cannot be emptied") }
                try ProjectRole.validatePermissions(permissions)
            }
            if let description { role.description = description }
            if let permissions { role.permissions = permissions }
            try tx.update(role)
            try tx.append(DomainEvent(type: .roleUpdated, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "role": .string(name), "permissions": .array(role.permissions.map(JSONValue.string)),
            ]))
            return role
        }
    }

    /// Deletes a custom role. Built-ins are refused; so is a role still held by active members.
    public func deleteRole(_ caller: ConsoleCaller, projectID: String, name: String) async throws {
        try caller.require(.rolesManage, inProject: projectID)
        try await store.write { tx in
            let project = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            guard let role = try tx.roles(projectID: project.id).first(where: { $0.name == name }) else { throw DomainError.notFound("role \(name)") }
            guard !role.builtIn else { throw DomainError.refused("\(name) is a built-in role and cannot be deleted") }
            let holders = try tx.projectMembers(projectID: project.id, includeRemoved: false).filter { $0.roles.contains(name) }.count
            guard holders == 0 else { throw DomainError.refused("\(holders) active members hold \(name); give them another role first") }
            for environment in Environment.allCases where try tx.environmentSettings(projectID: project.id, environment: environment)?.defaultJoinRole == name {
                throw DomainError.refused("\(name) is the join role of \(environment.rawValue); choose another join role first")
            }
            try tx.deleteRole(projectID: project.id, name: name)
            try tx.append(DomainEvent(type: .roleDeleted, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: ["role": .string(name)]))
        }
    }

    // MARK: OAuth clients

    public struct ClientRegistration: Sendable {
        public var name: String
        public var type: OAuthClient.ClientType
        public var redirectURIs: [String]
        public var postLogoutRedirectURIs: [String] = []
        public var grantTypes: [String] = ["authorization_code", "refresh_token"]
        public var tokenEndpointAuthMethod: OAuthClient.AuthMethod?
        public var firstParty: Bool = false
        public var idTokenSignedResponseAlg: String = "RS256"
        public var jwks: String?
        /// The scopes the client may ask for; nil for every scope Lamba issues.
        public var scopes: [String]?

        public init(name: String, type: OAuthClient.ClientType, redirectURIs: [String]) {
            self.name = name
            self.type = type
            self.redirectURIs = redirectURIs
        }
    }

    public static let supportedGrantTypes: Set<String> = ["authorization_code", "refresh_token", "client_credentials"]

    /// Checks a registration and builds the client; the secret, for confidential clients using a
    /// `client_secret_*` method, is returned once and stored hashed.
    public static func makeClient(_ registration: ClientRegistration, workspaceID: String, projectID: String, environment: Environment,
                                  dynamically: Bool = false) throws -> (OAuthClient, secret: String?) {
        let name = try MemberLifecycle.validateName(registration.name, field: "client_name")
        guard registration.redirectURIs.count <= 20, registration.postLogoutRedirectURIs.count <= 20 else {
            throw DomainError.invalid(field: "redirect_uris", reason: "must hold at most 20 URIs")
        }
        for uri in registration.redirectURIs { try OAuthClient.validateRedirectURI(uri) }
        for uri in registration.postLogoutRedirectURIs { try OAuthClient.validateRedirectURI(uri, field: "post_logout_redirect_uris") }
        guard !registration.grantTypes.isEmpty, Set(registration.grantTypes).isSubset(of: supportedGrantTypes) else {
            throw DomainError.invalid(field: "grant_types", reason: "must be among authorization_code, refresh_token, client_credentials")
        }
        if registration.grantTypes.contains("authorization_code"), registration.redirectURIs.isEmpty {
            throw DomainError.invalid(field: "redirect_uris", reason: "are required for the authorization_code grant")
        }
        guard JWSAlgorithm(rawValue: registration.idTokenSignedResponseAlg) != nil else {
            throw DomainError.invalid(field: "id_token_signed_response_alg", reason: "must be one of RS256, PS256, ES256, EdDSA")
        }
        let method: OAuthClient.AuthMethod
        switch registration.type {
        case .public:
            method = registration.tokenEndpointAuthMethod ?? .none
            guard method == .none else { throw DomainError.invalid(field: "token_endpoint_auth_method", reason: "must be none for a public client") }
            guard !registration.grantTypes.contains("client_credentials") else {
                throw DomainError.invalid(field: "grant_types", reason: "client_credentials needs a confidential client")
            }
        case .confidential:
            method = registration.tokenEndpointAuthMethod ?? .clientSecretBasic
            guard method != .none else { throw DomainError.invalid(field: "token_endpoint_auth_method", reason: "a confidential client must authenticate") }
        }
        if method == .privateKeyJWT {
            guard let jwks = registration.jwks, let set = try? JWKSet(jsonBytes: Array(jwks.utf8)), !set.keys.isEmpty,
                set.keys.allSatisfy({ !$0.isPrivate })
            else { throw DomainError.invalid(field: "jwks", reason: "private_key_jwt needs a JWK Set of public signing keys") }
        }
        let secret: OpaqueSecret? = (method == .clientSecretBasic || method == .clientSecretPost) ? OpaqueSecret.generate(prefix: "lmb_cs_") : nil
        let client = OAuthClient(
            workspaceID: workspaceID, projectID: projectID, environment: environment, name: name, type: registration.type,
            tokenEndpointAuthMethod: method, secretHash: secret?.hash, redirectURIs: registration.redirectURIs,
            postLogoutRedirectURIs: registration.postLogoutRedirectURIs, grantTypes: registration.grantTypes,
            firstParty: registration.firstParty, idTokenSignedResponseAlg: registration.idTokenSignedResponseAlg,
            jwks: method == .privateKeyJWT ? registration.jwks : nil, registeredDynamically: dynamically)
        var made = client
        if let scopes = registration.scopes { made.scopes = scopes }
        return (made, secret?.value)
    }

    /// Sandbox and production never share redirect URIs (docs/access-model.md#environment-isolation): a URI
    /// registered by a client of the other environment of the same Project is refused. Dynamic registration
    /// calls this too.
    public static func checkRedirectURIsNotShared(_ tx: any IdentityReader, _ client: OAuthClient) throws {
        let mine = Set(client.redirectURIs + client.postLogoutRedirectURIs)
        guard !mine.isEmpty else { return }
        for environment in Environment.allCases where environment != client.environment {
            for other in try tx.clients(projectID: client.projectID, environment: environment) {
                if let shared = mine.intersection(other.redirectURIs + other.postLogoutRedirectURIs).sorted().first {
                    throw DomainError.invalid(field: "redirect_uris",
                                              reason: "\(shared) is registered in \(environment.rawValue); sandbox and production never share redirect URIs")
                }
            }
        }
    }

    public func createClient(_ caller: ConsoleCaller, projectID: String, environment: Environment, _ registration: ClientRegistration) async throws -> (OAuthClient, secret: String?) {
        try caller.require(.clientsManage, inProject: projectID)
        let (client, secret) = try Self.makeClient(registration, workspaceID: caller.workspaceID, projectID: projectID, environment: environment)
        try await store.write { tx in
            _ = try MemberLifecycle.activeProject(tx, projectID, caller.workspaceID)
            try Self.checkRedirectURIsNotShared(tx, client)
            try tx.insert(client)
            try tx.append(DomainEvent(type: .clientCreated, by: caller, workspaceID: caller.workspaceID, projectID: projectID,
                                      environment: environment, data: [
                "client_id": .string(client.id), "type": .string(client.type.rawValue), "first_party": .bool(client.firstParty),
            ]))
        }
        return (client, secret)
    }

    /// Loads a client of the caller's tenant; another Workspace's or Project's client is not found. With an
    /// environment, a client of the other environment is not found either
    /// (docs/access-model.md#environment-isolation).
    public func client(_ caller: ConsoleCaller, projectID: String, environment: Environment? = nil, clientID: String) async throws -> OAuthClient {
        try caller.require(.clientsRead, inProject: projectID)
        return try await store.read { tx in try Self.ownedClient(tx, caller, projectID, environment, clientID) }
    }

    /// The clients of one Project environment, oldest first.
    public func clients(_ caller: ConsoleCaller, projectID: String, environment: Environment) async throws -> [OAuthClient] {
        try caller.require(.clientsRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            return try tx.clients(projectID: projectID, environment: environment)
        }
    }

    static func ownedClient(_ tx: any IdentityReader, _ caller: ConsoleCaller, _ projectID: String, _ environment: Environment?,
                            _ clientID: String) throws -> OAuthClient {
        guard let client = try tx.client(id: clientID), client.workspaceID == caller.workspaceID, client.projectID == projectID,
            environment == nil || client.environment == environment
        else { throw DomainError.notFound("client \(clientID)") }
        return client
    }

    public func rotateClientSecret(_ caller: ConsoleCaller, projectID: String, environment: Environment? = nil, clientID: String) async throws -> String {
        try caller.require(.clientsManage, inProject: projectID)
        let secret = OpaqueSecret.generate(prefix: "lmb_cs_")
        try await store.write { tx in
            var client = try Self.ownedClient(tx, caller, projectID, environment, clientID)
            guard client.secretHash != nil else { throw DomainError.refused("this client does not authenticate with a secret") }
            client.secretHash = secret.hash
            try tx.update(client)
            try tx.append(DomainEvent(type: .clientSecretRotated, by: caller, workspaceID: caller.workspaceID, projectID: projectID,
                                      environment: client.environment, data: ["client_id": .string(client.id)]))
        }
        return secret.value
    }

    public func deleteClient(_ caller: ConsoleCaller, projectID: String, environment: Environment? = nil, clientID: String) async throws {
        try caller.require(.clientsManage, inProject: projectID)
        try await store.write { tx in
            let client = try Self.ownedClient(tx, caller, projectID, environment, clientID)
            try tx.deleteClient(id: client.id)
            try tx.append(DomainEvent(type: .clientDeleted, by: caller, workspaceID: caller.workspaceID, projectID: projectID,
                                      environment: client.environment, data: ["client_id": .string(client.id)]))
        }
    }
}

/// The auth-method guard (docs/access-model.md#auth-method-guard): a change of an environment's sign-in
/// methods is checked against the active runtime Project Members (Team Members do not count), using the
/// selected environment's effective config: their password and the accounts they linked to this
/// environment's social providers.
public enum AuthMethodGuard {
    static func check(_ tx: any IdentityReader, project: Project, environment: Environment, newMethods: [AuthMethod]) throws {
        var stranded = 0
        var theirMethods: Set<String> = []
        for member in try tx.projectMembers(projectID: project.id, includeRemoved: false) {
            guard let user = try tx.user(id: member.userID), user.status == .active else { continue }
            let paths = try signInPaths(tx, of: user, projectID: project.id, environment: environment)
            if paths.isDisjoint(with: newMethods) {
                stranded += 1
                theirMethods.formUnion(paths.map(\.description))
            }
        }
        guard stranded == 0 else {
            let methods = theirMethods.isEmpty ? "none" : theirMethods.sorted().joined(separator: ", ")
            throw DomainError.refused(
                "\(stranded) active project members of \(environment.rawValue) would have no way to sign in (they use: \(methods)); "
                    + "keep one of these methods, or have them add another sign-in method first (a password, a passkey, or a provider linked at /me/providers)")
        }
    }

    /// The ways a user could sign in to one Project environment, whether enabled there or not: a
    /// password, a passkey, and each account linked to one of the environment's social providers.
    public static func signInPaths(_ tx: any IdentityReader, of user: LambaUser, projectID: String, environment: Environment) throws -> Set<AuthMethod> {
        var paths: Set<AuthMethod> = user.passwordHash == nil ? [] : [.password]
        // A passkey is scoped to the RP ID (the issuer's host), which every environment of one installation shares.
        if try tx.passkeyCount(userID: user.id) > 0 { paths.insert(.passkey) }
        for link in try tx.linkedIdentities(userID: user.id) where link.projectID == projectID && link.environment == environment {
            paths.insert(.provider(link.providerID))
        }
        return paths
    }

    /// The sign-in paths that work today: those enabled in the environment's effective config.
    public static func usablePaths(_ tx: any IdentityReader, of user: LambaUser, settings: EnvironmentSettings) throws -> Set<AuthMethod> {
        try signInPaths(tx, of: user, projectID: settings.projectID, environment: settings.environment).intersection(settings.authMethods)
    }
}
