/// Second factors (version 101): each user's authenticator app, its secret sealed under the master
/// key, and recovery codes stored as SHA-256 hashes (docs/account-security.md). Times are epoch
/// milliseconds; the same statements run on both databases.
enum SecondFactorSchema {
    static let migration = Migration(version: 101, name: "second factors", sql: """
        CREATE TABLE totp_credentials (
            user_id TEXT PRIMARY KEY REFERENCES users (id),
            sealed_secret TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            confirmed_at BIGINT,
            last_used_step BIGINT
        );
        CREATE TABLE recovery_codes (
            user_id TEXT NOT NULL REFERENCES users (id),
            code_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            used_at BIGINT,
            PRIMARY KEY (user_id, code_hash)
        );
        """)
}
