/// Console access (versions 80–89): the installation row, console sessions, one-time sign-in
/// links, and when each Team Member's console sessions were last ended. Times are epoch
/// milliseconds; the same statements run on both databases.
enum ConsoleAccessSchema {
    static let migration = Migration(version: 80, name: "console access", sql: """
        CREATE TABLE installation (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            console_project_id TEXT NOT NULL REFERENCES projects (id),
            console_client_id TEXT NOT NULL,
            workspace_creation TEXT NOT NULL CHECK (workspace_creation IN ('open', 'invite_only', 'administrators'))
        );
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            token_hash TEXT NOT NULL UNIQUE,
            workspace_id TEXT REFERENCES workspaces (id),
            identity_session_id TEXT NOT NULL,
            runtime_scope_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen_at BIGINT NOT NULL,
            idle_expires_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT,
            revoke_reason TEXT
        );
        CREATE INDEX console_sessions_user ON console_sessions (user_id);
        CREATE INDEX console_sessions_workspace ON console_sessions (workspace_id);
        CREATE TABLE console_sign_in_links (
            token_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        );
        ALTER TABLE team_members ADD COLUMN console_sessions_valid_after BIGINT;
        """)
}
