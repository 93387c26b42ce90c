public import Foundation
public import LambaJOSE
public import LambaModel

/// RFC 6749 §6 with rotation and reuse detection (OAuth 2.0 Security BCP §4.14.2): a rotated
/// token presented again revokes its whole runtime scope and every token of its family.
///
/// An environment may set a reuse grace (`refreshTokenReuseGraceSeconds`, off by default, as
/// Hydra's rotation grace period or Auth0's reuse interval): within it, the direct parent of a
/// still-unused successor may be presented once more and yields a fresh successor, the unused one
/// being revoked, so a client whose token response was lost does not sign its user out. A second
/// retry, a used successor or a retry past the grace is reuse as before.
///
/// The token is looked up in a read snapshot, the new tokens are signed outside any transaction,
/// and one write transaction then checks the runtime state again, rotates (only if nobody did
/// meanwhile) and stores the successor, so the single SQLite writer does one short step per grant.
struct RefreshTokenGrant: GrantHandler {
    let refreshTokens: Transactions<any RefreshTokenStorage & SessionWriter & EventLog>
    let runtimeScopes: RuntimeScopes
    let tokens: TokenIssuer
    /// Tokens this process issued, so that the next rotation needs no read.
    let issuedRefreshTokens: IssuedRefreshTokens
    let clock: WallClock

    enum Lookup: Sendable {
        case ready(RefreshTokenRecord)
        case reused(RefreshTokenRecord)
        case failed(OAuthError)
    }

    enum Rotation: Sendable {
        case rotated
        case reused
        case failed(OAuthError)
    }

