public import Foundation
public import LambaJOSE
public import LambaModel

/// One grant type's handler at the token endpoint (RFC 6749 §4, §6).
protocol GrantHandler: Sendable {
    /// Parameters the grant reads, beyond `grant_type` and client authentication.
    static var parameters: Set<String> { get }
    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject
}

/// `POST /token` (RFC 6749 §3.2). Steps: form body only → reject duplicate parameters →
/// authenticate the client → pick the grant from the table → check the client may use it → run it.
public struct TokenEndpoint: Sendable {
    let provider: OpenIDProvider

    static let clientAuthenticationParameters: Set<String> = ["client_id", "client_secret", "client_assertion", "client_assertion_type"]

    /// The grant table: one handler per grant type.
    func grant(_ type: String) -> (any GrantHandler)? {
        switch type {
        case "authorization_code": AuthorizationCodeGrant(provider: provider)
        case "refresh_token": RefreshTokenGrant(provider: provider)
        case "client_credentials": ClientCredentialsGrant(provider: provider)
        default: nil
        }
    }

    /// - Parameter isForm: whether the body was `application/x-www-form-urlencoded`.
    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("token", isForm: isForm)
            let client = try await provider.clientAuthentication.authenticate(request, context, allowNone: true)
            guard let grantType = try request.parameters.single("grant_type") else { throw OAuthError.invalidRequest("grant_type is missing") }
            guard let grant = grant(grantType) else { throw OAuthError(.unsupportedGrantType, "grant_type \(grantType) is not supported") }
            guard client.grantTypes.contains(grantType) else {
                throw OAuthError(.unauthorizedClient, "this client may not use the \(grantType) grant")
            }
            return .json(try await grant.handle(request.parameters, client: client, context))
        } catch {
            return .error(error)
        }
    }

    /// The token response (RFC 6749 §5.1).
    static func response(accessToken: TokenIssuer.AccessToken, scopes: [String], refreshToken: String?, idToken: String?) -> JSONObject {
        var body: JSONObject = [
            "access_token": .string(accessToken.token),
            "token_type": "Bearer",
            "expires_in": .integer(Int64(accessToken.expiresIn)),
            "scope": .string(scopes.joined(separator: " ")),
        ]
        if let refreshToken { body["refresh_token"] = .string(refreshToken) }
        if let idToken { body["id_token"] = .string(idToken) }
        return body
    }

    /// Revokes a runtime scope (and with it every token bound to it) with its event.
    static func revokeScope(_ tx: any OAuthRecords, scopeID: String, reason: String, actor: String, now: Date) throws {
        for scope in try tx.revokeRuntimeScopes(.scope(id: scopeID), reason: reason, at: now) {
            try tx.append(DomainEvent(type: .runtimeScopeRevoked, actor: actor, workspaceID: scope.workspaceID, projectID: scope.projectID,
                                      environment: scope.environment, sessionID: scope.sessionID, occurredAt: now, data: [
                "runtime_scope_id": .string(scope.id), "user_id": .string(scope.userID), "reason": .string(reason),
                "application_id": .string(scope.applicationID),
            ]))
        }
    }
}

/// The runtime state a user token needs, read now (rule 7): scope active, member active, user active.
enum RuntimeState {
    /// `check` through the provider's cache, which holds while none of the tables it reads changes.
    static func cachedCheck(_ provider: OpenIDProvider, scopeID: String, userID: String, _ context: ProviderContext) async throws(OAuthError)
        -> (RuntimeScope, LambaUser)? {
        let key = [context.issuer, scopeID, userID].joined(separator: " ")
        let state = try await provider.caches.runtimeStates.value(key) { () throws(OAuthError) -> ProviderCaches.RuntimeStateEntry? in
            try await provider.read { tx -> ProviderCaches.RuntimeStateEntry in
                guard let (scope, user) = try check(tx, scopeID: scopeID, userID: userID, context) else { return .ended }
                return .live(scope, user)
            }
        }
        guard case .live(let scope, let user) = state else { return nil }
        return (scope, user)
    }

    /// `check` as one query, for write transactions that only need the answer.
    static func isLive(_ tx: any IdentityReader, scopeID: String, userID: String, _ context: ProviderContext) throws -> Bool {
        try tx.runtimeScopeIsLive(id: scopeID, userID: userID, projectID: context.project.id, environment: context.environment)
    }

