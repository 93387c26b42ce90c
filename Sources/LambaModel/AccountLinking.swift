public import Foundation
import LambaJOSE

/// Account linking and the runtime self-service of a Lamba User (linking or unlinking a provider
/// ends the user's other sessions: docs/sessions-and-scopes.md#provider-linked-or-unlinked). Links
/// are keyed by the provider's `sub`, never by email: an email match only ever leads to a proof of
/// the existing account, never to a link.
public enum AccountLinking {
    /// The session and Project environment an action happens in, for events and revocation.
    public struct Context: Sendable {
        public var workspaceID: String
        public var projectID: String
        public var environment: Environment
        /// The identity session the user acts from; it stays while the others end.
        public var sessionID: String?

        public init(workspaceID: String, projectID: String, environment: Environment, sessionID: String?) {
            self.workspaceID = workspaceID
            self.projectID = projectID
            self.environment = environment
            self.sessionID = sessionID
        }
    }

    /// Links an upstream account to `user` and ends the user's other sessions on the Workspace's
    /// auth host, with their runtime scopes. - Throws: `conflict` when the account or the provider
    /// is linked already.
    public static func link(_ tx: any IdentityWriter, user: LambaUser, provider: UpstreamProvider, subject: String, email: String?,
                            _ context: Context, now: Date = Date()) throws -> LinkedIdentity {
        if let existing = try tx.linkedIdentity(providerID: provider.id, subject: subject) {
            guard existing.userID == user.id else { throw DomainError.conflict("this \(provider.name) account is linked to another user") }
            return existing
        }
        guard !(try tx.linkedIdentities(userID: user.id).contains { $0.providerID == provider.id }) else {
            throw DomainError.conflict("another \(provider.name) account is linked already; unlink it first")
        }
        let identity = LinkedIdentity(userID: user.id, workspaceID: provider.workspaceID, projectID: provider.projectID,
                                      environment: provider.environment, providerID: provider.id, subject: subject, email: email, linkedAt: now)
        try tx.insert(identity)
        let ended = try endOtherSessions(tx, userID: user.id, context, reason: "provider_linked", now: now)
        try tx.append(DomainEvent(type: .userProviderLinked, actor: user.id, workspaceID: context.workspaceID, projectID: context.projectID,
                                  environment: context.environment, sessionID: context.sessionID, occurredAt: now, data: [
            "user_id": .string(user.id), "provider_id": .string(provider.id), "linked_identity_id": .string(identity.id),
            "ended_sessions": .integer(Int64(ended)),
        ]))
        return identity
    }

    /// Unlinks the user's account at a provider of this environment. The last sign-in path is never
    /// removed: a password counts when the user has one and password sign-in is enabled here; a
    /// linked provider counts when it is enabled here. - Throws: `notFound`, `refused`.
    public static func unlink(_ tx: any IdentityWriter, userID: String, providerID: String, _ context: Context, now: Date = Date()) throws {
        guard let user = try tx.user(id: userID), user.status == .active,
            let identity = try tx.linkedIdentities(userID: userID).first(where: {
                $0.providerID == providerID && $0.projectID == context.projectID && $0.environment == context.environment
            })
        else { throw DomainError.notFound("linked provider \(providerID)") }
        guard let settings = try tx.environmentSettings(projectID: context.projectID, environment: context.environment) else {
            throw DomainError.notFound("environment \(context.environment.rawValue)")
        }
        let remaining = try AuthMethodGuard.usablePaths(tx, of: user, settings: settings).subtracting([.provider(providerID)])
        guard !remaining.isEmpty else {
            throw DomainError.refused("this is your last way to sign in to this project; set a password or link another provider before unlinking it")
        }
        try tx.deleteLinkedIdentity(id: identity.id)
        let ended = try endOtherSessions(tx, userID: userID, context, reason: "provider_unlinked", now: now)
        try tx.append(DomainEvent(type: .userProviderUnlinked, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                  environment: context.environment, sessionID: context.sessionID, occurredAt: now, data: [
            "user_id": .string(userID), "provider_id": .string(providerID), "linked_identity_id": .string(identity.id),
            "ended_sessions": .integer(Int64(ended)),
        ]))
    }

