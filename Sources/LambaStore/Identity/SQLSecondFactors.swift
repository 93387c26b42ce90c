public import Foundation
import LambaJOSE
public import LambaModel

/// Authenticator apps and recovery codes (`SecondFactorSchema`), the same SQL on both databases.
extension SQLIdentityRecords {
    public func totpCredential(userID: String) throws -> TOTPCredential? {
        try reader.query("SELECT * FROM totp_credentials WHERE user_id = $1", [.text(userID)]).first.map { row in
            TOTPCredential(userID: try row.string("user_id"), sealedSecret: try Base64URL.decode(try row.string("sealed_secret")),
                           createdAt: try row.date("created_at"), confirmedAt: try row.optionalDate("confirmed_at"),
                           lastUsedStep: try row.optionalInt64("last_used_step"))
        }
    }

    public func unusedRecoveryCodeCount(userID: String) throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [.text(userID)]).int("n")
    }

    public func save(_ credential: TOTPCredential) throws {
        try tx.execute("DELETE FROM totp_credentials WHERE user_id = $1", [.text(credential.userID)])
        try tx.execute(
            "INSERT INTO totp_credentials (user_id, sealed_secret, created_at, confirmed_at, last_used_step) VALUES ($1, $2, $3, $4, $5)",
            [.text(credential.userID), .text(Base64URL.encode(credential.sealedSecret)), SQLValue(credential.createdAt),
             SQLValue(credential.confirmedAt), credential.lastUsedStep.map(SQLValue.integer) ?? .null])
    }

    public func confirmTOTPCredential(userID: String, at date: Date) throws {
        try tx.execute("UPDATE totp_credentials SET confirmed_at = $2 WHERE user_id = $1", [.text(userID), SQLValue(date)])
    }

    public func useTOTPStep(userID: String, step: Int64) throws -> Bool {
        // One statement decides, so two requests with the same code cannot both win.
        try tx.execute("UPDATE totp_credentials SET last_used_step = $2 WHERE user_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
                       [.text(userID), .integer(step)]) == 1
    }

    public func deleteTOTPCredential(userID: String) throws -> Bool {
        try tx.execute("DELETE FROM totp_credentials WHERE user_id = $1", [.text(userID)]) == 1
    }

    public func replaceRecoveryCodes(userID: String, hashes: [String], at date: Date) throws {
        try tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", [.text(userID)])
        for hash in Set(hashes) {
            try tx.execute("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)", [.text(userID), .text(hash), SQLValue(date)])
        }
    }

    public func useRecoveryCode(userID: String, hash: String, at date: Date) throws -> Bool {
        try tx.execute("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                       [.text(userID), .text(hash), SQLValue(date)]) == 1
    }
}
