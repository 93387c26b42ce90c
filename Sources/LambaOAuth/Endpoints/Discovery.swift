public import LambaJOSE
import LambaModel

/// Provider metadata (OIDC Discovery 1.0 §3, RFC 8414 §2) and the JWK Set (RFC 7517 §5).
public struct Discovery: Sendable {
    let keys: SigningKeyRing
    let clients: Transactions<any ClientReader>

    public static let scopesSupported = ["openid", "profile", "email", "offline_access"]
    public static let claimsSupported = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid", "azp", "email",
                                         "email_verified", "name"]

    /// The same document answers `/.well-known/openid-configuration` and
    /// `/.well-known/oauth-authorization-server`; optional features appear only when on.
    public func metadata(_ context: ProviderContext) -> JSONObject {
        let algorithms: [JSONValue] = JWSAlgorithm.allCases.map { .string($0.rawValue) }
        // The methods ClientAuthentication accepts; `none` (public clients) only where it admits them.
        let authenticated: [JSONValue] = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        var document: JSONObject = [
            "issuer": .string(context.issuer),
            "authorization_endpoint": .string(context.endpoint("/authorize")),
            "token_endpoint": .string(context.endpoint("/token")),
            "userinfo_endpoint": .string(context.endpoint("/userinfo")),
            "jwks_uri": .string(context.endpoint("/jwks")),
            "revocation_endpoint": .string(context.endpoint("/revoke")),
            "introspection_endpoint": .string(context.endpoint("/introspect")),
            "end_session_endpoint": .string(context.endpoint("/logout")),
            "scopes_supported": .array(Self.scopesSupported.map(JSONValue.string)),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": .array(algorithms),
            "userinfo_signing_alg_values_supported": [],
            "token_endpoint_auth_methods_supported": .array(authenticated + ["none"]),
            "token_endpoint_auth_signing_alg_values_supported": .array(algorithms),
            // RFC 7009 §2.1: a public client revokes its own tokens with its client_id alone.
            "revocation_endpoint_auth_methods_supported": .array(authenticated + ["none"]),
            "introspection_endpoint_auth_methods_supported": .array(authenticated),
            "code_challenge_methods_supported": ["S256"],
            // Exactly the claims TokenIssuer.idToken and userinfo can issue.
            "claims_supported": .array(Self.claimsSupported.map(JSONValue.string)),
            "acr_values_supported": .array(AuthenticationContextClass.allCases.map { .string($0.rawValue) }),
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "frontchannel_logout_supported": false,
            "backchannel_logout_supported": false,
            // The languages the hosted pages are written in (docs/hosted-pages.md#languages).
            "ui_locales_supported": .array(HostedPageLanguage.allCases.map { .string($0.tag) }),
        ]
        if context.settings.dynamicClientRegistration != .off {
            document["registration_endpoint"] = .string(context.endpoint("/register"))
        }
        return document
    }

    /// Public keys only, every published key with its kid (current, next, and retired ones whose
    /// tokens may still be alive). Creates the environment's keys on first use.
    public func jwks(_ context: ProviderContext) async throws(OAuthError) -> JSONObject {
        do {
            var records = try await keys.published(projectID: context.project.id, environment: context.environment)
            if !records.contains(where: { $0.status == .current }) {
                let clients = try await clients.read { tx in try tx.clients(projectID: context.project.id, environment: context.environment) }
                try await keys.ensureCurrent(projectID: context.project.id, environment: context.environment,
                                                      algorithms: SigningKeyRing.algorithms(context.settings, clients: clients))
                records = try await keys.records(projectID: context.project.id, environment: context.environment)
            }
            let keys = try records.map { try JWK(jsonBytes: Array($0.publicJWK.utf8)).publicKey }
            return JWKSet(keys: keys).publicJSON
        } catch {
            throw OAuthError.wrap(error)
        }
    }
}
