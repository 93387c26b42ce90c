public import Foundation
import LambaJOSE
import LambaPasswords

/// Workspaces, their API keys, security posture and lifecycle.
public struct WorkspaceAdministration: Sendable {
    public let store: any IdentityStore

    public let clock: WallClock

    public init(store: any IdentityStore, clock: WallClock = .system) {
        self.clock = clock
        self.store = store
    }

    public struct Bootstrap: Sendable {
        public let user: LambaUser
        public let workspace: Workspace
        public let apiKey: APIKey
        /// Shown once; only its hash is stored.
        public let apiKeySecret: String
    }

    /// First run: the first user, their Workspace (as owner) and an owner API key. Refused on a
    /// database that already has a Workspace.
    public func bootstrap(email: String, password: String?, name: String, workspaceSlug: String, workspaceName: String) async throws -> Bootstrap {
        try await provision(email: email, password: password, name: name, workspaceSlug: workspaceSlug, workspaceName: workspaceName, firstRun: true)
    }

    /// A further Workspace (sign-up, or an operator of the installation): its owner, found by email
    /// or created, and an owner API key.
    public func createWorkspace(email: String, password: String?, name: String, workspaceSlug: String, workspaceName: String) async throws -> Bootstrap {
        try await provision(email: email, password: password, name: name, workspaceSlug: workspaceSlug, workspaceName: workspaceName, firstRun: false)
    }

    private func provision(email: String, password: String?, name: String, workspaceSlug: String, workspaceName: String, firstRun: Bool) async throws -> Bootstrap {
        let email = try EmailAddress.normalize(email)
        try Slug.validate(workspaceSlug, field: "workspace_slug")
        let name = try MemberLifecycle.validateName(name)
        let workspaceName = try MemberLifecycle.validateName(workspaceName, field: "workspace_name")
        if let password { try MemberLifecycle.validatePassword(password) }
        let passwordHash: String?
        if let password { passwordHash = try await PasswordHasher.hashOffPool(password) } else { passwordHash = nil }
        let secret = OpaqueSecret.generate(prefix: "lmb_sk_")
        return try await store.write { tx in
            // The installation's own Workspace does not count: it is made on every first start.
            if firstRun, try tx.workspaceCount() > (tx.installation() == nil ? 0 : 1) {
                throw DomainError.refused("the database already has a workspace: bootstrap runs once, on an empty database")
            }
            guard try tx.workspace(slug: workspaceSlug) == nil else { throw DomainError.conflict("workspace \(workspaceSlug) exists") }
            let user: LambaUser
            if let existing = try tx.user(email: email) {
                user = existing
            } else {
                user = LambaUser(email: email, emailVerified: true, name: name, passwordHash: passwordHash)
                try tx.insert(user)
                try tx.append(DomainEvent(type: .userCreated, actor: "system", workspaceID: nil, data: ["user_id": .string(user.id)]))
            }
            let workspace = Workspace(slug: workspaceSlug, name: workspaceName)
            try tx.insert(workspace)
            let owner = TeamMember(workspaceID: workspace.id, userID: user.id, workspaceRole: .owner)
            try tx.insert(owner)
            let key = APIKey(id: EntityID.generate(.apiKey), workspaceID: workspace.id, name: "owner key", role: .owner,
                             secretHash: secret.hash, displayPrefix: String(secret.value.prefix(12)), createdBy: user.id, createdAt: clock.now(), revokedAt: nil)
            try tx.insert(key)
            try tx.append(DomainEvent(type: .workspaceCreated, actor: user.id, workspaceID: workspace.id, data: [
                "workspace_id": .string(workspace.id), "slug": .string(workspace.slug), "owner_user_id": .string(user.id),
            ]))
            try tx.append(DomainEvent(type: .teamMemberAdded, actor: user.id, workspaceID: workspace.id, data: [
                "team_member_id": .string(owner.id), "user_id": .string(user.id), "workspace_role": .string(owner.workspaceRole.rawValue),
            ]))
            try tx.append(DomainEvent(type: .apiKeyCreated, actor: user.id, workspaceID: workspace.id, data: [
                "api_key_id": .string(key.id), "role": .string(key.role.rawValue),
            ]))
            return Bootstrap(user: user, workspace: workspace, apiKey: key, apiKeySecret: secret.value)
        }
    }