    /// Where a presented token stands, from its record: the read before signing and the write
    /// that rotates ask the same question.
    static func standing(_ token: RefreshTokenRecord, now: Date) -> Lookup {
        guard token.revokedAt == nil else { return .failed(.invalidGrant("the refresh token was revoked")) }
        if token.rotatedAt != nil { return .reused(token) }
        guard token.expiresAt > now else { return .failed(.invalidGrant("the refresh token expired")) }
        return .ready(token)
    }

    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        let presented = try parameters.required("refresh_token")
        let requestedScopes = try ScopeList.parse(try parameters.single("scope"))
        let hash = OpaqueSecret.hash(presented)
        let now = clock.now()
        // A token this process issued is known without a read: what the access token needs of it
        // never changes. Whether it is still usable is decided by the write below either way.
        let found: Lookup
        if let issued = issuedRefreshTokens.take(hash) { found = Self.standing(issued, now: now) } else { found = try await lookup(hash) }
        let token: RefreshTokenRecord
        switch found {
        case .failed(let error): throw error
        case .ready(let record), .reused(let record): token = record
        }
        // Another client's or Project environment's token is only "not valid" here (RFC 6749 §10.4).
        guard token.projectID == context.project.id, token.environment == context.environment, token.clientID == client.id else {
            throw OAuthError.invalidGrant("the refresh token is not valid")
        }
        let grace = TimeInterval(min(max(context.settings.refreshTokenReuseGraceSeconds ?? 0, 0), EnvironmentSettings.maximumRefreshTokenReuseGraceSeconds))
        if case .reused = found, !Self.isWithinGrace(token, grace, now: now) {
            try await refreshTokens.write { tx in try Self.revokeReused(tx, token, client: client, context, now: now) }
            throw OAuthError.invalidGrant("the refresh token was already used")
        }
        guard let (scope, user) = try await runtimeScopes.cachedLive(scopeID: token.runtimeScopeID, userID: token.userID, context) else {
            throw OAuthError.invalidGrant("the session behind this refresh token has ended")
        }
        // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
        let scopes = requestedScopes.isEmpty ? token.scopes : requestedScopes
        guard Set(scopes).isSubset(of: Set(token.scopes)) else { throw OAuthError(.invalidScope, "the scope exceeds the original grant") }
        do {
            let access = try await tokens.accessToken(context, subject: user.id, clientID: client.id, scopes: scopes,
                                                               runtimeScopeID: scope.id, authTime: token.authTime)
            let idToken = scopes.contains("openid")
                ? try await tokens.idToken(context, client: client, user: user, scopes: scopes, nonce: nil, authTime: token.authTime,
                                                    amr: token.amr, runtimeScopeID: scope.id, accessToken: access.token)
                : nil
            let next = TokenIssuer.refreshToken(familyID: token.familyID, parentHash: token.tokenHash, runtimeScope: scope, clientID: client.id,
                                                scopes: token.scopes, authTime: token.authTime, amr: token.amr, mintedWith: access, context: context,
                                                now: now)
            // The one decision, made against what is committed: a revocation, a reuse or a rotation
            // since the read (or since the token was issued) wins, and then nothing is handed out.
            let rotation = try await refreshTokens.write { tx -> Rotation in
                guard try RuntimeScopes.isLive(tx, scopeID: token.runtimeScopeID, userID: token.userID, context) else {
                    return .failed(.invalidGrant("the session behind this refresh token has ended"))
                }
                // Rotates only a token neither rotated nor revoked; when it does not, the record says why.
                guard try tx.rotateRefreshToken(hash: hash, at: now) else {
                    guard let current = try tx.refreshToken(hash: hash) else { return .failed(.invalidGrant("the refresh token is not valid")) }
                    switch Self.standing(current, now: now) {
                    case .reused(let reused):
                        if Self.isWithinGrace(reused, grace, now: now), try Self.retireUnusedSuccessor(tx, of: reused, now: now) {
                            try tx.insert(next.record)
                            try tx.append(DomainEvent(type: .refreshTokenRetried, actor: client.id, workspaceID: context.workspace.id,
                                                      projectID: context.project.id, environment: context.environment, sessionID: reused.sessionID,
                                                      occurredAt: now, data: [
                                "client_id": .string(client.id), "family_id": .string(reused.familyID), "runtime_scope_id": .string(reused.runtimeScopeID),
                            ]))
                            return .rotated
                        }
                        try Self.revokeReused(tx, reused, client: client, context, now: now)
                        return .reused
                    case .failed(let error): return .failed(error)
                    case .ready: return .failed(.invalidGrant("the refresh token was already used"))
                    }
                }
                try tx.insert(next.record)
                return .rotated
            }
            switch rotation {
            case .rotated:
                issuedRefreshTokens.remember(next.record)
                return TokenEndpoint.response(accessToken: access, scopes: scopes, refreshToken: next.value, idToken: idToken)
            case .reused: throw OAuthError.invalidGrant("the refresh token was already used")
            case .failed(let error): throw error
            }
        } catch {
            throw OAuthError.wrap(error)
        }
    }

    /// Whether a rotated token was rotated at most `grace` seconds ago (never, when grace is 0).
    static func isWithinGrace(_ token: RefreshTokenRecord, _ grace: TimeInterval, now: Date) -> Bool {
        guard grace > 0, token.revokedAt == nil, let rotatedAt = token.rotatedAt else { return false }
        return now.timeIntervalSince(rotatedAt) <= grace
    }

    /// The grace's one retry: the token has exactly one successor (no retry yet) and nobody used it;
    /// it is revoked here, in the write that stores the fresh one. False when the retry does not apply.
    static func retireUnusedSuccessor(_ tx: any RefreshTokenStorage, of parent: RefreshTokenRecord, now: Date) throws -> Bool {
        let successors = try tx.refreshTokens(parentHash: parent.tokenHash)
        guard successors.count == 1, let successor = successors.first, successor.familyID == parent.familyID else { return false }
        return try tx.revokeUnusedRefreshToken(hash: successor.tokenHash, at: now)
    }

    /// The token's record from the store, when this process did not issue it (or forgot it).
    private func lookup(_ hash: String) async throws(OAuthError) -> Lookup {
        let now = clock.now()
        return try await refreshTokens.read { tx -> Lookup in
            guard let token = try tx.refreshToken(hash: hash) else { return .failed(.invalidGrant("the refresh token is not valid")) }
            return Self.standing(token, now: now)
        }
    }

    /// Reuse of a rotated token: revoke the family and the runtime scope, with the event.
    private static func revokeReused(_ tx: any RefreshTokenStorage & SessionWriter & EventLog, _ token: RefreshTokenRecord, client: OAuthClient, _ context: ProviderContext,
                                     now: Date) throws {
        try tx.revokeRefreshFamily(token.familyID, at: now)
        try RuntimeScopes.revoke(tx, scopeID: token.runtimeScopeID, reason: "refresh_token_reused", actor: client.id, now: now)
        try tx.append(DomainEvent(type: .refreshTokenReused, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                  environment: context.environment, sessionID: token.sessionID, occurredAt: now, data: [
            "client_id": .string(client.id), "family_id": .string(token.familyID), "runtime_scope_id": .string(token.runtimeScopeID),
            "user_id": .string(token.userID),
        ]))
    }
}
