public import Foundation
public import LambaJOSE
public import LambaModel

/// Mints Lamba's tokens: RFC 9068 access tokens with minimal claims (no roles), OIDC Core §2 ID
/// tokens, and opaque refresh tokens stored as hashes.
public struct TokenIssuer: Sendable {
    let keys: SigningKeyRing
    let clock: WallClock

    public struct AccessToken: Sendable {
        public let token: String
        public let jti: String
        public let expiresIn: Int
        public let expiresAt: Date
    }

    /// RFC 9068 §2.2. `sid` is the runtime scope (absent for client_credentials).
    public func accessToken(_ context: ProviderContext, subject: String, clientID: String, scopes: [String], runtimeScopeID: String?,
                            authTime: Date?) async throws -> AccessToken {
        let algorithm = JWSAlgorithm(rawValue: context.settings.accessTokenAlgorithm) ?? .es256
        let key = try await keys.signingKey(projectID: context.project.id, environment: context.environment, algorithm: algorithm)
        let now = clock.now()
        let iat = NumericDate(now)
        let lifetime = context.settings.accessTokenLifetimeSeconds
        let exp = iat.advanced(by: Int64(lifetime))
        let jti = try SecureRandom.token(byteCount: 16)
        var claims = JWTClaims()
        claims.members["iss"] = .string(context.issuer)
        claims.members["sub"] = .string(subject)
        claims.members["aud"] = .string(clientID)
        claims.members["client_id"] = .string(clientID)
        claims.expiration = exp
        claims.issuedAt = iat
        claims.members["jti"] = .string(jti)
        claims.members["scope"] = .string(scopes.joined(separator: " "))
        claims.members["project_id"] = .string(context.project.id)
        claims.members["environment"] = .string(context.environment.rawValue)
        if let runtimeScopeID { claims.members["sid"] = .string(runtimeScopeID) }
        if let authTime { claims.members["auth_time"] = JSONValue(NumericDate(authTime)) }
        let token = try JWT.sign(claims, algorithm: key.algorithm, key: key.key, kid: key.kid, typ: JWT.accessTokenType)
        return AccessToken(token: token, jti: jti, expiresIn: lifetime, expiresAt: exp.date)
    }

    /// OIDC Core §2, §3.1.3.6 (`at_hash`). RS256 unless the client registered another algorithm.
    public func idToken(_ context: ProviderContext, client: OAuthClient, user: LambaUser, scopes: [String], nonce: String?, authTime: Date,
                        amr: [String], runtimeScopeID: String, accessToken: String) async throws -> String {
        let algorithm = JWSAlgorithm(rawValue: client.idTokenSignedResponseAlg) ?? .rs256
        let key = try await keys.signingKey(projectID: context.project.id, environment: context.environment, algorithm: algorithm)
        let iat = NumericDate(clock.now())
        var claims = JWTClaims()
        claims.members["iss"] = .string(context.issuer)
        claims.members["sub"] = .string(user.id)
        claims.members["aud"] = .string(client.id)
        claims.expiration = iat.advanced(by: Int64(context.settings.idTokenLifetimeSeconds))
        claims.issuedAt = iat
        claims.members["auth_time"] = JSONValue(NumericDate(authTime))
        if let nonce { claims.members["nonce"] = .string(nonce) }
        claims.members["at_hash"] = .string(Self.atHash(accessToken, algorithm: algorithm))
        claims.members["sid"] = .string(runtimeScopeID)
        claims.members["azp"] = .string(client.id)
        if !amr.isEmpty {
            claims.members["amr"] = .array(amr.map(JSONValue.string))
            claims.members["acr"] = .string(AuthenticationContextClass.of(amr: amr).rawValue)
        }
        for (name, value) in UserClaims.claims(user, scopes: scopes) { claims.members[name] = value }
        return try JWT.sign(claims, algorithm: key.algorithm, key: key.key, kid: key.kid, typ: "JWT")
    }

    /// OIDC Core §3.1.3.6: the left half of the hash of the access token's ASCII octets, with the
    /// hash of the ID token's algorithm (SHA-256 for every algorithm Lamba signs with; EdDSA uses
    /// SHA-512 per OpenID's Ed25519 guidance).
    static func atHash(_ accessToken: String, algorithm: JWSAlgorithm) -> String {
        let digest = algorithm == .edDSA ? Digest.hash(Array(accessToken.utf8), .sha512) : Digest.sha256(Array(accessToken.utf8))
        return Base64URL.encode(digest.prefix(digest.count / 2))
    }

    /// A new refresh token of `familyID`, returned in the clear once; the record holds its hash.
    static func refreshToken(familyID: String, parentHash: String?, runtimeScope: RuntimeScope, clientID: String, scopes: [String],
                             authTime: Date, amr: [String], mintedWith access: AccessToken, context: ProviderContext,
                             now: Date) -> (value: String, record: RefreshTokenRecord) {
        let secret = OpaqueSecret.generate(prefix: "lmb_rt_")
        let record = RefreshTokenRecord(
            tokenHash: secret.hash, familyID: familyID, parentHash: parentHash, runtimeScopeID: runtimeScope.id, sessionID: runtimeScope.sessionID,
            userID: runtimeScope.userID, clientID: clientID, projectID: context.project.id, environment: context.environment, scopes: scopes,
            authTime: authTime, amr: amr, accessTokenID: access.jti, accessTokenExpiresAt: access.expiresAt, createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(context.settings.refreshTokenLifetimeSeconds)))
        return (secret.value, record)
    }
}

/// Standard claims released per scope (OIDC Core §5.4): `email` → email, email_verified;
/// `profile` → name.
enum UserClaims {
    static func claims(_ user: LambaUser, scopes: [String]) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        if scopes.contains("email") {
            out.append(("email", .string(user.email)))
            out.append(("email_verified", .bool(user.emailVerified)))
        }
        if scopes.contains("profile") { out.append(("name", .string(user.name))) }
        return out
    }
}

/// Scope strings (RFC 6749 §3.3): space-delimited, case-sensitive, no duplicates.
enum ScopeList {
    static func parse(_ text: String?) throws(OAuthError) -> [String] {
        guard let text else { return [] }
        var scopes: [String] = []
        for part in text.split(separator: " ", omittingEmptySubsequences: true) {
            let scope = String(part)
            guard scope.utf8.allSatisfy({ $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }) else {
                throw OAuthError(.invalidScope, "a scope contains characters RFC 6749 §3.3 does not allow")
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }
}
