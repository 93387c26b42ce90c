public import Foundation

/// An OAuth client (relying party) registered in one Project environment. A sandbox client never
/// works in production and the reverse: its id, secret and redirect URIs belong to one environment.
public struct OAuthClient: Sendable, Codable, Hashable {
    public enum ClientType: String, Sendable, Codable, Hashable {
        case confidential
        case `public`
    }

    /// RFC 7591 §2 / OIDC Registration `token_endpoint_auth_method`.
    public enum AuthMethod: String, Sendable, Codable, Hashable, CaseIterable {
        case clientSecretBasic = "client_secret_basic"
        case clientSecretPost = "client_secret_post"
        case privateKeyJWT = "private_key_jwt"
        case none
    }

    /// The `client_id`: an opaque id that also names the kind (`cli_…`).
    public var id: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    public var name: String
    public var type: ClientType
    public var tokenEndpointAuthMethod: AuthMethod
    /// SHA-256 of the client secret, for the `client_secret_*` methods.
    public var secretHash: String?
    /// Exact-match redirect URIs (RFC 6749 §3.1.2, OAuth 2.0 Security BCP §4.1.3).
    public var redirectURIs: [String]
    public var postLogoutRedirectURIs: [String]
    public var grantTypes: [String]
    public var scopes: [String]
    /// First-party clients skip the consent page.
    public var firstParty: Bool
    /// `id_token_signed_response_alg`; RS256 unless the client chooses ES256, PS256 or EdDSA.
    public var idTokenSignedResponseAlg: String
    /// Public JWK Set for `private_key_jwt` (RFC 7523), as JSON text.
    public var jwks: String?
    public var registeredDynamically: Bool
    public var createdAt: Date

    public init(id: String = EntityID.generate(.client), workspaceID: String, projectID: String, environment: Environment, name: String,
                type: ClientType, tokenEndpointAuthMethod: AuthMethod, secretHash: String?, redirectURIs: [String],
                postLogoutRedirectURIs: [String] = [], grantTypes: [String] = ["authorization_code", "refresh_token"],
                scopes: [String] = ["openid", "profile", "email", "offline_access"], firstParty: Bool = false,
                idTokenSignedResponseAlg: String = "RS256", jwks: String? = nil, registeredDynamically: Bool = false,
                createdAt: Date = Date()) {
        self.id = id
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.name = name
        self.type = type
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.secretHash = secretHash
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.grantTypes = grantTypes
        self.scopes = scopes
        self.firstParty = firstParty
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.jwks = jwks
        self.registeredDynamically = registeredDynamically
        self.createdAt = createdAt
    }

    /// Redirect URIs must be absolute, without fragment (RFC 6749 §3.1.2), https except for loopback
    /// hosts, and at most 2 KiB each.
    public static func validateRedirectURI(_ uri: String, field: String = "redirect_uris") throws(DomainError) {
        guard uri.utf8.count <= 2048, let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.fragment == nil
        else { throw .invalid(field: field, reason: "\(uri) is not an absolute URI without fragment") }
        switch scheme {
        case "https": break
        case "http":
            guard isLoopback(host: host) else { throw .invalid(field: field, reason: "\(uri) must use https (http only for loopback)") }
        default:
            // Private-use schemes for native apps (RFC 8252 §7.1) need a reverse-domain name.
            guard scheme.contains(".") else { throw .invalid(field: field, reason: "\(uri) has an unsupported scheme") }
        }
    }

    public static func isLoopback(host: String) -> Bool {
        ["127.0.0.1", "localhost", "[::1]", "::1"].contains(host.lowercased())
    }
}
