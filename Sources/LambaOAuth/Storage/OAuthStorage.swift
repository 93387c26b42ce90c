public import Foundation
public import LambaModel

// Storage owned by the protocol engine: small protocols per feature, keyed by token hashes, never
// raw tokens. LambaStore implements them on the same SQL records type as the identity model, so one
// transaction covers a token issue, the identity changes and their events.

/// A signing key of one Project environment, as stored: public JWK in the clear, private key
/// sealed under the master key (DESIGN.md "Tokens").
public struct SigningKeyRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable {
        /// Published in JWKS, not yet used to sign.
        case next
        /// Signs new tokens.
        case current
        /// Kept in JWKS until `retireAfter`, so tokens it signed still verify.
        case retired
    }

    public var kid: String
    public var projectID: String
    public var environment: Environment
    public var algorithm: String
    /// The public JWK as compact JSON.
    public var publicJWK: String
    /// The sealed private key, base64url.
    public var sealedPrivateKey: String
    public var status: Status
    public var createdAt: Date
    public var activatedAt: Date?
    public var retireAfter: Date?

    public init(kid: String, projectID: String, environment: Environment, algorithm: String, publicJWK: String, sealedPrivateKey: String,
                status: Status, createdAt: Date, activatedAt: Date?, retireAfter: Date?) {
        self.kid = kid
        self.projectID = projectID
        self.environment = environment
        self.algorithm = algorithm
        self.publicJWK = publicJWK
        self.sealedPrivateKey = sealedPrivateKey
        self.status = status
        self.createdAt = createdAt
        self.activatedAt = activatedAt
        self.retireAfter = retireAfter
    }
}

/// Signing keys per Project environment.
public protocol SigningKeyStorage {
    /// Every key of the environment that is not past its retirement, newest first.
    /// - Throws: the store's errors.
    func signingKeys(projectID: String, environment: Environment, at date: Date) throws -> [SigningKeyRecord]
    /// - Throws: the store's errors; a duplicate kid is a unique violation.
    func insert(_ key: SigningKeyRecord) throws
    /// Changes a key's status and dates. - Throws: the store's errors.
    func update(_ key: SigningKeyRecord) throws
}

/// The grant an authorization code stands for (RFC 6749 §4.1.2). A consumed code still reads
/// back, with what it issued, so that a replay can revoke it (§4.1.2, §10.5).
public struct AuthorizationCodeGrantRecord: Sendable, Hashable {
    public var codeHash: String
    public var clientID: String
    public var projectID: String
    public var environment: Environment
    public var runtimeScopeID: String
    public var sessionID: String
    public var userID: String
    public var redirectURI: String
    public var codeChallenge: String?
    public var codeChallengeMethod: String?
    public var nonce: String?
    public var scopes: [String]
    public var authTime: Date
    public var amr: [String]
    public var createdAt: Date
    public var expiresAt: Date
    public var consumedAt: Date?
    /// The refresh token family and access token id the code's exchange issued.
    public var issuedRefreshFamilyID: String?
    public var issuedAccessTokenID: String?

    public init(codeHash: String, clientID: String, projectID: String, environment: Environment, runtimeScopeID: String, sessionID: String,
                userID: String, redirectURI: String, codeChallenge: String?, codeChallengeMethod: String?, nonce: String?, scopes: [String],
                authTime: Date, amr: [String], createdAt: Date, expiresAt: Date, consumedAt: Date? = nil, issuedRefreshFamilyID: String? = nil,
                issuedAccessTokenID: String? = nil) {
        self.codeHash = codeHash
        self.clientID = clientID
        self.projectID = projectID
        self.environment = environment
        self.runtimeScopeID = runtimeScopeID
        self.sessionID = sessionID
        self.userID = userID
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.codeChallengeMethod = codeChallengeMethod
        self.nonce = nonce
        self.scopes = scopes
        self.authTime = authTime
        self.amr = amr
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.consumedAt = consumedAt
        self.issuedRefreshFamilyID = issuedRefreshFamilyID
        self.issuedAccessTokenID = issuedAccessTokenID
    }
}

public protocol AuthorizationCodeStorage {
    /// - Throws: the store's errors (a duplicate hash is a unique violation).
    func insert(_ code: AuthorizationCodeGrantRecord) throws
    /// The code's grant, consumed or not; nil when unknown. - Throws: the store's errors.
    func authorizationCode(hash: String) throws -> AuthorizationCodeGrantRecord?
    /// Marks the code consumed and records what it issued; false when it was consumed already
    /// (a concurrent exchange won). - Throws: the store's errors.
    func consumeAuthorizationCode(hash: String, at date: Date, refreshFamilyID: String?, accessTokenID: String) throws -> Bool
}

/// A refresh token (RFC 6749 §6) bound to a runtime scope, rotated on every use (OAuth 2.0
/// Security BCP §4.14.2): the family links every rotation of one grant.
public struct RefreshTokenRecord: Sendable, Hashable {
    public var tokenHash: String
    public var familyID: String
    public var parentHash: String?
    public var runtimeScopeID: String
    public var sessionID: String
    public var userID: String
    public var clientID: String
    public var projectID: String
    public var environment: Environment
    public var scopes: [String]
    public var authTime: Date
    /// How the user signed in at `authTime` (RFC 8176), so that an ID token from a refresh
    /// tells the same truth as the first one (OIDC Core §12.2).
    public var amr: [String]
    /// The access token minted with this refresh token, kept until it expires, so that revoking
    /// the grant revokes it too (RFC 7009 §2.1).
    public var accessTokenID: String?
    public var accessTokenExpiresAt: Date?
    public var createdAt: Date
    public var expiresAt: Date
    /// When it was exchanged for its successor; presenting it again is reuse.
    public var rotatedAt: Date?
    public var revokedAt: Date?

