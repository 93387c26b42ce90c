/// Tables of the identity model. Times are epoch milliseconds (BIGINT), lists and maps are
/// compact JSON text, booleans are BOOLEAN (0/1 on SQLite). The same statements run on both databases.
enum IdentitySchema {
    static let migration = Migration(version: 2, name: "identity model", sql: """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            email_verified BOOLEAN NOT NULL,
            name TEXT NOT NULL,
            password_hash TEXT,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            plan TEXT NOT NULL,
            status TEXT NOT NULL,
            sessions_valid_after BIGINT,
            session_max_age_seconds BIGINT NOT NULL,
            custom_domains TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE projects (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            slug TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            visibility TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX projects_workspace ON projects (workspace_id);
        CREATE TABLE environment_settings (
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            settings TEXT NOT NULL,
            PRIMARY KEY (project_id, environment)
        );
        CREATE TABLE team_members (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            user_id TEXT NOT NULL REFERENCES users (id),
            workspace_role TEXT NOT NULL,
            project_console_roles TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE (workspace_id, user_id)
        );
        CREATE INDEX team_members_user ON team_members (user_id);
        CREATE TABLE project_members (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            user_id TEXT NOT NULL REFERENCES users (id),
            roles TEXT NOT NULL,
            status TEXT NOT NULL,
            joined_via TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (project_id, user_id)
        );
        CREATE INDEX project_members_user ON project_members (user_id);
        CREATE TABLE project_roles (
            project_id TEXT NOT NULL REFERENCES projects (id),
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            permissions TEXT NOT NULL,
            built_in BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (project_id, name)
        );
        CREATE TABLE oauth_clients (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            name TEXT NOT NULL,
            client_type TEXT NOT NULL,
            token_endpoint_auth_method TEXT NOT NULL,
            secret_hash TEXT,
            redirect_uris TEXT NOT NULL,
            post_logout_redirect_uris TEXT NOT NULL,
            grant_types TEXT NOT NULL,
            scopes TEXT NOT NULL,
            first_party BOOLEAN NOT NULL,
            id_token_signed_response_alg TEXT NOT NULL,
            jwks TEXT,
            registered_dynamically BOOLEAN NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX oauth_clients_project ON oauth_clients (project_id, environment);
        CREATE TABLE invites (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT REFERENCES projects (id),
            email TEXT NOT NULL,
            workspace_role TEXT,
            project_console_roles TEXT NOT NULL,
            project_role TEXT,
            token_hash TEXT NOT NULL UNIQUE,
            invited_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            accepted_at BIGINT,
            revoked_at BIGINT
        );
        CREATE INDEX invites_workspace ON invites (workspace_id, project_id);
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            display_prefix TEXT NOT NULL,
            created_by TEXT,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        );
        CREATE INDEX api_keys_workspace ON api_keys (workspace_id);
        CREATE TABLE identity_sessions (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            user_id TEXT NOT NULL REFERENCES users (id),
            token_hash TEXT NOT NULL UNIQUE,
            auth_time BIGINT NOT NULL,
            amr TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT,
            revoke_reason TEXT
        );
        CREATE INDEX identity_sessions_user ON identity_sessions (workspace_id, user_id);
        CREATE TABLE runtime_scopes (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES identity_sessions (id),
            user_id TEXT NOT NULL REFERENCES users (id),
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            application_id TEXT NOT NULL,
            auth_time BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT,
            revoke_reason TEXT
        );
        CREATE INDEX runtime_scopes_session ON runtime_scopes (session_id, project_id, environment);
        CREATE INDEX runtime_scopes_member ON runtime_scopes (project_id, user_id);
        CREATE INDEX runtime_scopes_workspace ON runtime_scopes (workspace_id, user_id);
        """)
}
