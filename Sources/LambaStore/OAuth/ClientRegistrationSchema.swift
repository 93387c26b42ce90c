/// Dynamic client registrations per Project environment and client address (versions 50–59): the
/// abuse limits of `POST /register`. A row stays when its client is deleted, so deleting clients
/// does not reopen an address's window. The address is kept only as its SHA-256 hash.
enum ClientRegistrationSchema {
    static let migration = Migration(version: 50, name: "client registration limits", sql: """
        CREATE TABLE client_registrations (
            client_id TEXT PRIMARY KEY,
            project_id TEXT NOT NULL,
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            address_hash TEXT NOT NULL,
            registered_at BIGINT NOT NULL
        );
        CREATE INDEX client_registrations_address ON client_registrations (project_id, environment, address_hash, registered_at);
        """)

    /// The hash of each client's registration access token, for the client configuration
    /// endpoint (RFC 7592); withdrawn (NULL) when the client deletes itself.
    static let registrationAccessTokens = Migration(version: 51, name: "registration access tokens", sql: """
        ALTER TABLE client_registrations ADD COLUMN access_token_hash TEXT;
        """)
}