    public init(tokenHash: String, familyID: String, parentHash: String?, runtimeScopeID: String, sessionID: String, userID: String,
                clientID: String, projectID: String, environment: Environment, scopes: [String], authTime: Date, amr: [String] = [],
                accessTokenID: String? = nil, accessTokenExpiresAt: Date? = nil, createdAt: Date, expiresAt: Date, rotatedAt: Date? = nil,
                revokedAt: Date? = nil) {
        self.tokenHash = tokenHash
        self.familyID = familyID
        self.parentHash = parentHash
        self.runtimeScopeID = runtimeScopeID
        self.sessionID = sessionID
        self.userID = userID
        self.clientID = clientID
        self.projectID = projectID
        self.environment = environment
        self.scopes = scopes
        self.amr = amr
        self.accessTokenID = accessTokenID
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.authTime = authTime
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.rotatedAt = rotatedAt
        self.revokedAt = revokedAt
    }
}

public protocol RefreshTokenStorage {
    /// - Throws: the store's errors.
    func insert(_ token: RefreshTokenRecord) throws
    /// The token, rotated, revoked or not; nil when unknown. - Throws: the store's errors.
    func refreshToken(hash: String) throws -> RefreshTokenRecord?
    /// Marks the token rotated; false when it was rotated or revoked already. - Throws: the store's errors.
    func rotateRefreshToken(hash: String, at date: Date) throws -> Bool
    /// Revokes every live token of a family; returns how many. - Throws: the store's errors.
    @discardableResult
    func revokeRefreshFamily(_ familyID: String, at date: Date) throws -> Int
    /// The access tokens minted with a family's refresh tokens that have not expired by `date`.
    /// - Throws: the store's errors.
    func unexpiredAccessTokens(ofRefreshFamily familyID: String, at date: Date) throws -> [(jti: String, expiresAt: Date)]
    /// The tokens issued in exchange for the token with `parentHash`, oldest first. - Throws: the store's errors.
    func refreshTokens(parentHash: String) throws -> [RefreshTokenRecord]
    /// Revokes one token that was neither rotated nor revoked; false when it was. - Throws: the store's errors.
    func revokeUnusedRefreshToken(hash: String, at date: Date) throws -> Bool
}

/// What a user allowed a client to ask for (OIDC Core §3.1.2.4).
public protocol ConsentStorage {
    /// The scopes granted, or nil when never asked. - Throws: the store's errors.
    func consentedScopes(userID: String, clientID: String) throws -> [String]?
    /// Records (replaces) the grant. - Throws: the store's errors.
    func saveConsent(userID: String, clientID: String, scopes: [String], at date: Date) throws
}

/// Access tokens revoked before they expire (RFC 7009 §2), tracked by `jti` until their `exp`.
public protocol AccessTokenRevocationStorage {
    /// - Throws: the store's errors.
    func revokeAccessToken(jti: String, clientID: String, expiresAt: Date, at date: Date) throws
    /// - Throws: the store's errors.
    func isAccessTokenRevoked(jti: String) throws -> Bool
}

/// `jti` values of client assertions already used (RFC 7523 §3 item 7, OIDC Core §9).
public protocol ClientAssertionReplayStorage {
    /// Records the jti; false when it was seen before. - Throws: the store's errors.
    func useClientAssertion(clientID: String, jti: String, expiresAt: Date) throws -> Bool
}

/// Dynamic registrations (RFC 7591) counted per environment and per client address, for the
/// endpoint's abuse limits.
public protocol ClientRegistrationStorage {
    /// Serializes registrations of one environment until the transaction ends, so that two
    /// concurrent ones cannot both pass a count. - Throws: the store's errors.
    func lockClientRegistrations(projectID: String, environment: Environment) throws
    /// Clients of the environment that registered themselves and still exist. - Throws: the store's errors.
    func dynamicClientCount(projectID: String, environment: Environment) throws -> Int
    /// When the address registered clients in the environment since `date`, oldest first. - Throws: the store's errors.
    func registrations(projectID: String, environment: Environment, addressHash: String, since date: Date) throws -> [Date]
    /// - Throws: the store's errors.
    func recordRegistration(clientID: String, projectID: String, environment: Environment, addressHash: String, accessTokenHash: String,
                            at date: Date) throws
    /// The hash of the client's registration access token (RFC 7592), nil when it has none (the
    /// client was deleted, or registered before Lamba issued them). - Throws: the store's errors.
    func registrationAccessTokenHash(clientID: String) throws -> String?
    /// Replaces (nil: withdraws) the registration access token. - Throws: the store's errors.
    func setRegistrationAccessToken(clientID: String, hash: String?) throws
}

/// Everything the engine reads and writes inside one transaction.
public protocol OAuthRecords: IdentityWriter, SigningKeyStorage, AuthorizationCodeStorage, RefreshTokenStorage, ConsentStorage,
    AccessTokenRevocationStorage, ClientAssertionReplayStorage, ProviderSignInStorage, SignInThrottleStorage, ClientRegistrationStorage {}

/// Transactions over the engine's records and the identity model.
public protocol OAuthStore: Sendable {
    /// The identity model on the same database, for the domain services.
    var identity: any IdentityStore { get }
    /// Per-table change versions of the same database, for the provider's caches.
    var versions: TableVersions { get }
    /// Brings `versions` up to every change committed before now, by this process or another.
    /// - Throws: the store's errors.
    func synchronizeVersions() async throws
    /// - Throws: the body's error, or the store's.
    func write<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws -> T
    /// A read-only snapshot; writes inside it throw. - Throws: the body's error, or the store's.
    func read<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws -> T
}
