public import Foundation
public import LambaJOSE
public import LambaModel

/// `POST /access/check`: the server-side decision for a product backend (authenticated client of
/// this environment): the token's user and runtime scope + a permission → allowed or not, with
/// the reason, from current membership and roles (`RuntimeAccess.decide`).
public struct AccessCheck: Sendable {
    let clientAuthentication: ClientAuthentication
    let accessTokens: AccessTokenValidator
    let records: Transactions<any AccessTokenRevocationStorage & RuntimeScopeLiveness.Records>
    /// Decisions by issuer, token and permission, held while none of the records they read changes.
    let decisions: TableCache<String, RuntimeAccess.Decision>

    public func handle(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            guard request.method == "POST" else { throw OAuthError.invalidRequest("the access check accepts POST only") }
            try request.parameters.rejectDuplicates()
            _ = try await clientAuthentication.authenticate(request, context, allowNone: false)
            let token = try request.parameters.required("token")
            let permission = try request.parameters.required("permission")
            guard permission.utf8.count <= 200 else { throw OAuthError.invalidRequest("permission is too long") }
            let claims: JWTClaims
            do {
                claims = try await accessTokens.verifySignature(token, context)
            } catch {
                return .json(["allowed": false, "reason": "token_invalid"])
            }
            guard let sid = claims["sid"]?.stringValue, let subject = claims.subject, let jti = claims.jwtID else {
                return .json(["allowed": false, "reason": "not_a_user_token"])
            }
            let projectID = context.project.id
            let environment = context.environment
            let records = records
            let key = [context.issuer, jti, sid, subject, permission].joined(separator: " ")
            let decided = try await decisions.value(key) { () throws(OAuthError) -> RuntimeAccess.Decision? in
                try await records.read { tx -> RuntimeAccess.Decision in
                    if try tx.isAccessTokenRevoked(jti: jti) { return RuntimeAccess.Decision(allowed: false, reason: "token_revoked", roles: []) }
                    return try RuntimeAccess.decide(tx, scopeID: sid, userID: subject, projectID: projectID, environment: environment,
                                                   permission: permission)
                }
            }
            guard let decision = decided else { throw OAuthError.server("no access decision") }
            return .json([
                "allowed": .bool(decision.allowed), "reason": .string(decision.reason), "sub": .string(subject),
                "project_id": .string(projectID), "environment": .string(context.environment.rawValue), "sid": .string(sid),
                "permission": .string(permission), "roles": .array(decision.roles.map(JSONValue.string)),
            ])
        } catch {
            return .error(error)
        }
    }
}
