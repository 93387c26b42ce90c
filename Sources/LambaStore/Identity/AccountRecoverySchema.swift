/// Account recovery and mail (versions 100–109): one-time links (password reset, email
/// verification) stored as hashes, the durable mail outbox and its delivery log
/// (docs/account-recovery.md). Times are epoch milliseconds; the same statements run on both databases.
enum AccountRecoverySchema {
    static let migration = Migration(version: 100, name: "account recovery and mail", sql: """
        CREATE TABLE account_tokens (
            token_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
            user_id TEXT NOT NULL REFERENCES users (id),
            email TEXT NOT NULL,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        );
        CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
        CREATE TABLE mail_outbox (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT,
            environment TEXT CHECK (environment IN ('sandbox', 'production')),
            kind TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject TEXT NOT NULL,
            body_text TEXT NOT NULL,
            body_html TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT,
            created_at BIGINT NOT NULL,
            sent_at BIGINT
        );
        CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
        CREATE TABLE mail_attempts (
            mail_id TEXT NOT NULL REFERENCES mail_outbox (id),
            attempt INTEGER NOT NULL,
            attempted_at BIGINT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
            detail TEXT,
            PRIMARY KEY (mail_id, attempt)
        );
        """)

    /// A sender address per Workspace.
    static let workspaceSender = Migration(version: 102, name: "workspace mail sender", sql: """
        ALTER TABLE workspaces ADD COLUMN mail_from TEXT;
        """)
}
