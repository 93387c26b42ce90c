public import Foundation
public import LambaJOSE
public import LambaModel

/// `POST /revoke` (RFC 7009): client authentication required (§2.1); unknown or foreign tokens
/// answer 200 (§2.2). A refresh token revokes its family and, as §2.1 asks, the unexpired access
/// tokens minted with it; an access token is tracked by jti.
public struct TokenRevocation: Sendable {
    let clientAuthentication: ClientAuthentication
    let accessTokens: AccessTokenValidator
    let records: Transactions<any RefreshTokenStorage & AccessTokenRevocationStorage & EventLog>
    let clock: WallClock

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("revocation", isForm: isForm)
            let client = try await clientAuthentication.authenticate(request, context, allowNone: true)
            let token = try request.parameters.required("token")
            let hint = try request.parameters.single("token_type_hint")
            if let hint, hint != "access_token", hint != "refresh_token" {
                throw OAuthError(.unsupportedTokenType, "token_type_hint must be access_token or refresh_token")
            }
            let now = clock.now()
            let hash = OpaqueSecret.hash(token)
            let revokedRefresh = try await records.write { tx -> Bool in
                guard let record = try tx.refreshToken(hash: hash), record.clientID == client.id, record.projectID == context.project.id,
                    record.environment == context.environment
                else { return false }
                let count = try tx.revokeRefreshFamily(record.familyID, at: now)
                for access in try tx.unexpiredAccessTokens(ofRefreshFamily: record.familyID, at: now) {
                    try tx.revokeAccessToken(jti: access.jti, clientID: client.id, expiresAt: access.expiresAt, at: now)
                }
                if count > 0 {
                    try tx.append(DomainEvent(type: .tokenRevoked, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                              environment: context.environment, sessionID: record.sessionID, occurredAt: now, data: [
                        "client_id": .string(client.id), "token_type": "refresh_token", "family_id": .string(record.familyID),
                    ]))
                }
                return true
            }
            if !revokedRefresh, let claims = try? await accessTokens.verifySignature(token, context, allowExpired: true),
                claims["client_id"]?.stringValue == client.id, let jti = claims.jwtID, let exp = claims.expiration
            {
                try await records.write { tx in
                    try tx.revokeAccessToken(jti: jti, clientID: client.id, expiresAt: exp.date, at: now)
                    try tx.append(DomainEvent(type: .tokenRevoked, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                              environment: context.environment, occurredAt: now, data: [
                        "client_id": .string(client.id), "token_type": "access_token", "jti": .string(jti),
                    ]))
                }
            }
            return EndpointResponse(status: 200, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return .error(error)
        }
    }
}
