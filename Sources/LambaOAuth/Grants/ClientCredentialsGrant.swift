public import Foundation
public import LambaJOSE
public import LambaModel

/// RFC 6749 §4.4: a confidential client acting for itself; `sub` is the client, no `sid`.
struct ClientCredentialsGrant: GrantHandler {
    let tokens: TokenIssuer

    func handle(_ parameters: OAuthParameters, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        guard client.type == .confidential else { throw OAuthError(.unauthorizedClient, "client_credentials needs a confidential client") }
        let requested = try ScopeList.parse(try parameters.single("scope"))
        // User-facing scopes have no meaning without a user.
        let allowed = client.scopes.filter { !["openid", "profile", "email", "offline_access"].contains($0) }
        guard Set(requested).isSubset(of: Set(allowed)) else { throw OAuthError(.invalidScope, "a requested scope is not allowed for this client") }
        do {
            let access = try await tokens.accessToken(context, subject: client.id, clientID: client.id, scopes: requested,
                                                               runtimeScopeID: nil, authTime: nil)
            return TokenEndpoint.response(accessToken: access, scopes: requested, refreshToken: nil, idToken: nil)
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}
