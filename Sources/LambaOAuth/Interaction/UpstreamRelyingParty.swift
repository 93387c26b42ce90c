public import Foundation
public import LambaJOSE
public import LambaModel

// Lamba as the relying party of a social provider: discovery, the token request and ID token
// validation. The HTTP itself is a port (`UpstreamHTTPClient`) that the server implements, so
// that this module stays free of any HTTP framework.

/// An upstream's answer, as read by the port (the body is already size-limited).
public struct UpstreamHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    /// The `Cache-Control` header, which bounds how long discovery and the JWK Set are cached.
    public var cacheControl: String?

    public init(status: Int, body: [UInt8], cacheControl: String? = nil) {
        self.status = status
        self.body = body
        self.cacheControl = cacheControl
    }
}

/// Outbound HTTP to social providers. Implementations refuse targets the environment may not reach
/// (the SSRF guard), follow no redirects, time out, and cap the body.
public protocol UpstreamHTTPClient: Sendable {
    /// - Throws: any error when the target is refused or does not answer.
    func get(_ url: String, environment: Environment) async throws -> UpstreamHTTPResponse
    /// A form POST with an `Authorization` header. - Throws: as `get`.
    func postForm(_ url: String, form: [(String, String)], authorization: String, environment: Environment) async throws -> UpstreamHTTPResponse
}

/// Why an upstream could not be used; `description` is safe to show (no secrets, no bodies).
public struct UpstreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What the provider's discovery document says (OIDC Discovery §3).
public struct UpstreamMetadata: Sendable {
    public var issuer: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    public var jwksURI: String
    /// `id_token_signing_alg_values_supported` among the algorithms Lamba verifies; RS256 when absent (OIDC Core §15.1).
    public var idTokenAlgorithms: Set<JWSAlgorithm>
}

public enum UpstreamDiscovery {
    static let limits = JSONLimits(maxBytes: 256 * 1024, maxDepth: 16)

    /// OIDC Discovery §4.1 (the well-known URL, a trailing slash of the issuer removed) and §4.3
    /// (the document's `issuer` must equal the configured issuer exactly).
    public static func fetch(_ http: any UpstreamHTTPClient, issuer: String, environment: Environment) async throws(UpstreamError) -> UpstreamMetadata {
        try await fetchCacheable(http, issuer: issuer, environment: environment).value
    }

    /// `fetch`, with the answer's `Cache-Control`.
    static func fetchCacheable(_ http: any UpstreamHTTPClient, issuer: String,
                               environment: Environment) async throws(UpstreamError) -> (value: UpstreamMetadata, cacheControl: String?) {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        let (document, cacheControl) = try await getJSON(http, base + "/.well-known/openid-configuration", environment: environment, what: "discovery document")
        guard document["issuer"]?.stringValue == issuer else {
            throw UpstreamError("the discovery document names another issuer than \(issuer)")
        }
        func endpoint(_ name: String) throws(UpstreamError) -> String {
            guard let value = document[name]?.stringValue else { throw UpstreamError("the discovery document has no \(name)") }
            do {
                _ = try UpstreamProvider.validateURL(value, environment: environment, field: name)
            } catch {
                throw UpstreamError("the discovery document's \(name) is not an allowed URL: \(error.description)")
            }
            return value
        }
        var algorithms: Set<JWSAlgorithm> = [.rs256]
        if let listed = document["id_token_signing_alg_values_supported"]?.arrayValue {
            algorithms = Set(listed.compactMap { $0.stringValue.flatMap(JWSAlgorithm.init(rawValue:)) })
            guard !algorithms.isEmpty else { throw UpstreamError("the provider signs ID tokens with no algorithm Lamba verifies") }
        }
        let metadata = UpstreamMetadata(issuer: issuer, authorizationEndpoint: try endpoint("authorization_endpoint"),
                                        tokenEndpoint: try endpoint("token_endpoint"), jwksURI: try endpoint("jwks_uri"), idTokenAlgorithms: algorithms)
        return (metadata, cacheControl)
    }

    static func getJSON(_ http: any UpstreamHTTPClient, _ url: String, environment: Environment,
                        what: String) async throws(UpstreamError) -> (document: JSONObject, cacheControl: String?) {
        let response: UpstreamHTTPResponse
        do {
            response = try await http.get(url, environment: environment)
        } catch {
            throw UpstreamError("the provider's \(what) could not be fetched: \(error)")
        }
        guard response.status == 200 else { throw UpstreamError("the provider's \(what) answered HTTP \(response.status)") }
        do {
            return (try JSON.decodeObject(response.body, limits: limits), response.cacheControl)
        } catch {
            throw UpstreamError("the provider's \(what) is not a JSON object")
        }
    }

    /// The provider's signing keys (RFC 7517 §5).
    static func jwks(_ http: any UpstreamHTTPClient, _ metadata: UpstreamMetadata,
                     environment: Environment) async throws(UpstreamError) -> (value: JWKSet, cacheControl: String?) {
        let (document, cacheControl) = try await getJSON(http, metadata.jwksURI, environment: environment, what: "JWK Set")
        do {
            return (try JWKSet(json: document), cacheControl)
        } catch {
            throw UpstreamError("the provider's JWK Set is malformed")
        }
    }
}