    static func check(_ tx: any IdentityReader, scopeID: String, userID: String, _ context: ProviderContext) throws -> (RuntimeScope, LambaUser)? {
        guard let scope = try tx.runtimeScope(id: scopeID), scope.isActive, scope.userID == userID, scope.projectID == context.project.id,
            scope.environment == context.environment,
            let user = try tx.user(id: userID), user.status == .active,
            let member = try tx.projectMember(projectID: context.project.id, userID: userID), member.status == .active
        else { return nil }
        if let session = try tx.identitySession(id: scope.sessionID), session.revokedAt != nil { return nil }
        return (scope, user)
    }
}

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5): a code is single-use; a replayed code revokes
/// what it issued (§4.1.2, §10.5): its refresh token family and its runtime scope.
struct AuthorizationCodeGrant: GrantHandler {
    let provider: OpenIDProvider
    static let parameters: Set<String> = ["code", "redirect_uri", "code_verifier"]

    enum Lookup: Sendable {
        case ready(AuthorizationCodeGrantRecord, RuntimeScope, LambaUser)
        case failed(OAuthError)
    }

    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        let code = try parameters.required("code")
        let redirectURI = try parameters.single("redirect_uri")
        let verifier = try parameters.single("code_verifier")
        let hash = OpaqueSecret.hash(code)
        let now = provider.now
        let lookup = try await provider.write { tx -> Lookup in
            guard let grant = try tx.authorizationCode(hash: hash), grant.projectID == context.project.id, grant.environment == context.environment else {
                return .failed(.invalidGrant("the authorization code is not valid"))
            }
            if grant.consumedAt != nil {
                // Replay: revoke everything the first exchange issued.
                if let family = grant.issuedRefreshFamilyID { try tx.revokeRefreshFamily(family, at: now) }
                try TokenEndpoint.revokeScope(tx, scopeID: grant.runtimeScopeID, reason: "authorization_code_replayed", actor: client.id, now: now)
                try tx.append(DomainEvent(type: .authorizationCodeReplayed, actor: client.id, workspaceID: context.workspace.id,
                                          projectID: context.project.id, environment: context.environment, sessionID: grant.sessionID,
                                          occurredAt: now, data: [
                    "client_id": .string(client.id), "runtime_scope_id": .string(grant.runtimeScopeID), "user_id": .string(grant.userID),
                ]))
                return .failed(.invalidGrant("the authorization code was already used"))
            }
            guard grant.clientID == client.id else { return .failed(.invalidGrant("the authorization code was issued to another client")) }
            guard grant.expiresAt > now else { return .failed(.invalidGrant("the authorization code expired")) }
            guard redirectURI == grant.redirectURI else { return .failed(.invalidGrant("redirect_uri does not match the authorization request")) }
            do { try PKCE.verify(verifier: verifier, challenge: grant.codeChallenge) } catch { return .failed(OAuthError.wrap(error)) }
            guard let (scope, user) = try RuntimeState.check(tx, scopeID: grant.runtimeScopeID, userID: grant.userID, context) else {
                return .failed(.invalidGrant("the session behind this code has ended"))
            }
            return .ready(grant, scope, user)
        }
        let (grant, scope, user): (AuthorizationCodeGrantRecord, RuntimeScope, LambaUser)
        switch lookup {
        case .failed(let error): throw error
        case .ready(let g, let s, let u): (grant, scope, user) = (g, s, u)
        }
        do {
            let access = try await provider.tokens.accessToken(context, subject: user.id, clientID: client.id, scopes: grant.scopes,
                                                               runtimeScopeID: scope.id, authTime: grant.authTime)
            let idToken = grant.scopes.contains("openid")
                ? try await provider.tokens.idToken(context, client: client, user: user, scopes: grant.scopes, nonce: grant.nonce,
                                                    authTime: grant.authTime, amr: grant.amr, runtimeScopeID: scope.id, accessToken: access.token)
                : nil
            let familyID = EntityID.generate(.runtimeScope).replacingOccurrences(of: "rs_", with: "rtf_")
            let refresh = client.grantTypes.contains("refresh_token")
                ? TokenIssuer.refreshToken(familyID: familyID, parentHash: nil, runtimeScope: scope, clientID: client.id, scopes: grant.scopes,
                                           authTime: grant.authTime, context: context, now: now)
                : nil
            let won = try await provider.store.write { tx -> Bool in
                // A concurrent exchange of the same code loses here and is treated as a replay by the next one.
                guard try tx.consumeAuthorizationCode(hash: hash, at: now, refreshFamilyID: refresh == nil ? nil : familyID, accessTokenID: access.jti) else {
                    return false
                }
                if let refresh { try tx.insert(refresh.record) }
                return true
            }
            guard won else { throw OAuthError.invalidGrant("the authorization code was already used") }
            if let refresh { provider.caches.issuedRefreshTokens.remember(refresh.record) }
            return TokenEndpoint.response(accessToken: access, scopes: grant.scopes, refreshToken: refresh?.value, idToken: idToken)
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}

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
    let provider: OpenIDProvider
    static let parameters: Set<String> = ["refresh_token", "scope"]

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
        let now = provider.now
        // A token this process issued is known without a read: what the access token needs of it
        // never changes. Whether it is still usable is decided by the write below either way.
        let found: Lookup
        if let issued = provider.caches.issuedRefreshTokens.take(hash) { found = Self.standing(issued, now: now) } else { found = try await lookup(hash) }
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
            try await provider.write { tx in try Self.revokeReused(tx, token, client: client, context, now: now) }
            throw OAuthError.invalidGrant("the refresh token was already used")
        }
        guard let (scope, user) = try await RuntimeState.cachedCheck(provider, scopeID: token.runtimeScopeID, userID: token.userID, context) else {
            throw OAuthError.invalidGrant("the session behind this refresh token has ended")
        }
        // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
        let scopes = requestedScopes.isEmpty ? token.scopes : requestedScopes
        guard Set(scopes).isSubset(of: Set(token.scopes)) else { throw OAuthError(.invalidScope, "the scope exceeds the original grant") }
        do {
            let access = try await provider.tokens.accessToken(context, subject: user.id, clientID: client.id, scopes: scopes,
                                                               runtimeScopeID: scope.id, authTime: token.authTime)
            let idToken = scopes.contains("openid")
                ? try await provider.tokens.idToken(context, client: client, user: user, scopes: scopes, nonce: nil, authTime: token.authTime,
                                                    amr: [], runtimeScopeID: scope.id, accessToken: access.token)
                : nil
            let next = TokenIssuer.refreshToken(familyID: token.familyID, parentHash: token.tokenHash, runtimeScope: scope, clientID: client.id,
                                                scopes: token.scopes, authTime: token.authTime, context: context, now: now)
            // The one decision, made against what is committed: a revocation, a reuse or a rotation
            // since the read (or since the token was issued) wins, and then nothing is handed out.
            let rotation = try await provider.store.write { tx -> Rotation in
                guard try RuntimeState.isLive(tx, scopeID: token.runtimeScopeID, userID: token.userID, context) else {
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
                provider.caches.issuedRefreshTokens.remember(next.record)
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
    static func retireUnusedSuccessor(_ tx: any OAuthRecords, of parent: RefreshTokenRecord, now: Date) throws -> Bool {
        let successors = try tx.refreshTokens(parentHash: parent.tokenHash)
        guard successors.count == 1, let successor = successors.first, successor.familyID == parent.familyID else { return false }
        return try tx.revokeUnusedRefreshToken(hash: successor.tokenHash, at: now)
    }

    /// The token's record from the store, when this process did not issue it (or forgot it).
    private func lookup(_ hash: String) async throws(OAuthError) -> Lookup {
        let now = provider.now
        return try await provider.read { tx -> Lookup in
            guard let token = try tx.refreshToken(hash: hash) else { return .failed(.invalidGrant("the refresh token is not valid")) }
            return Self.standing(token, now: now)
        }
    }

    /// Reuse of a rotated token: revoke the family and the runtime scope, with the event.
    private static func revokeReused(_ tx: any OAuthRecords, _ token: RefreshTokenRecord, client: OAuthClient, _ context: ProviderContext,
                                     now: Date) throws {
        try tx.revokeRefreshFamily(token.familyID, at: now)
        try TokenEndpoint.revokeScope(tx, scopeID: token.runtimeScopeID, reason: "refresh_token_reused", actor: client.id, now: now)
        try tx.append(DomainEvent(type: .refreshTokenReused, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                  environment: context.environment, sessionID: token.sessionID, occurredAt: now, data: [
            "client_id": .string(client.id), "family_id": .string(token.familyID), "runtime_scope_id": .string(token.runtimeScopeID),
            "user_id": .string(token.userID),
        ]))
    }
}

/// RFC 6749 §4.4: a confidential client acting for itself; `sub` is the client, no `sid`.
struct ClientCredentialsGrant: GrantHandler {
    let provider: OpenIDProvider
    static let parameters: Set<String> = ["scope"]

    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        guard client.type == .confidential else { throw OAuthError(.unauthorizedClient, "client_credentials needs a confidential client") }
        let requested = try ScopeList.parse(try parameters.single("scope"))
        // User-facing scopes have no meaning without a user.
        let allowed = client.scopes.filter { !["openid", "profile", "email", "offline_access"].contains($0) }
        guard Set(requested).isSubset(of: Set(allowed)) else { throw OAuthError(.invalidScope, "a requested scope is not allowed for this client") }
        do {
            let access = try await provider.tokens.accessToken(context, subject: client.id, clientID: client.id, scopes: requested,
                                                               runtimeScopeID: nil, authTime: nil)
            return TokenEndpoint.response(accessToken: access, scopes: requested, refreshToken: nil, idToken: nil)
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}