    /// Resolves a presented API key to the caller it acts as; nil for unknown or revoked keys and
    /// for deactivated Workspaces. The lookup is by hash, so timing says nothing about the key.
    public func authenticate(apiKey presented: String) async throws -> ConsoleCaller? {
        guard presented.utf8.count <= 256 else { return nil }
        let hash = OpaqueSecret.hash(presented)
        return try await store.read { tx in
            guard let key = try tx.apiKey(secretHash: hash), key.revokedAt == nil,
                let workspace = try tx.workspace(id: key.workspaceID), workspace.status == .active
            else { return nil }
            return ConsoleCaller(principal: .apiKey(id: key.id, createdBy: key.createdBy), workspaceID: key.workspaceID, workspaceRole: key.role)
        }
    }

    public func createAPIKey(_ caller: ConsoleCaller, name: String, role: WorkspaceRole) async throws -> (APIKey, secret: String) {
        try caller.require(.apiKeysManage)
        try MemberLifecycle.requireAssignable(role, by: caller)
        let name = try MemberLifecycle.validateName(name)
        let secret = OpaqueSecret.generate(prefix: "lmb_sk_")
        let key = try await store.write { tx in
            let key = APIKey(id: EntityID.generate(.apiKey), workspaceID: caller.workspaceID, name: name, role: role, secretHash: secret.hash,
                             displayPrefix: String(secret.value.prefix(12)), createdBy: caller.actor, createdAt: clock.now(), revokedAt: nil)
            try tx.insert(key)
            try tx.append(DomainEvent(type: .apiKeyCreated, by: caller, workspaceID: caller.workspaceID, data: [
                "api_key_id": .string(key.id), "role": .string(role.rawValue),
            ]))
            return key
        }
        return (key, secret.value)
    }

    /// Revokes a key. The Workspace's last active owner key cannot be revoked (`WorkspaceOwnership`).
    public func revokeAPIKey(_ caller: ConsoleCaller, keyID: String) async throws {
        try caller.require(.apiKeysManage)
        try await store.write { tx in
            guard var key = try tx.apiKeys(workspaceID: caller.workspaceID).first(where: { $0.id == keyID }), key.revokedAt == nil else {
                throw DomainError.notFound("api key \(keyID)")
            }
            if key.role == .owner { try WorkspaceOwnership.requireOwnersRemain(tx, workspaceID: caller.workspaceID, after: .apiKey(id: key.id)) }
            key.revokedAt = clock.now()
            try tx.update(key)
            try tx.append(DomainEvent(type: .apiKeyRevoked, by: caller, workspaceID: caller.workspaceID, data: ["api_key_id": .string(key.id)]))
        }
    }

    public struct WorkspaceChanges: Sendable {
        public var name: String?
        public var plan: Plan?
        public var customDomains: [String]?
        public var sessionMaxAgeSeconds: Int?
        /// An address, or "" for the server's default sender.
        public var mailFrom: String?
        public init(name: String? = nil, plan: Plan? = nil, customDomains: [String]? = nil, sessionMaxAgeSeconds: Int? = nil, mailFrom: String? = nil) {
            self.mailFrom = mailFrom
            self.name = name
            self.plan = plan
            self.customDomains = customDomains
            self.sessionMaxAgeSeconds = sessionMaxAgeSeconds
        }
    }

