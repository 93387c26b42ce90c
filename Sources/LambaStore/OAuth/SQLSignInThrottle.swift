public import Foundation
public import LambaOAuth

/// Sign-in failures on any `Store`, in the same transactions as the rest of the engine's records.
extension SQLIdentityRecords: SignInThrottleStorage {
    /// How many expired records one save deletes at most: cleanup stays a small, bounded part of
    /// the write that records a failure.
    static let expiredBatch = 32

    private var writer: any StoreTransaction {
        get throws {
            guard let transaction else { throw StoreError.transactionClosed }
            return transaction
        }
    }

    public func signInThrottle(workspaceID: String, emailHash: String) throws -> SignInThrottleRecord? {
        try reader.query("SELECT * FROM sign_in_throttles WHERE workspace_id = $1 AND email_hash = $2", [.text(workspaceID), .text(emailHash)])
            .first.map { row in
                SignInThrottleRecord(
                    workspaceID: try row.string("workspace_id"), emailHash: try row.string("email_hash"), failures: try row.int("failures"),
                    windowStartedAt: try row.date("window_started_at"), lockouts: try row.int("lockouts"),
                    lockedUntil: try row.optionalDate("locked_until"), expiresAt: try row.date("expires_at"))
            }
    }

    public func save(_ throttle: SignInThrottleRecord, now: Date) throws {
        try writer.execute(
            """
            DELETE FROM sign_in_throttles WHERE (workspace_id, email_hash) IN (
                SELECT workspace_id, email_hash FROM sign_in_throttles WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)
            """,
            [SQLValue(now), SQLValue(Self.expiredBatch)])
        try writer.execute(
            """
            INSERT INTO sign_in_throttles (workspace_id, email_hash, failures, window_started_at, lockouts, locked_until, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (workspace_id, email_hash) DO UPDATE SET failures = excluded.failures, window_started_at = excluded.window_started_at,
                lockouts = excluded.lockouts, locked_until = excluded.locked_until, expires_at = excluded.expires_at
            """,
            [.text(throttle.workspaceID), .text(throttle.emailHash), SQLValue(throttle.failures), SQLValue(throttle.windowStartedAt),
             SQLValue(throttle.lockouts), SQLValue(throttle.lockedUntil), SQLValue(throttle.expiresAt)])
    }

    public func deleteSignInThrottle(workspaceID: String, emailHash: String) throws {
        try writer.execute("DELETE FROM sign_in_throttles WHERE workspace_id = $1 AND email_hash = $2", [.text(workspaceID), .text(emailHash)])
    }
}
