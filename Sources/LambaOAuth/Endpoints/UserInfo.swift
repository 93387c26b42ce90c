public import Foundation
public import LambaJOSE
public import LambaModel

/// `GET|POST /userinfo` (OIDC Core §5.3): answers only while the token's runtime scope, the
/// membership and the user are active.
public struct UserInfoEndpoint: Sendable {
    let accessTokens: AccessTokenValidator

    public func handle(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let token = try AccessTokenValidator.bearerToken(request)
            let validated = try await accessTokens.validate(token, context)
            guard let user = validated.user else { throw OAuthError(.invalidToken, "this token does not stand for a user") }
            guard validated.scopes.contains("openid") else { throw OAuthError(.insufficientScope, "the token lacks the openid scope") }
            var body: JSONObject = ["sub": .string(user.id)]
            for (name, value) in UserClaims.claims(user, scopes: validated.scopes) { body[name] = value }
            return .json(body)
        } catch {
            return .error(error, bearer: true)
        }
    }
}
