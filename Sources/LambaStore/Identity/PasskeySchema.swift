/// Passkeys (version 106): each user's WebAuthn credentials, one row per (RP ID, credential id),
/// and the ceremony challenges already used, kept until they expire so that none works twice
/// (docs/account-security.md#passkeys). Times are epoch milliseconds; the same statements run on
/// both databases.
enum PasskeySchema {
    static let migration = Migration(version: 106, name: "passkeys", sql: """
        CREATE TABLE passkeys (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            rp_id TEXT NOT NULL,
            credential_id TEXT NOT NULL,
            public_key TEXT NOT NULL,
            algorithm BIGINT NOT NULL,
            sign_count BIGINT NOT NULL,
            backup_eligible BOOLEAN NOT NULL,
            backed_up BOOLEAN NOT NULL,
            aaguid TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_used_at BIGINT,
            UNIQUE (rp_id, credential_id)
        );
        CREATE INDEX passkeys_user ON passkeys (user_id, created_at);
        CREATE TABLE webauthn_used_challenges (
            challenge_hash TEXT PRIMARY KEY,
            expires_at BIGINT NOT NULL
        );
        CREATE INDEX webauthn_used_challenges_expiry ON webauthn_used_challenges (expires_at);
        """)
}
