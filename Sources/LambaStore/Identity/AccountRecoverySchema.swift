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

    /// Email changes (docs/account-recovery.md#email-change): a third purpose of one-time link, and
    /// the new address it carries, set exactly for that purpose. SQLite cannot change a CHECK
    /// constraint in place, so it copies the table; PostgreSQL swaps the constraint.
    static let emailChange = Migration(version: 103, name: "email change links", sqlite: """
        CREATE TABLE account_tokens_next (
            token_hash TEXT PRIMARY KEY,
            purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification', 'email_change')),
            user_id TEXT NOT NULL REFERENCES users (id),
            email TEXT NOT NULL,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT,
            new_email TEXT,
            CHECK ((purpose = 'email_change') = (new_email IS NOT NULL))
        );
        INSERT INTO account_tokens_next (token_hash, purpose, user_id, email, workspace_id, project_id, environment, created_at, expires_at, used_at)
            SELECT token_hash, purpose, user_id, email, workspace_id, project_id, environment, created_at, expires_at, used_at FROM account_tokens;
        DROP TABLE account_tokens;
        ALTER TABLE account_tokens_next RENAME TO account_tokens;
        CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose, created_at);
        """, postgres: """
        ALTER TABLE account_tokens DROP CONSTRAINT account_tokens_purpose_check;
        ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_purpose_check
            CHECK (purpose IN ('password_reset', 'email_verification', 'email_change'));
        ALTER TABLE account_tokens ADD COLUMN new_email TEXT;
        ALTER TABLE account_tokens ADD CONSTRAINT account_tokens_new_email_check CHECK ((purpose = 'email_change') = (new_email IS NOT NULL));
        """)

    /// A sender address per Workspace.
    static let workspaceSender = Migration(version: 102, name: "workspace mail sender", sql: """
        ALTER TABLE workspaces ADD COLUMN mail_from TEXT;
        """)
}
