public import Foundation
public import LambaJOSE
public import LambaModel

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5): a code is single-use; a replayed code revokes
/// what it issued (§4.1.2, §10.5): its refresh token family and its runtime scope.
struct AuthorizationCodeGrant: GrantHandler {
    let codes: Transactions<any AuthorizationCodeStorage & RefreshTokenStorage & RuntimeScopeLiveness.Records & SessionWriter & EventLog>
    let tokens: TokenIssuer
    let issuedRefreshTokens: IssuedRefreshTokens
    let clock: WallClock

    enum Lookup: Sendable {
        case ready(AuthorizationCodeGrantRecord, RuntimeScope, LambaUser)
        case failed(OAuthError)
    }

    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        let code = try parameters.required("code")
        let redirectURI = try parameters.single("redirect_uri")
        let verifier = try parameters.single("code_verifier")
        let hash = OpaqueSecret.hash(code)
        let now = clock.now()
        let lookup = try await codes.write { tx -> Lookup in
            guard let grant = try tx.authorizationCode(hash: hash), grant.projectID == context.project.id, grant.environment == context.environment else {
                return .failed(.invalidGrant("the authorization code is not valid"))
            }
            if grant.consumedAt != nil {
                // Replay: revoke everything the first exchange issued.
                if let family = grant.issuedRefreshFamilyID { try tx.revokeRefreshFamily(family, at: now) }
                try RuntimeScopes.revoke(tx, scopeID: grant.runtimeScopeID, reason: "authorization_code_replayed", actor: client.id, now: now)
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
            guard let (scope, user) = try RuntimeScopes.live(tx, scopeID: grant.runtimeScopeID, userID: grant.userID, context) else {
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
            let access = try await tokens.accessToken(context, subject: user.id, clientID: client.id, scopes: grant.scopes,
                                                               runtimeScopeID: scope.id, authTime: grant.authTime)
            let idToken = grant.scopes.contains("openid")
                ? try await tokens.idToken(context, client: client, user: user, scopes: grant.scopes, nonce: grant.nonce,
                                                    authTime: grant.authTime, amr: grant.amr, runtimeScopeID: scope.id, accessToken: access.token)
                : nil
            let familyID = EntityID.generate(.runtimeScope).replacingOccurrences(of: "rs_", with: "rtf_")
            let refresh = client.grantTypes.contains("refresh_token")
                ? TokenIssuer.refreshToken(familyID: familyID, parentHash: nil, runtimeScope: scope, clientID: client.id, scopes: grant.scopes,
                                           authTime: grant.authTime, amr: grant.amr, mintedWith: access, context: context, now: now)
                : nil
            let won = try await codes.write { tx -> Bool in
                // A concurrent exchange of the same code loses here and is treated as a replay by the next one.
                guard try tx.consumeAuthorizationCode(hash: hash, at: now, refreshFamilyID: refresh == nil ? nil : familyID, accessTokenID: access.jti) else {
                    return false
                }
                if let refresh { try tx.insert(refresh.record) }
                return true
            }
            guard won else { throw OAuthError.invalidGrant("the authorization code was already used") }
            if let refresh { issuedRefreshTokens.remember(refresh.record) }
            return TokenEndpoint.response(accessToken: access, scopes: grant.scopes, refreshToken: refresh?.value, idToken: idToken)
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}
