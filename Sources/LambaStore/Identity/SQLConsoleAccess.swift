public import Foundation
public import LambaModel

/// Console access records (`ConsoleAccessSchema`), the same SQL on both databases.
extension SQLIdentityRecords {
    public func installation() throws -> Installation? {
        try reader.query("SELECT * FROM installation WHERE id = 1", []).first.map { row in
            Installation(workspaceID: try row.string("workspace_id"), consoleProjectID: try row.string("console_project_id"),
                         consoleClientID: try row.string("console_client_id"), workspaceCreation: try row.enumeration("workspace_creation"))
        }
    }

    public func insert(_ installation: Installation) throws {
        try tx.execute(
            "INSERT INTO installation (id, workspace_id, console_project_id, console_client_id, workspace_creation) VALUES (1, $1, $2, $3, $4)",
            [.text(installation.workspaceID), .text(installation.consoleProjectID), .text(installation.consoleClientID),
             .text(installation.workspaceCreation.rawValue)])
    }

    public func update(_ installation: Installation) throws {
        try tx.execute("UPDATE installation SET console_client_id = $1, workspace_creation = $2 WHERE id = 1",
                            [.text(installation.consoleClientID), .text(installation.workspaceCreation.rawValue)])
    }

    public func consoleSession(tokenHash: String) throws -> ConsoleSession? {
        try reader.query("SELECT * FROM console_sessions WHERE token_hash = $1", [.text(tokenHash)]).first.map(Self.consoleSession)
    }

    public func consoleSession(id: String) throws -> ConsoleSession? {
        try reader.query("SELECT * FROM console_sessions WHERE id = $1", [.text(id)]).first.map(Self.consoleSession)
    }

    public func insert(_ session: ConsoleSession) throws {
        try tx.execute(
            """
            INSERT INTO console_sessions (id, user_id, token_hash, workspace_id, identity_session_id, runtime_scope_id, created_at, last_seen_at,
                                          idle_expires_at, expires_at, revoked_at, revoke_reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            [.text(session.id), .text(session.userID), .text(session.tokenHash), SQLValue(session.workspaceID), .text(session.identitySessionID),
             .text(session.runtimeScopeID), SQLValue(session.createdAt), SQLValue(session.lastSeenAt), SQLValue(session.idleExpiresAt),
             SQLValue(session.expiresAt), SQLValue(session.revokedAt), SQLValue(session.revokeReason)])
    }

    public func update(_ session: ConsoleSession) throws {
        try tx.execute(
            "UPDATE console_sessions SET workspace_id = $2, last_seen_at = $3, idle_expires_at = $4, revoked_at = $5, revoke_reason = $6 WHERE id = $1",
            [.text(session.id), SQLValue(session.workspaceID), SQLValue(session.lastSeenAt), SQLValue(session.idleExpiresAt),
             SQLValue(session.revokedAt), SQLValue(session.revokeReason)])
    }

    public func revokeConsoleSessions(userID: String?, workspaceID: String?, reason: String, at date: Date) throws -> [ConsoleSession] {
        var conditions = SQLConditions()
        conditions.add("revoked_at IS NULL")
        conditions.add("expires_at > ?", SQLValue(date))
        conditions.add("user_id = ?", ifSet: SQLValue(userID))
        conditions.add("workspace_id = ?", ifSet: SQLValue(workspaceID))
        let sessions = try reader.query(SQL(trusted: "SELECT * FROM console_sessions WHERE " + conditions.sql), conditions.parameters).map(Self.consoleSession)
        for var session in sessions {
            session.revokedAt = date
            session.revokeReason = reason
            try update(session)
        }
        return sessions.map { session in
            var revoked = session
            revoked.revokedAt = date
            revoked.revokeReason = reason
            return revoked
        }
    }

    public func consoleSignInLink(tokenHash: String) throws -> ConsoleSignInLink? {
        try reader.query("SELECT * FROM console_sign_in_links WHERE token_hash = $1", [.text(tokenHash)]).first.map { row in
            ConsoleSignInLink(tokenHash: try row.string("token_hash"), userID: try row.string("user_id"), createdAt: try row.date("created_at"),
                              expiresAt: try row.date("expires_at"), usedAt: try row.optionalDate("used_at"))
        }
    }

    public func insert(_ link: ConsoleSignInLink) throws {
        try tx.execute("INSERT INTO console_sign_in_links (token_hash, user_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)",
                            [.text(link.tokenHash), .text(link.userID), SQLValue(link.createdAt), SQLValue(link.expiresAt), SQLValue(link.usedAt)])
    }

    public func update(_ link: ConsoleSignInLink) throws {
        try tx.execute("UPDATE console_sign_in_links SET used_at = $2 WHERE token_hash = $1", [.text(link.tokenHash), SQLValue(link.usedAt)])
    }

    public func consoleSessionsValidAfter(workspaceID: String, userID: String) throws -> Date? {
        try reader.query("SELECT console_sessions_valid_after FROM team_members WHERE workspace_id = $1 AND user_id = $2",
                         [.text(workspaceID), .text(userID)]).first.flatMap { try $0.optionalDate("console_sessions_valid_after") }
    }

    public func setConsoleSessionsValidAfter(workspaceID: String, userID: String, _ date: Date) throws {
        try tx.execute("UPDATE team_members SET console_sessions_valid_after = $3 WHERE workspace_id = $1 AND user_id = $2",
                            [.text(workspaceID), .text(userID), SQLValue(date)])
    }

    static func consoleSession(_ row: Row) throws -> ConsoleSession {
        var session = ConsoleSession(id: try row.string("id"), userID: try row.string("user_id"), tokenHash: try row.string("token_hash"),
                                     workspaceID: try row.optionalString("workspace_id"), identitySessionID: try row.string("identity_session_id"),
                                     runtimeScopeID: try row.string("runtime_scope_id"), createdAt: try row.date("created_at"),
                                     lifetimes: ConsoleSessionLifetimes())
        session.lastSeenAt = try row.date("last_seen_at")
        session.idleExpiresAt = try row.date("idle_expires_at")
        session.expiresAt = try row.date("expires_at")
        session.revokedAt = try row.optionalDate("revoked_at")
        session.revokeReason = try row.optionalString("revoke_reason")
        return session
    }
}
