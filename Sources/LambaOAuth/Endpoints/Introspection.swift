public import Foundation
public import LambaJOSE
public import LambaModel

/// `POST /introspect` (RFC 7662): for authenticated clients of this environment; inactive unless
/// the token is valid now, including its runtime scope, membership and user (docs/sessions-and-scopes.md#liveness).
public struct TokenIntrospection: Sendable {
    let clientAuthentication: ClientAuthentication
    let accessTokens: AccessTokenValidator
    let records: Transactions<any RefreshTokenStorage & RuntimeScopeLiveness.Records>
    let clock: WallClock

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("introspection", isForm: isForm)
            _ = try await clientAuthentication.authenticate(request, context, allowNone: false)
            let token = try request.parameters.required("token")
            if let validated = try? await accessTokens.validate(token, context) {
                var body: JSONObject = ["active": true, "token_type": "Bearer"]
                for name in ["scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "sid", "project_id", "environment"] {
                    if let value = validated.claims[name] { body[name] = value }
                }
                if let user = validated.user, validated.scopes.contains("email") { body["username"] = .string(user.email) }
                return .json(body)
            }
            let now = clock.now()
            let hash = OpaqueSecret.hash(token)
            let refresh = try await records.read { tx -> RefreshTokenRecord? in
                guard let record = try tx.refreshToken(hash: hash), record.projectID == context.project.id, record.environment == context.environment,
                    record.revokedAt == nil, record.rotatedAt == nil, record.expiresAt > now,
                    try RuntimeScopes.live(tx, scopeID: record.runtimeScopeID, userID: record.userID, context) != nil
                else { return nil }
                return record
            }
            guard let refresh else { return .json(["active": false]) }
            return .json([
                "active": true, "token_type": "refresh_token", "scope": .string(refresh.scopes.joined(separator: " ")),
                "client_id": .string(refresh.clientID), "sub": .string(refresh.userID), "iss": .string(context.issuer),
                "exp": .integer(Int64(refresh.expiresAt.timeIntervalSince1970)), "sid": .string(refresh.runtimeScopeID),
            ])
        } catch {
            return .error(error)
        }
    }
}
