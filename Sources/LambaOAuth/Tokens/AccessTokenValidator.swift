public import Foundation
import LambaASCII
public import LambaJOSE
public import LambaModel

/// Validation of Lamba's own access tokens: signature with this environment's keys, `iss` equal
/// to this issuer (so Project B and production refuse Project A's and sandbox's tokens), `typ`
/// at+jwt (RFC 9068 §4), `exp`; then the server-side state, read now (docs/sessions-and-scopes.md#liveness): not revoked by
/// jti, runtime scope active, member and user active, or for client_credentials the client exists.
public struct AccessTokenValidator: Sendable {
    typealias Records = any AccessTokenRevocationStorage & ClientReader & RuntimeScopeLiveness.Records

    let keys: SigningKeyRing
    let records: Transactions<Records>
    /// Signature and claims checks by issuer and token, held while the environment's keys do not change.
    let verified: TableCache<String, JWTClaims>
    /// The server-side state behind a token, held while none of the records it reads changes.
    let states: TableCache<String, ProviderCaches.TokenState>
    let clock: WallClock

    /// Seconds by which another Lamba process's clock may run ahead when it signed a token (`nbf`, `iat`).
    static let clockSkew: Int64 = 5

    public struct Validated: Sendable {
        public let claims: JWTClaims
        public let clientID: String
        public let subject: String
        public let scopes: [String]
        /// The runtime scope and user, for user tokens.
        public let runtimeScope: RuntimeScope?
        public let user: LambaUser?
    }

    /// Signature and claims only; a token checked once is remembered (by issuer and token) until
    /// the environment's keys change, and its expiry is checked on every use. - Throws: `invalid_token`.
    func verifySignature(_ token: String, _ context: ProviderContext, allowExpired: Bool = false) async throws(OAuthError) -> JWTClaims {
        guard token.utf8.count <= 8192 else { throw OAuthError.invalidToken("the token is too long") }
        let now = NumericDate(clock.now()).secondsSince1970
        let keys = keys
        let claims = try await verified.value(context.issuer + " " + token) { () throws(OAuthError) -> JWTClaims? in
            do {
                let verifier = try await keys.verifier(projectID: context.project.id, environment: context.environment)
                // Expiry is left to the check below, so that a remembered token is held to it too; nbf and
                // iat are checked here (RFC 7519 §4.1.5–4.1.6), with a few seconds for clocks of other processes.
                let validation = JWTValidation(issuer: context.issuer, type: JWT.accessTokenType, leeway: Self.clockSkew,
                                               expiry: .requiredButMayHavePassed, requiredClaims: ["sub", "client_id", "jti"], now: now)
                let verified = try JWT.verify(token, with: verifier, validation: validation)
                guard verified.claims["project_id"]?.stringValue == context.project.id,
                    verified.claims["environment"]?.stringValue == context.environment.rawValue
                else { throw OAuthError.invalidToken("token of another project environment") }
                return verified.claims
            } catch let error as OAuthError {
                throw error
            } catch {
                throw OAuthError.invalidToken(String(describing: error))
            }
        }
        guard let claims else { throw OAuthError.invalidToken("the token could not be verified") }
        if !allowExpired {
            // RFC 9068 §4 / RFC 7519 §4.1.4: no leeway for Lamba's own tokens.
            guard let exp = claims.expiration, NumericDate(clamping: now) < exp else { throw OAuthError.invalidToken("the token expired") }
        }
        return claims
    }

    /// The full check. - Throws: `invalid_token` when the token is not (or no longer) valid.
    public func validate(_ token: String, _ context: ProviderContext) async throws(OAuthError) -> Validated {
        let claims = try await verifySignature(token, context)
        guard let jti = claims.jwtID, let clientID = claims["client_id"]?.stringValue, let subject = claims.subject else {
            throw OAuthError.invalidToken("claims missing")
        }
        let scopes = (claims["scope"]?.stringValue ?? "").split(separator: " ").map(String.init)
        let sid = claims["sid"]?.stringValue
        let records = records
        let key = [context.issuer, jti, sid ?? "-", subject, clientID].joined(separator: " ")
        let state = try await states.value(key) { () throws(OAuthError) -> ProviderCaches.TokenState? in
            try await records.read { tx -> ProviderCaches.TokenState in
                guard try !tx.isAccessTokenRevoked(jti: jti) else { return .inactive }
                if let sid {
                    guard let (scope, user) = try RuntimeScopes.live(tx, scopeID: sid, userID: subject, context) else { return .inactive }
                    return .user(scope, user)
                }
                // client_credentials: the client must still be registered here.
                guard subject == clientID, try RegisteredClients.client(tx, id: clientID, in: context) != nil else { return .inactive }
                return .client
            }
        }
        switch state ?? .inactive {
        case .inactive: throw OAuthError.invalidToken("revoked, or the runtime scope, membership or user is no longer active")
        case .user(let scope, let user): return Validated(claims: claims, clientID: clientID, subject: subject, scopes: scopes, runtimeScope: scope, user: user)
        case .client: return Validated(claims: claims, clientID: clientID, subject: subject, scopes: scopes, runtimeScope: nil, user: nil)
        }
    }

    /// RFC 6750 §2.1 / §2.2: the bearer token from the header or, for POST forms, the body.
    static func bearerToken(_ request: EndpointRequest) throws(OAuthError) -> String {
        let fromBody = request.method == "POST" ? try request.parameters.single("access_token") : nil
        if let header = request.authorization {
            guard header.utf8.hasPrefixIgnoringASCIICase("bearer "), fromBody == nil else {
                throw OAuthError.invalidRequest("send the token in exactly one way, as Authorization: Bearer")
            }
            let token = header.dropFirst(7).trimmingHTTPWhitespace()
            guard !token.isEmpty else { throw OAuthError.invalidToken("empty bearer token") }
            return token
        }
        guard let fromBody else {
            var error = OAuthError(.invalidToken, "an access token is required")
            error.lacksCredentials = true
            throw error
        }
        return fromBody
    }
}