/// The token request of the authorization code flow (OIDC Core §3.1.3.1), with client_secret_basic
/// (RFC 6749 §2.3.1: id and secret form-encoded before Base64) and the PKCE verifier (RFC 7636 §4.5).
enum UpstreamTokenRequest {
    static func exchange(_ http: any UpstreamHTTPClient, _ metadata: UpstreamMetadata, provider: UpstreamProvider, clientSecret: String, code: String,
                         redirectURI: String, codeVerifier: String) async throws(UpstreamError) -> String {
        let credentials = OAuthParameters.escape(provider.clientID) + ":" + OAuthParameters.escape(clientSecret)
        let authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        let response: UpstreamHTTPResponse
        do {
            response = try await http.postForm(metadata.tokenEndpoint, form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", codeVerifier),
            ], authorization: authorization, environment: provider.environment)
        } catch {
            throw UpstreamError("the provider's token endpoint could not be reached: \(error)")
        }
        let body = try? JSON.decodeObject(response.body, limits: UpstreamDiscovery.limits)
        guard response.status == 200, let body else {
            let code = body?["error"]?.stringValue.map { " (\($0.prefix(64)))" } ?? ""
            throw UpstreamError("the provider refused the authorization code with HTTP \(response.status)\(code)")
        }
        guard let idToken = body["id_token"]?.stringValue else { throw UpstreamError("the provider's token response has no ID token") }
        return idToken
    }
}

/// The verified facts of an upstream ID token that linking and sign-in use.
public struct UpstreamClaims: Sendable, Hashable {
    public var subject: String
    /// Normalized; nil when absent or not an email address.
    public var email: String?
    public var emailVerified: Bool
    public var name: String?
    public var amr: [String]

    var json: JSONObject {
        ["sub": .string(subject), "email": email.map(JSONValue.string) ?? .null, "email_verified": .bool(emailVerified),
         "name": name.map(JSONValue.string) ?? .null, "amr": .array(amr.map(JSONValue.string))]
    }

    init(subject: String, email: String?, emailVerified: Bool, name: String?, amr: [String]) {
        self.subject = subject
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
        self.amr = amr
    }

    init(json: JSONObject) throws(UpstreamError) {
        guard let subject = json["sub"]?.stringValue else { throw UpstreamError("stored claims are malformed") }
        self.init(subject: subject, email: json["email"]?.stringValue, emailVerified: json["email_verified"]?.boolValue ?? false,
                  name: json["name"]?.stringValue, amr: json["amr"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}

/// ID token validation by the relying party, OIDC Core §3.1.3.7, in its order: signature with the
/// provider's JWKS and an allowed algorithm (6–8), `iss` (2), `aud` and `azp` (3–5), `exp` (9),
/// `iat` not far from now (10), `nonce` (11, §3.1.2.1).
enum UpstreamIDToken {
    /// How far `iat` may lie in the past: the round trip takes minutes, not hours.
    static let maximumAge: Int64 = 600

    /// The `kid` of the token's JOSE header, read before verification only to choose the key set
    /// (the signature check still decides); nil when absent or unreadable.
    static func kid(_ token: String) -> String? {
        guard let header = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first, header.utf8.count <= 4096,
            let bytes = try? Base64URL.decode(String(header)), let object = try? JSON.decodeObject(bytes, limits: UpstreamDiscovery.limits)
        else { return nil }
        return object["kid"]?.stringValue
    }

    static func validate(_ token: String, jwks: JWKSet, metadata: UpstreamMetadata, provider: UpstreamProvider, nonceHash: String,
                         now: Int64) throws(UpstreamError) -> UpstreamClaims {
        let verified: VerifiedJWT
        do {
            let verifier = try JWSVerifier(allowedAlgorithms: metadata.idTokenAlgorithms, jwks: jwks)
            verified = try JWT.verify(token, with: verifier, validation: JWTValidation(
                issuer: provider.issuer, audience: provider.clientID, leeway: 60, requiredClaims: ["sub", "iat", "exp"], now: now))
        } catch {
            throw UpstreamError("the ID token is not valid: \(error)")
        }
        // An access token (RFC 9068 §4) is never accepted as an ID token.
        if let typ = verified.header.typ?.lowercased(), typ == "at+jwt" || typ == "application/at+jwt" {
            throw UpstreamError("the ID token is an access token")
        }
        let claims = verified.claims
        let audiences = claims.audience
        if let azp = claims["azp"] {
            guard azp.stringValue == provider.clientID else { throw UpstreamError("the ID token's azp is another client") }
        } else if audiences.count > 1 {
            throw UpstreamError("the ID token has several audiences and no azp")
        }
        guard let iat = claims.issuedAt, iat >= NumericDate(clamping: now).advanced(by: -maximumAge) else { throw UpstreamError("the ID token was issued too long ago") }
        guard let nonce = claims["nonce"]?.stringValue,
            constantTimeEquals(Array(OpaqueSecret.hash(nonce).utf8), Array(nonceHash.utf8))
        else { throw UpstreamError("the ID token's nonce does not match this sign-in") }
        guard let subject = claims.subject, (1...255).contains(subject.utf8.count) else { throw UpstreamError("the ID token has no valid sub") }
        let email = claims["email"]?.stringValue.flatMap { try? EmailAddress.normalize($0) }
        // Some providers send email_verified as a string (OIDC Core §5.1 says boolean).
        let verifiedEmail = claims["email_verified"]?.boolValue ?? (claims["email_verified"]?.stringValue == "true")
        let name = claims["name"]?.stringValue.flatMap { try? MemberLifecycle.validateName($0) }
        let amr = (claims["amr"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0.utf8.count <= 32 }.prefix(8)
        return UpstreamClaims(subject: subject, email: email, emailVerified: email != nil && verifiedEmail, name: name, amr: Array(amr))
    }
}
