public import Foundation
import LambaJOSE
public import LambaModel

/// The runtime scopes of a Project environment as the protocol sees them
/// (docs/sessions-and-scopes.md): entering a Project creates one under the identity session,
/// tokens are bound to it, and whether it still grants access is `RuntimeScopeLiveness`, read now.
struct RuntimeScopes: Sendable {
    typealias Records = any RuntimeScopeLiveness.Records & SessionWriter & EventLog

    let records: Transactions<Records>
    /// Liveness answers by issuer, scope and user, held while none of the records they read changes.
    let liveness: TableCache<String, ProviderCaches.RuntimeStateEntry>
    let clock: WallClock

    /// The live scope and its user, or nil when the scope no longer grants access.
    static func live(_ tx: any RuntimeScopeLiveness.Records, scopeID: String, userID: String, _ context: ProviderContext) throws
        -> (RuntimeScope, LambaUser)? {
        switch try RuntimeScopeLiveness.check(tx, scopeID: scopeID, userID: userID, projectID: context.project.id, environment: context.environment) {
        case .success(let live): (live.scope, live.user)
        case .failure: nil
        }
    }

    /// `live` through the cache, for reads outside a transaction.
    func cachedLive(scopeID: String, userID: String, _ context: ProviderContext) async throws(OAuthError) -> (RuntimeScope, LambaUser)? {
        let key = [context.issuer, scopeID, userID].joined(separator: " ")
        let records = records
        let state = try await liveness.value(key) { () throws(OAuthError) -> ProviderCaches.RuntimeStateEntry? in
            try await records.read { tx -> ProviderCaches.RuntimeStateEntry in
                guard let (scope, user) = try Self.live(tx, scopeID: scopeID, userID: userID, context) else { return .ended }
                return .live(scope, user)
            }
        }
        guard case .live(let scope, let user) = state else { return nil }
        return (scope, user)
    }

    /// The rule as one query, for write transactions that need only the answer.
    static func isLive(_ tx: any SessionReader, scopeID: String, userID: String, _ context: ProviderContext) throws -> Bool {
        try tx.runtimeScopeIsLive(id: scopeID, userID: userID, projectID: context.project.id, environment: context.environment)
    }

    /// Entering a Project environment: the session's active scope here, or a new one
    /// (docs/sessions-and-scopes.md#runtime-scopes).
    func enter(_ context: ProviderContext, session: IdentitySession, clientID: String) async throws(OAuthError) -> RuntimeScope {
        let now = clock.now()
        return try await records.write { tx in
            if let existing = try tx.activeRuntimeScope(sessionID: session.id, projectID: context.project.id, environment: context.environment) {
                return existing
            }
            return try Self.insert(tx, context, session: session, clientID: clientID, now: now)
        }
    }

    /// A new runtime scope with its event, inside the caller's transaction.
    static func insert(_ tx: any SessionWriter & EventLog, _ context: ProviderContext, session: IdentitySession, clientID: String,
                       now: Date) throws -> RuntimeScope {
        let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: session.userID, workspaceID: context.workspace.id,
                                 projectID: context.project.id, environment: context.environment, applicationID: clientID, authTime: session.authTime,
                                 createdAt: now, revokedAt: nil, revokeReason: nil)
        try tx.insert(scope)
        try tx.append(DomainEvent(type: .runtimeScopeCreated, actor: session.userID, workspaceID: context.workspace.id, projectID: context.project.id,
                                  environment: context.environment, sessionID: session.id, occurredAt: now, data: [
            "runtime_scope_id": .string(scope.id), "user_id": .string(session.userID), "application_id": .string(clientID),
        ]))
        return scope
    }

    /// Revokes a runtime scope, and with it every token bound to it, with its event.
    static func revoke(_ tx: any SessionWriter & EventLog, scopeID: String, reason: String, actor: String, now: Date) throws {
        for scope in try tx.revokeRuntimeScopes(.scope(id: scopeID), reason: reason, at: now) {
            try tx.append(DomainEvent(type: .runtimeScopeRevoked, actor: actor, workspaceID: scope.workspaceID, projectID: scope.projectID,
                                      environment: scope.environment, sessionID: scope.sessionID, occurredAt: now, data: [
                "runtime_scope_id": .string(scope.id), "user_id": .string(scope.userID), "reason": .string(reason),
                "application_id": .string(scope.applicationID),
            ]))
        }
    }
}
