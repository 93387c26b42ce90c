/// Tables of social providers and account linking (versions 20–29): the providers of each
/// Project environment (client secret sealed), the upstream accounts linked to users (unique by
/// provider and `sub`, one per provider and user), the server-side state of sign-ins in flight at
/// an upstream (keyed by the hash of their state, ticket or proof token), and the sign-in method
/// of each identity session. Times are epoch milliseconds; the same statements run on both databases.
enum ProviderSchema {
    static let migration = Migration(version: 20, name: "social providers", sql: """
        CREATE TABLE upstream_providers (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            name TEXT NOT NULL,
            issuer TEXT NOT NULL,
            client_id TEXT NOT NULL,
            client_secret_sealed TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            trust_changed_at BIGINT NOT NULL,
            deleted_at BIGINT
        );
        CREATE INDEX upstream_providers_environment ON upstream_providers (project_id, environment);
        CREATE TABLE linked_identities (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            provider_id TEXT NOT NULL REFERENCES upstream_providers (id),
            subject TEXT NOT NULL,
            email TEXT,
            linked_at BIGINT NOT NULL,
            UNIQUE (provider_id, subject),
            UNIQUE (provider_id, user_id)
        );
        CREATE INDEX linked_identities_user ON linked_identities (user_id);
        CREATE TABLE provider_sign_ins (
            secret_hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('login', 'link_ticket', 'link', 'proof')),
            provider_id TEXT NOT NULL REFERENCES upstream_providers (id),
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            browser_hash TEXT,
            nonce_hash TEXT,
            code_verifier_sealed TEXT,
            authz TEXT,
            user_id TEXT,
            session_id TEXT,
            client_id TEXT,
            return_uri TEXT,
            upstream_claims TEXT,
            proof_hash TEXT,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            consumed_at BIGINT
        );
        CREATE INDEX provider_sign_ins_expiry ON provider_sign_ins (expires_at);
        ALTER TABLE identity_sessions ADD COLUMN sign_in_method TEXT;
        CREATE INDEX identity_sessions_sign_in_method ON identity_sessions (sign_in_method);
        """)

    /// Sessions started before version 20 recorded no sign-in method; password was the only one
    /// then. Recorded, a later removal of password sign-in reaches them as it reaches newer ones.
    static let signInMethodOfEarlierSessions = Migration(version: 21, name: "sign-in method of earlier sessions", sql: """
        UPDATE identity_sessions SET sign_in_method = 'password' WHERE sign_in_method IS NULL;
        """)
}