    /// Ends every active identity session of the user in the Workspace but the current one, and the
    /// runtime scopes under them; one `session.revoked` event each. Returns how many ended.
    @discardableResult
    static func endOtherSessions(_ tx: any IdentityWriter, userID: String, _ context: Context, reason: String, now: Date) throws -> Int {
        var ended = 0
        for var session in try tx.activeIdentitySessions(workspaceID: context.workspaceID, userID: userID) where session.id != context.sessionID {
            try revokeSession(tx, &session, actor: userID, context, reason: reason, now: now)
            ended += 1
        }
        return ended
    }

    static func revokeSession(_ tx: any IdentityWriter, _ session: inout IdentitySession, actor: String, _ context: Context, reason: String,
                              now: Date) throws {
        session.revokedAt = now
        session.revokeReason = reason
        try tx.update(session)
        try tx.append(DomainEvent(type: .sessionRevoked, actor: actor, workspaceID: session.workspaceID, projectID: context.projectID,
                                  environment: context.environment, sessionID: session.id, occurredAt: now, data: [
            "session_id": .string(session.id), "user_id": .string(session.userID), "reason": .string(reason),
        ]))
        try MemberLifecycle.revokeScopes(tx, .session(sessionID: session.id), reason: reason, actor: actor)
    }

    /// A first sign-in through a provider of a public Project environment that allows registration makes
    /// the new user a Project Member, as hosted registration does (docs/access-model.md#member-lifecycle).
    public static func admitRegistered(_ tx: any IdentityWriter, userID: String, projectID: String, workspaceID: String,
                                       environment: Environment) throws {
        let project = try MemberLifecycle.activeProject(tx, projectID, workspaceID)
        guard project.visibility == .public, let settings = try tx.environmentSettings(projectID: projectID, environment: environment),
            settings.allowRegister, try tx.projectMember(projectID: projectID, userID: userID) == nil
        else { return }
        _ = try MemberLifecycle.admit(tx, project: project, userID: userID, roles: [try MemberLifecycle.joinRole(tx, settings)], via: .register,
                                      actor: userID, eventType: .projectMemberRegistered, environment: environment)
    }

    // MARK: Self-service sessions

    /// One identity session of the user and the runtime scopes under it.
    public struct SessionView: Sendable {
        public var session: IdentitySession
        public var scopes: [RuntimeScope]
    }

    /// The user's active identity sessions on the Workspace's auth host, with their active scopes.
    public static func sessions(_ tx: any IdentityReader, userID: String, workspaceID: String) throws -> [SessionView] {
        let scopes = try tx.runtimeScopes(userID: userID, activeOnly: true).filter { $0.workspaceID == workspaceID }
        return try tx.activeIdentitySessions(workspaceID: workspaceID, userID: userID).map { session in
            SessionView(session: session, scopes: scopes.filter { $0.sessionID == session.id })
        }
    }

    /// Revokes one of the user's identity sessions (with its scopes) or one runtime scope. Anything
    /// that is not the user's, on this Workspace's host, is not found.
    public static func revoke(_ tx: any IdentityWriter, userID: String, id: String, _ context: Context, now: Date = Date()) throws {
        if EntityID.isWellFormed(id, .identitySession) {
            guard var session = try tx.identitySession(id: id), session.userID == userID, session.workspaceID == context.workspaceID,
                session.revokedAt == nil
            else { throw DomainError.notFound("session \(id)") }
            try revokeSession(tx, &session, actor: userID, context, reason: "user_revoked", now: now)
        } else if EntityID.isWellFormed(id, .runtimeScope) {
            guard let scope = try tx.runtimeScope(id: id), scope.userID == userID, scope.workspaceID == context.workspaceID, scope.isActive else {
                throw DomainError.notFound("session \(id)")
            }
            try MemberLifecycle.revokeScopes(tx, .scope(id: scope.id), reason: "user_revoked", actor: userID)
        } else {
            throw DomainError.notFound("session \(id)")
        }
    }
}