    /// Changes name, plan and session lifetime. `custom_domains` is read-only: a domain is bound
    /// only after its ownership proof, through `CustomDomainAdministration`.
    public func updateWorkspace(_ caller: ConsoleCaller, _ changes: WorkspaceChanges) async throws -> Workspace {
        if changes.customDomains != nil {
            throw DomainError.invalid(field: "custom_domains", reason: """
                is read-only (the verified domains): add a domain with POST /console/v1/workspace/domains and verify it with \
                POST /console/v1/workspace/domains/{domain_id}/verify
                """)
        }
        if changes.name != nil || changes.mailFrom != nil { try caller.require(.workspaceManage) }
        let mailFrom = try changes.mailFrom.map { $0.isEmpty ? nil : try EmailAddress.normalize($0, field: "mail_from") }
        if changes.plan != nil { try caller.require(.billingManage) }
        if changes.sessionMaxAgeSeconds != nil { try caller.require(.securityManage) }
        let name = try changes.name.map { try MemberLifecycle.validateName($0) }
        if let age = changes.sessionMaxAgeSeconds, !(300...(90 * 24 * 3600)).contains(age) {
            throw DomainError.invalid(field: "session_max_age_seconds", reason: "must be between 300 and 7776000")
        }
        return try await store.write { tx in
            guard var workspace = try tx.workspace(id: caller.workspaceID) else { throw DomainError.notFound("workspace") }
            if let plan = changes.plan {
                let projects = try tx.projects(workspaceID: workspace.id).filter { $0.status == .active }.count
                let team = try tx.teamMembers(workspaceID: workspace.id).count
                if plan.limits.projects < projects {
                    throw DomainError.refused("the workspace has \(projects) active projects; the \(plan.rawValue) plan allows \(plan.limits.projects)")
                }
                if plan.limits.teamMembers < team {
                    throw DomainError.refused("the workspace has \(team) team members; the \(plan.rawValue) plan allows \(plan.limits.teamMembers)")
                }
            }
            if let name { workspace.name = name }
            if let mailFrom { workspace.mailFrom = mailFrom }
            if let plan = changes.plan { workspace.plan = plan }
            if let age = changes.sessionMaxAgeSeconds { workspace.securityPosture.sessionMaxAgeSeconds = age }
            try tx.update(workspace)
            try tx.append(DomainEvent(type: .workspaceUpdated, by: caller, workspaceID: workspace.id, data: [
                "name": .string(workspace.name), "plan": .string(workspace.plan.rawValue), "mail_from": workspace.mailFrom.map(JSONValue.string) ?? .null,
            ]))
            return workspace
        }
    }

    /// Forced logout (security posture): every identity session and runtime scope of the Workspace
    /// ends now, for every user and Project; tokens bound to them stop working at once. Sessions of
    /// other Workspaces (another auth host) are untouched.
    public func forceLogout(_ caller: ConsoleCaller) async throws -> (sessions: Int, scopes: Int) {
        try caller.require(.securityManage)
        return try await store.write { tx in
            guard var workspace = try tx.workspace(id: caller.workspaceID) else { throw DomainError.notFound("workspace") }
            let now = clock.now()
            workspace.securityPosture.sessionsValidAfter = now
            try tx.update(workspace)
            let sessions = try tx.revokeIdentitySessions(workspaceID: workspace.id, userID: nil, reason: "forced_logout", at: now)
            let scopes = try MemberLifecycle.invalidate(tx, .workspace(workspaceID: workspace.id), reason: "forced_logout", sessions: sessions,
                                                        listingIDs: false, at: now,
                                                        DomainEvent(type: .workspaceForcedLogout, by: caller, workspaceID: workspace.id,
                                                                    occurredAt: now, data: ["workspace_id": .string(workspace.id)]))
            return (sessions.count, scopes.count)
        }
    }

    /// Deactivation stops every sign-in, token and console key of the Workspace: like a forced
    /// logout, every identity session and runtime scope of the Workspace ends.
    public func deactivateWorkspace(_ caller: ConsoleCaller) async throws {
        try caller.require(.workspaceLifecycle)
        try await store.write { tx in
            guard var workspace = try tx.workspace(id: caller.workspaceID), workspace.status == .active else { throw DomainError.notFound("workspace") }
            if try tx.installation()?.workspaceID == workspace.id {
                throw DomainError.refused("the installation's own workspace holds the console issuer and cannot be deactivated")
            }
            workspace.status = .deactivated
            try tx.update(workspace)
            let now = clock.now()
            // Console sessions working in it end too (docs/console-access.md#deactivation).
            for ended in try tx.revokeConsoleSessions(userID: nil, workspaceID: workspace.id, reason: "workspace_deactivated", at: now) {
                try tx.append(DomainEvent(type: .consoleSessionEnded, by: caller, workspaceID: workspace.id, occurredAt: now, data: [
                    "console_session_id": .string(ended.id), "user_id": .string(ended.userID), "reason": "workspace_deactivated",
                ]))
            }
            let sessions = try tx.revokeIdentitySessions(workspaceID: workspace.id, userID: nil, reason: "workspace_deactivated", at: now)
            try MemberLifecycle.invalidate(tx, .workspace(workspaceID: workspace.id), reason: "workspace_deactivated", sessions: sessions,
                                           listingIDs: false, at: now,
                                           DomainEvent(type: .workspaceDeactivated, by: caller, workspaceID: workspace.id,
                                                       occurredAt: now, data: ["workspace_id": .string(workspace.id)]))
        }
    }
}
