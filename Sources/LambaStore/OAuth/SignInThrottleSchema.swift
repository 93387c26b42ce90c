/// Failed password checks per Workspace and email hash (versions 30–39): the brute-force
/// protection of the hosted login and of the social sign-in proof. The email is stored only as
/// its SHA-256 hash. Times are epoch milliseconds; the same statements run on both databases.
enum SignInThrottleSchema {
    static let migration = Migration(version: 30, name: "sign-in throttle", sql: """
        CREATE TABLE sign_in_throttles (
            workspace_id TEXT NOT NULL,
            email_hash TEXT NOT NULL,
            failures INTEGER NOT NULL,
            window_started_at BIGINT NOT NULL,
            lockouts INTEGER NOT NULL,
            locked_until BIGINT,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (workspace_id, email_hash)
        );
        CREATE INDEX sign_in_throttles_expiry ON sign_in_throttles (expires_at);
        """)
}
