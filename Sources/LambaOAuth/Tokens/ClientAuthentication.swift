public import Foundation
import LambaASCII
public import LambaJOSE
public import LambaModel

/// Client authentication at the token, revocation, introspection and access check endpoints
/// (RFC 6749 §2.3, OIDC Core §9, RFC 7523 §2.2): `client_secret_basic`, `client_secret_post`,
/// `private_key_jwt`, and `none` for public clients. A client uses only its registered method.
public struct ClientAuthentication: Sendable {
    let clients: RegisteredClients
    let assertions: Transactions<any ClientAssertionReplayStorage>
    let clock: WallClock

    public static let jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// Who presented itself, and how.
    struct Presented {
        var clientID: String
        var method: OAuthClient.AuthMethod
        var secret: String?
        var assertion: String?
    }

    /// Authenticates the caller. `allowNone` admits public clients (token endpoint only).
    /// - Throws: `invalid_request` for ambiguous or malformed credentials, `invalid_client`
    ///   (401 with `WWW-Authenticate: Basic`) otherwise.
    public func authenticate(_ request: EndpointRequest, _ context: ProviderContext, allowNone: Bool) async throws(OAuthError) -> OAuthClient {
        try await verify(try Self.presented(request), context, allowNone: allowNone)
    }

    static func presented(_ request: EndpointRequest) throws(OAuthError) -> Presented {
        let parameters = request.parameters
        let formID = try parameters.single("client_id")
        let formSecret = try parameters.single("client_secret")
        let assertionType = try parameters.single("client_assertion_type")
        let assertion = try parameters.single("client_assertion")
        var methods: [Presented] = []
        if let header = request.authorization, header.utf8.hasPrefixIgnoringASCIICase("basic ") {
            let encoded = header.dropFirst(6).trimmingHTTPWhitespace()
            guard let data = Data(base64Encoded: encoded), let decoded = String(validating: data, as: UTF8.self),
                let colon = decoded.firstIndex(of: ":")
            else { throw OAuthError(.invalidClient, "client authentication failed", debug: "malformed Basic header") }
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Base64.
            let id = try OAuthParameters.percentDecode(ArraySlice(decoded[..<colon].utf8))
            let secret = try OAuthParameters.percentDecode(ArraySlice(decoded[decoded.index(after: colon)...].utf8))
            if let formID, formID != id { throw .invalidRequest("client_id differs from the Basic credentials") }
            methods.append(Presented(clientID: id, method: .clientSecretBasic, secret: secret))
        }
        if let formSecret {
            guard let formID else { throw .invalidRequest("client_secret needs client_id") }
            methods.append(Presented(clientID: formID, method: .clientSecretPost, secret: formSecret))
        }
        if assertion != nil || assertionType != nil {
            guard assertionType == jwtBearerAssertionType, let assertion else {
                throw .invalidRequest("client_assertion_type must be \(jwtBearerAssertionType) with a client_assertion")
            }
            let subject = (try? Self.unverifiedSubject(assertion)) ?? formID
            guard let clientID = subject ?? formID else { throw OAuthError.invalidClient("assertion without sub") }
            if let formID, formID != clientID { throw .invalidRequest("client_id differs from the assertion's subject") }
            methods.append(Presented(clientID: clientID, method: .privateKeyJWT, assertion: assertion))
        }
        // RFC 6749 §2.3: a client must not use more than one authentication method per request.
        guard methods.count <= 1 else { throw .invalidRequest("use exactly one client authentication method") }
        if let method = methods.first { return method }
        guard let formID else { throw OAuthError.invalidClient("no client authentication") }
        return Presented(clientID: formID, method: .none)
    }

    /// The `sub` of a client assertion before verification, only to find the client's keys.
    static func unverifiedSubject(_ assertion: String) throws -> String? {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let claims = try JSON.decodeObject(try Base64URL.decode(String(parts[1])))
        return claims["sub"]?.stringValue
    }

    private func verify(_ presented: Presented, _ context: ProviderContext, allowNone: Bool) async throws(OAuthError) -> OAuthClient {
        let clientID = presented.clientID
        guard let client = try await clients.client(id: clientID, in: context) else {
            throw OAuthError.invalidClient("unknown client")
        }
        guard client.tokenEndpointAuthMethod == presented.method else {
            throw OAuthError.invalidClient("client registered \(client.tokenEndpointAuthMethod.rawValue), used \(presented.method.rawValue)")
        }
        switch presented.method {
        case .clientSecretBasic, .clientSecretPost:
            guard let secret = presented.secret, secret.utf8.count <= 256, let expected = client.secretHash,
                constantTimeEquals(Array(OpaqueSecret.hash(secret).utf8), Array(expected.utf8))
            else { throw OAuthError.invalidClient("wrong secret") }
        case .none:
            guard allowNone, client.type == .public else { throw OAuthError.invalidClient("this endpoint needs client authentication") }
        case .privateKeyJWT:
            try await verifyAssertion(presented.assertion ?? "", client: client, context)
        }
        return client
    }

    /// RFC 7523 §3 / OIDC Core §9: iss = sub = client_id, aud = the token endpoint or the issuer,
    /// exp in the future, jti used once, signed with a key of the client's registered JWKS.
    private func verifyAssertion(_ assertion: String, client: OAuthClient, _ context: ProviderContext) async throws(OAuthError) {
        let verified: VerifiedJWT
        do {
            guard let jwks = client.jwks else { throw OAuthError.invalidClient("client has no JWKS") }
            let set = try JWKSet(jsonBytes: Array(jwks.utf8))
            let verifier = try JWSVerifier(allowedAlgorithms: Set(JWSAlgorithm.allCases), jwks: set)
            verified = try JWT.verify(assertion, with: verifier, validation: JWTValidation(
                issuer: client.id, leeway: 30, expiry: .required, requiredClaims: ["jti", "sub", "aud"],
                now: NumericDate(clock.now()).secondsSince1970))
        } catch {
            throw OAuthError.invalidClient("client assertion refused: \(error)")
        }
        let claims = verified.claims
        guard claims.subject == client.id else { throw OAuthError.invalidClient("assertion sub is not the client") }
        let audiences = claims.audience
        guard audiences.contains(context.endpoint("/token")) || audiences.contains(context.issuer) else {
            throw OAuthError.invalidClient("assertion audience is not this token endpoint")
        }
        guard let jti = claims.jwtID, let exp = claims.expiration else { throw OAuthError.invalidClient("assertion without jti or exp") }
        let expiresAt = exp.date
        let clientID = client.id
        let fresh = try await assertions.write { tx in try tx.useClientAssertion(clientID: clientID, jti: jti, expiresAt: expiresAt) }
        guard fresh else { throw OAuthError.invalidClient("client assertion jti replayed") }
    }
}
