public import Foundation
public import LambaJOSE
public import LambaModel

/// One grant type's handler at the token endpoint (RFC 6749 §4, §6).
protocol GrantHandler: Sendable {
    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject
}

/// `POST /token` (RFC 6749 §3.2). Steps: form body only → reject duplicate parameters →
/// authenticate the client → pick the grant from the table → check the client may use it → run it.
public struct TokenEndpoint: Sendable {
    let clientAuthentication: ClientAuthentication
    /// The grant table: one handler per `grant_type`.
    let grants: [String: any GrantHandler]

    /// - Parameter isForm: whether the body was `application/x-www-form-urlencoded`.
    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("token", isForm: isForm)
            let client = try await clientAuthentication.authenticate(request, context, allowNone: true)
            guard let grantType = try request.parameters.single("grant_type") else { throw OAuthError.invalidRequest("grant_type is missing") }
            guard let grant = grants[grantType] else { throw OAuthError(.unsupportedGrantType, "grant_type \(grantType) is not supported") }
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
}
