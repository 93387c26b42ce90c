/// Custom domain claims (versions 40–49): one row per claimed domain, unique across the
/// installation whatever its case, pending until its ownership proof is fetched. Times are epoch
/// milliseconds; the same statements run on both databases.
enum CustomDomainSchema {
    /// `workspaces.custom_domains` becomes the list of verified domains. The entries it held were
    /// never proven, so none of them carries over as verified: operators add them again as claims.
    static let migration = Migration(version: 40, name: "custom domain claims", sql: """
        CREATE TABLE custom_domains (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            domain TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'verified')),
            verification_token TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            verified_at BIGINT
        );
        CREATE UNIQUE INDEX custom_domains_domain ON custom_domains (lower(domain));
        CREATE INDEX custom_domains_workspace ON custom_domains (workspace_id);
        UPDATE workspaces SET custom_domains = '[]';
        """)
}
