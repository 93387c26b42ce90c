public import Foundation
public import LambaModel
public import LambaOAuth
import LambaJOSE

/// The OpenID Provider's records on any `Store`, in the same transactions as the identity model.
public struct SQLOAuthStore: OAuthStore {
    public let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    public var identity: any IdentityStore { SQLIdentityStore(store: store) }

    public var versions: TableVersions { store.versions }

    public func synchronizeVersions() async throws { try await store.synchronizeVersions() }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws -> T {
        try await store.withTransaction { tx in try body(SQLIdentityRecords(reader: tx, transaction: tx)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws -> T {
        try await store.read { reader in try body(SQLIdentityRecords(reader: reader, transaction: nil)) }
    }
}

extension SQLIdentityRecords: OAuthRecords {
    private var writer: any StoreTransaction {
        get throws {
            guard let transaction else { throw StoreError.transactionClosed }
            return transaction
        }
    }

    // MARK: Signing keys

    public func signingKeys(projectID: String, environment: LambaModel.Environment, at date: Date) throws -> [SigningKeyRecord] {
        try reader.query(
            """
            SELECT * FROM signing_keys WHERE project_id = $1 AND environment = $2 AND (retire_after IS NULL OR retire_after > $3)
            ORDER BY created_at DESC, kid
            """,
            [.text(projectID), .text(environment.rawValue), SQLValue(date)]
        ).map(Self.signingKey)
    }

    public func insert(_ key: SigningKeyRecord) throws {
        try writer.execute(
            """
            INSERT INTO signing_keys (kid, project_id, environment, alg, public_jwk, sealed_private_key, status, created_at, activated_at, retire_after)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [.text(key.kid), .text(key.projectID), .text(key.environment.rawValue), .text(key.algorithm), .text(key.publicJWK),
             .text(key.sealedPrivateKey), .text(key.status.rawValue), SQLValue(key.createdAt), SQLValue(key.activatedAt), SQLValue(key.retireAfter)])
    }

    public func update(_ key: SigningKeyRecord) throws {
        try writer.execute("UPDATE signing_keys SET status = $2, activated_at = $3, retire_after = $4 WHERE kid = $1",
                           [.text(key.kid), .text(key.status.rawValue), SQLValue(key.activatedAt), SQLValue(key.retireAfter)])
    }

    static func signingKey(_ row: Row) throws -> SigningKeyRecord {
        SigningKeyRecord(kid: try row.string("kid"), projectID: try row.string("project_id"), environment: try row.enumeration("environment"),
                         algorithm: try row.string("alg"), publicJWK: try row.string("public_jwk"), sealedPrivateKey: try row.string("sealed_private_key"),
                         status: try row.enumeration("status"), createdAt: try row.date("created_at"), activatedAt: try row.optionalDate("activated_at"),
                         retireAfter: try row.optionalDate("retire_after"))
    }

    // MARK: Authorization codes

    public func insert(_ code: AuthorizationCodeGrantRecord) throws {
        try writer.execute(
            """
            INSERT INTO authorization_codes (code_hash, client_id, project_id, environment, runtime_scope_id, session_id, user_id, redirect_uri,
                code_challenge, code_challenge_method, nonce, scopes, auth_time, amr, created_at, expires_at, consumed_at,
                issued_refresh_family_id, issued_access_token_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            """,
            [.text(code.codeHash), .text(code.clientID), .text(code.projectID), .text(code.environment.rawValue), .text(code.runtimeScopeID),
             .text(code.sessionID), .text(code.userID), .text(code.redirectURI), SQLValue(code.codeChallenge), SQLValue(code.codeChallengeMethod),
             SQLValue(code.nonce), .json(code.scopes), SQLValue(code.authTime), .json(code.amr), SQLValue(code.createdAt), SQLValue(code.expiresAt),
             SQLValue(code.consumedAt), SQLValue(code.issuedRefreshFamilyID), SQLValue(code.issuedAccessTokenID)])
    }

    public func authorizationCode(hash: String) throws -> AuthorizationCodeGrantRecord? {
        try reader.query("SELECT * FROM authorization_codes WHERE code_hash = $1", [.text(hash)]).first.map { row in
            AuthorizationCodeGrantRecord(
                codeHash: try row.string("code_hash"), clientID: try row.string("client_id"), projectID: try row.string("project_id"),
                environment: try row.enumeration("environment"), runtimeScopeID: try row.string("runtime_scope_id"),
                sessionID: try row.string("session_id"), userID: try row.string("user_id"), redirectURI: try row.string("redirect_uri"),
                codeChallenge: try row.optionalString("code_challenge"), codeChallengeMethod: try row.optionalString("code_challenge_method"),
                nonce: try row.optionalString("nonce"), scopes: try row.stringList("scopes"), authTime: try row.date("auth_time"),
                amr: try row.stringList("amr"), createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"),
                consumedAt: try row.optionalDate("consumed_at"), issuedRefreshFamilyID: try row.optionalString("issued_refresh_family_id"),
                issuedAccessTokenID: try row.optionalString("issued_access_token_id"))
        }
    }

    public func consumeAuthorizationCode(hash: String, at date: Date, refreshFamilyID: String?, accessTokenID: String) throws -> Bool {
        try writer.execute(
            """
            UPDATE authorization_codes SET consumed_at = $2, issued_refresh_family_id = $3, issued_access_token_id = $4
            WHERE code_hash = $1 AND consumed_at IS NULL
            """,
            [.text(hash), SQLValue(date), SQLValue(refreshFamilyID), .text(accessTokenID)]) == 1
    }

    // MARK: Refresh tokens

    public func insert(_ token: RefreshTokenRecord) throws {
        try writer.execute(
            """
            INSERT INTO refresh_tokens (token_hash, family_id, parent_hash, runtime_scope_id, session_id, user_id, client_id, project_id,
                environment, scopes, auth_time, created_at, expires_at, rotated_at, revoked_at, amr, access_token_id, access_token_expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            """,
            [.text(token.tokenHash), .text(token.familyID), SQLValue(token.parentHash), .text(token.runtimeScopeID), .text(token.sessionID),
             .text(token.userID), .text(token.clientID), .text(token.projectID), .text(token.environment.rawValue), .json(token.scopes),
             SQLValue(token.authTime), SQLValue(token.createdAt), SQLValue(token.expiresAt), SQLValue(token.rotatedAt), SQLValue(token.revokedAt),
             .json(token.amr), SQLValue(token.accessTokenID), SQLValue(token.accessTokenExpiresAt)])
    }

    public func refreshToken(hash: String) throws -> RefreshTokenRecord? {
        try reader.query("SELECT * FROM refresh_tokens WHERE token_hash = $1", [.text(hash)]).first.map(Self.refreshToken)
    }

    public func refreshTokens(parentHash: String) throws -> [RefreshTokenRecord] {
        try reader.query("SELECT * FROM refresh_tokens WHERE parent_hash = $1 ORDER BY created_at, token_hash", [.text(parentHash)])
            .map(Self.refreshToken)
    }

    public func revokeUnusedRefreshToken(hash: String, at date: Date) throws -> Bool {
        try writer.execute("UPDATE refresh_tokens SET revoked_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL",
                           [.text(hash), SQLValue(date)]) == 1
    }

    private static func refreshToken(_ row: Row) throws -> RefreshTokenRecord {
        RefreshTokenRecord(
            tokenHash: try row.string("token_hash"), familyID: try row.string("family_id"), parentHash: try row.optionalString("parent_hash"),
            runtimeScopeID: try row.string("runtime_scope_id"), sessionID: try row.string("session_id"), userID: try row.string("user_id"),
            clientID: try row.string("client_id"), projectID: try row.string("project_id"), environment: try row.enumeration("environment"),
            scopes: try row.stringList("scopes"), authTime: try row.date("auth_time"), amr: try row.stringList("amr"),
            accessTokenID: try row.optionalString("access_token_id"), accessTokenExpiresAt: try row.optionalDate("access_token_expires_at"),
            createdAt: try row.date("created_at"),
            expiresAt: try row.date("expires_at"), rotatedAt: try row.optionalDate("rotated_at"), revokedAt: try row.optionalDate("revoked_at"))
    }

    public func unexpiredAccessTokens(ofRefreshFamily familyID: String, at date: Date) throws -> [(jti: String, expiresAt: Date)] {
        try reader.query(
            """
            SELECT access_token_id, access_token_expires_at FROM refresh_tokens
            WHERE family_id = $1 AND access_token_id IS NOT NULL AND access_token_expires_at > $2
            """,
            [.text(familyID), SQLValue(date)]
        ).map { (try $0.string("access_token_id"), try $0.date("access_token_expires_at")) }
    }

    public func rotateRefreshToken(hash: String, at date: Date) throws -> Bool {
        try writer.execute("UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL",
                           [.text(hash), SQLValue(date)]) == 1
    }

    public func revokeRefreshFamily(_ familyID: String, at date: Date) throws -> Int {
        try writer.execute("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", [.text(familyID), SQLValue(date)])
    }

    // MARK: Consents

    public func consentedScopes(userID: String, clientID: String) throws -> [String]? {
        try reader.query("SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2", [.text(userID), .text(clientID)])
            .first.map { try $0.stringList("scopes") }
    }

    public func saveConsent(userID: String, clientID: String, scopes: [String], at date: Date) throws {
        try writer.execute("DELETE FROM consents WHERE user_id = $1 AND client_id = $2", [.text(userID), .text(clientID)])
        try writer.execute("INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)",
                           [.text(userID), .text(clientID), .json(scopes), SQLValue(date)])
    }

    // MARK: Revoked access tokens and client assertions

    public func revokeAccessToken(jti: String, clientID: String, expiresAt: Date, at date: Date) throws {
        try writer.execute("DELETE FROM revoked_access_tokens WHERE expires_at < $1", [SQLValue(date)])
        guard try !isAccessTokenRevoked(jti: jti) else { return }
        try writer.execute("INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4)",
                           [.text(jti), .text(clientID), SQLValue(expiresAt), SQLValue(date)])
    }

    public func isAccessTokenRevoked(jti: String) throws -> Bool {
        try !reader.query("SELECT jti FROM revoked_access_tokens WHERE jti = $1", [.text(jti)]).isEmpty
    }

    public func useClientAssertion(clientID: String, jti: String, expiresAt: Date) throws -> Bool {
        try writer.execute("DELETE FROM client_assertions WHERE expires_at < $1", [SQLValue(Date())])
        guard try reader.query("SELECT jti FROM client_assertions WHERE client_id = $1 AND jti = $2", [.text(clientID), .text(jti)]).isEmpty else {
            return false
        }
        try writer.execute("INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)",
                           [.text(clientID), .text(jti), SQLValue(expiresAt)])
        return true
    }
}
