public import Foundation
public import LambaJOSE
public import LambaModel

/// `GET|POST /me/authorization`: the caller's own effective authorization in this Project
/// environment, for the product's UI to read before it shows privileged runtime actions
/// (docs/access-model.md#effective-authorization). The caller is the user of a Bearer access token
/// of this environment (RFC 6750 §2), from any of its clients, public ones included; the answer is
/// resolved from the records now (`RuntimeAccess.resolve`), never from the token's claims. Context
/// comes from the token and the issuer path only: console credentials and headers mean nothing here.
public struct EffectiveAuthorizationEndpoint: Sendable {
    let accessTokens: AccessTokenValidator
    let records: Transactions<any AccessTokenRevocationStorage & RuntimeScopeLiveness.Records>
    let clock: WallClock

    public func handle(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            guard request.method == "GET" || request.method == "POST" else {
                throw OAuthError.invalidRequest("effective authorization accepts GET and POST")
            }
            try request.parameters.rejectDuplicates()
            let token = try AccessTokenValidator.bearerToken(request)
            // A token that does not verify is no credential (RFC 6750 §3.1); one that verifies but
            // whose access ended answers what ended, as the access check does.
            let claims = try await accessTokens.verifySignature(token, context)
            guard let sid = claims["sid"]?.stringValue, let subject = claims.subject, let jti = claims.jwtID else {
                throw OAuthError(.invalidToken, "this token does not stand for a user")
            }
            let projectID = context.project.id
            let environment = context.environment
            let resolved = try await records.read { tx -> Result<RuntimeAccess.Effective, RuntimeScopeLiveness.Ended>? in
                if try tx.isAccessTokenRevoked(jti: jti) { return nil }
                return try RuntimeAccess.resolve(tx, scopeID: sid, userID: subject, projectID: projectID, environment: environment)
            }
            var body: JSONObject = [
                "sub": .string(subject), "sid": .string(sid), "project_id": .string(projectID),
                "environment": .string(environment.rawValue), "resolved_at": .string(Self.timestamp(clock.now())),
            ]
            switch resolved {
            case .success(let effective)?:
                let member = effective.member
                body["active"] = true
                body["reason"] = "active"
                body["membership"] = .object([
                    "id": .string(member.id), "status": .string(member.status.rawValue), "joined_via": .string(member.joinedVia.rawValue),
                    "created_at": .string(Self.timestamp(member.createdAt)), "updated_at": .string(Self.timestamp(member.updatedAt)),
                ])
                body["roles"] = .array(effective.roles.map { role in
                    .object(["name": .string(role.name), "permissions": .array(role.permissions.map(JSONValue.string))])
                })
                body["permissions"] = .array(effective.permissions.map(JSONValue.string))
            case .failure(let ended)?:
                for (name, value) in Self.inactive(ended.rawValue) { body[name] = value }
            case nil:
                for (name, value) in Self.inactive("token_revoked") { body[name] = value }
            }
            return .json(body)
        } catch {
            return .error(error, bearer: true)
        }
    }

    private static func inactive(_ reason: String) -> JSONObject {
        ["active": false, "reason": .string(reason), "membership": .null, "roles": .array([]), "permissions": .array([])]
    }

    private static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
}
