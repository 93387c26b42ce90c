public import Foundation
import LambaJOSE
public import LambaModel

/// Passkeys and used ceremony challenges (`PasskeySchema`), the same SQL on both databases.
extension SQLIdentityRecords {
    public func passkeys(userID: String) throws -> [Passkey] {
        try reader.query("SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", [.text(userID)]).map(Self.passkey)
    }

    public func passkey(rpID: String, credentialID: [UInt8]) throws -> Passkey? {
        try reader.query("SELECT * FROM passkeys WHERE rp_id = $1 AND credential_id = $2",
                         [.text(rpID), .text(Base64URL.encode(credentialID))]).first.map(Self.passkey)
    }

    public func passkeyCount(userID: String) throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1", [.text(userID)]).int("n")
    }

    public func insert(_ passkey: Passkey) throws {
        try tx.execute("""
            INSERT INTO passkeys (id, user_id, rp_id, credential_id, public_key, algorithm, sign_count, backup_eligible, backed_up, aaguid,
                                  name, created_at, last_used_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """, [.text(passkey.id), .text(passkey.userID), .text(passkey.rpID), .text(Base64URL.encode(passkey.credentialID)),
                  .text(Base64URL.encode(passkey.publicKey)), .integer(passkey.algorithm), .integer(passkey.signCount),
                  .bool(passkey.backupEligible), .bool(passkey.backedUp), .text(Base64URL.encode(passkey.aaguid)), .text(passkey.name),
                  SQLValue(passkey.createdAt), SQLValue(passkey.lastUsedAt)])
    }

    public func recordPasskeyUse(id: String, expectedSignCount: Int64, signCount: Int64, backedUp: Bool, at date: Date) throws -> Bool {
        // One statement decides, so two requests with one assertion cannot both win.
        try tx.execute("UPDATE passkeys SET sign_count = $3, backed_up = $4, last_used_at = $5 WHERE id = $1 AND sign_count = $2",
                       [.text(id), .integer(expectedSignCount), .integer(signCount), .bool(backedUp), SQLValue(date)]) == 1
    }

    public func deletePasskey(id: String, userID: String) throws -> Bool {
        try tx.execute("DELETE FROM passkeys WHERE id = $1 AND user_id = $2", [.text(id), .text(userID)]) == 1
    }

    public func useWebAuthnChallenge(hash: String, expiresAt: Date, now: Date) throws -> Bool {
        try tx.execute("DELETE FROM webauthn_used_challenges WHERE expires_at < $1", [SQLValue(now)])
        // ON CONFLICT rather than a caught unique violation: PostgreSQL aborts a transaction on the error.
        return try tx.execute("INSERT INTO webauthn_used_challenges (challenge_hash, expires_at) VALUES ($1, $2) ON CONFLICT (challenge_hash) DO NOTHING",
                              [.text(hash), SQLValue(expiresAt)]) == 1
    }

    static func passkey(_ row: Row) throws -> Passkey {
        Passkey(id: try row.string("id"), userID: try row.string("user_id"), rpID: try row.string("rp_id"),
                credentialID: try Base64URL.decode(try row.string("credential_id")), publicKey: try Base64URL.decode(try row.string("public_key")),
                algorithm: try row.int64("algorithm"), signCount: try row.int64("sign_count"), backupEligible: try row.bool("backup_eligible"),
                backedUp: try row.bool("backed_up"), aaguid: try Base64URL.decode(try row.string("aaguid")), name: try row.string("name"),
                createdAt: try row.date("created_at"), lastUsedAt: try row.optionalDate("last_used_at"))
    }
}
