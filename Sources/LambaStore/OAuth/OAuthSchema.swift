/// Tables of the OpenID Provider: signing keys per Project environment, authorization
/// codes, refresh token families, consents, revoked access tokens and used client assertions.
/// Codes and refresh tokens are stored only as SHA-256 hashes. Times are epoch milliseconds.
enum OAuthSchema {
    static let migration = Migration(version: 3, name: "oauth", sql: """
        CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY,
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            alg TEXT NOT NULL,
            public_jwk TEXT NOT NULL,
            sealed_private_key TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('next', 'current', 'retired')),
            created_at BIGINT NOT NULL,
            activated_at BIGINT,
            retire_after BIGINT
        );
        CREATE INDEX signing_keys_environment ON signing_keys (project_id, environment);
        CREATE TABLE authorization_codes (
            code_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            runtime_scope_id TEXT NOT NULL REFERENCES runtime_scopes (id),
            session_id TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users (id),
            redirect_uri TEXT NOT NULL,
            code_challenge TEXT,
            code_challenge_method TEXT,
            nonce TEXT,
            scopes TEXT NOT NULL,
            auth_time BIGINT NOT NULL,
            amr TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            consumed_at BIGINT,
            issued_refresh_family_id TEXT,
            issued_access_token_id TEXT
        );
        CREATE TABLE refresh_tokens (
            token_hash TEXT PRIMARY KEY,
            family_id TEXT NOT NULL,
            parent_hash TEXT,
            runtime_scope_id TEXT NOT NULL REFERENCES runtime_scopes (id),
            session_id TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users (id),
            client_id TEXT NOT NULL,
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            scopes TEXT NOT NULL,
            auth_time BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            rotated_at BIGINT,
            revoked_at BIGINT
        );
        CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
        CREATE INDEX refresh_tokens_scope ON refresh_tokens (runtime_scope_id);
        CREATE TABLE consents (
            user_id TEXT NOT NULL REFERENCES users (id),
            client_id TEXT NOT NULL,
            scopes TEXT NOT NULL,
            granted_at BIGINT NOT NULL,
            PRIMARY KEY (user_id, client_id)
        );
        CREATE TABLE revoked_access_tokens (
            jti TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT NOT NULL
        );
        CREATE TABLE client_assertions (
            client_id TEXT NOT NULL,
            jti TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            PRIMARY KEY (client_id, jti)
        );
        """)

    /// The refresh token grant's reuse grace finds a rotated token's successors by their parent.
    static let refreshTokenParents = Migration(version: 4, name: "refresh token parents", sql: """
        CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash);
        """)

    /// A refresh token remembers how its user signed in, for the `amr` and `acr` of the ID tokens
    /// it yields; tokens issued before keep none, as they had none.
    static let refreshTokenAuthenticationMethods = Migration(version: 5, name: "refresh token amr", sql: """
        ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';
        """)

    /// Revoking a refresh token revokes the access tokens of its grant too (RFC 7009 §2.1): each
    /// refresh token names the access token minted with it.
    static let refreshTokenAccessTokens = Migration(version: 6, name: "refresh token access tokens", sql: """
        ALTER TABLE refresh_tokens ADD COLUMN access_token_id TEXT;
        ALTER TABLE refresh_tokens ADD COLUMN access_token_expires_at BIGINT;
        """)
}
