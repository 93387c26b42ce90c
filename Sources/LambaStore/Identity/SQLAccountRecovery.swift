public import Foundation
public import LambaModel

/// One-time account links and the mail outbox's writes (`AccountRecoverySchema`), the same SQL on both databases.
extension SQLIdentityRecords {
    public func accountToken(hash: String) throws -> AccountToken? {
        try reader.query("SELECT * FROM account_tokens WHERE token_hash = $1", [.text(hash)]).first.map(Self.accountToken)
    }

    public func pendingEmailChange(userID: String, projectID: String, environment: Environment, at date: Date) throws -> AccountToken? {
        try reader.query(
            """
            SELECT * FROM account_tokens
            WHERE user_id = $1 AND purpose = 'email_change' AND project_id = $2 AND environment = $3 AND used_at IS NULL AND expires_at > $4
            ORDER BY created_at DESC LIMIT 1
            """,
            [.text(userID), .text(projectID), .text(environment.rawValue), SQLValue(date)]).first.map(Self.accountToken)
    }

    static func accountToken(_ row: Row) throws -> AccountToken {
        AccountToken(tokenHash: try row.string("token_hash"), purpose: try row.enumeration("purpose"), userID: try row.string("user_id"),
                     email: try row.string("email"), workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"),
                     environment: try row.enumeration("environment"), createdAt: try row.date("created_at"),
                     expiresAt: try row.date("expires_at"), usedAt: try row.optionalDate("used_at"), newEmail: try row.optionalString("new_email"))
    }

    public func countAccountTokens(userID: String, purpose: AccountToken.Purpose, since date: Date) throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3",
                            [.text(userID), .text(purpose.rawValue), SQLValue(date)]).int("n")
    }

    public func insert(_ token: AccountToken) throws {
        try tx.execute(
            """
            INSERT INTO account_tokens (token_hash, purpose, user_id, email, workspace_id, project_id, environment, created_at, expires_at, used_at,
                                        new_email)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [.text(token.tokenHash), .text(token.purpose.rawValue), .text(token.userID), .text(token.email), .text(token.workspaceID),
             .text(token.projectID), .text(token.environment.rawValue), SQLValue(token.createdAt), SQLValue(token.expiresAt), SQLValue(token.usedAt),
             SQLValue(token.newEmail)])
    }

    public func useAccountToken(hash: String, at date: Date) throws -> Bool {
        try tx.execute("UPDATE account_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL", [.text(hash), SQLValue(date)]) == 1
    }

    public func voidAccountTokens(userID: String, purpose: AccountToken.Purpose, at date: Date) throws {
        try tx.execute("UPDATE account_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                       [.text(userID), .text(purpose.rawValue), SQLValue(date)])
    }

    public func enqueue(_ mail: OutgoingMail) throws {
        try tx.execute(
            """
            INSERT INTO mail_outbox (id, workspace_id, project_id, environment, kind, recipient, subject, body_text, body_html, status,
                                     attempts, next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10)
            """,
            [.text(mail.id), .text(mail.workspaceID), SQLValue(mail.projectID), SQLValue(mail.environment?.rawValue), .text(mail.kind),
             .text(mail.recipient), .text(mail.subject), .text(mail.text), .text(mail.html), SQLValue(mail.createdAt)])
    }

    public func identitySessionWorkspaces(userID: String) throws -> [String] {
        try reader.query("SELECT DISTINCT workspace_id FROM identity_sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY workspace_id",
                         [.text(userID)]).map { try $0.string("workspace_id") }
    }
}
