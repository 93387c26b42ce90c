public import Foundation
public import LambaModel
public import LambaOAuth

/// Social providers, linked accounts and provider sign-ins on any `Store`, in the same
/// transactions as the rest of the identity model.
extension SQLIdentityRecords {
    private var writer: any StoreTransaction {
        get throws {
            guard let transaction else { throw StoreError.transactionClosed }
            return transaction
        }
    }

    // MARK: Providers

    public func upstreamProvider(id: String) throws -> UpstreamProvider? {
        try reader.query("SELECT * FROM upstream_providers WHERE id = $1", [.text(id)]).first.map(Self.upstreamProvider)
    }

    public func upstreamProviders(projectID: String, environment: LambaModel.Environment) throws -> [UpstreamProvider] {
        try reader.query(
            "SELECT * FROM upstream_providers WHERE project_id = $1 AND environment = $2 AND deleted_at IS NULL ORDER BY created_at, id",
            [.text(projectID), .text(environment.rawValue)]).map(Self.upstreamProvider)
    }

    public func insert(_ provider: UpstreamProvider) throws {
        try writer.execute(
            """
            INSERT INTO upstream_providers (id, workspace_id, project_id, environment, name, issuer, client_id, client_secret_sealed, scopes,
                created_at, updated_at, trust_changed_at, deleted_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """,
            [.text(provider.id), .text(provider.workspaceID), .text(provider.projectID), .text(provider.environment.rawValue), .text(provider.name),
             .text(provider.issuer), .text(provider.clientID), .text(provider.sealedClientSecret), .json(provider.scopes),
             SQLValue(provider.createdAt), SQLValue(provider.updatedAt), SQLValue(provider.trustChangedAt), SQLValue(provider.deletedAt)])
    }

    public func update(_ provider: UpstreamProvider) throws {
        try writer.execute(
            """
            UPDATE upstream_providers SET name = $2, issuer = $3, client_id = $4, client_secret_sealed = $5, scopes = $6, updated_at = $7,
                trust_changed_at = $8, deleted_at = $9
            WHERE id = $1
            """,
            [.text(provider.id), .text(provider.name), .text(provider.issuer), .text(provider.clientID), .text(provider.sealedClientSecret),
             .json(provider.scopes), SQLValue(provider.updatedAt), SQLValue(provider.trustChangedAt), SQLValue(provider.deletedAt)])
    }

    static func upstreamProvider(_ row: Row) throws -> UpstreamProvider {
        var provider = UpstreamProvider(
            id: try row.string("id"), workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"),
            environment: try row.enumeration("environment"), name: try row.string("name"), issuer: try row.string("issuer"),
            clientID: try row.string("client_id"), sealedClientSecret: try row.string("client_secret_sealed"), scopes: try row.stringList("scopes"),
            createdAt: try row.date("created_at"))
        provider.updatedAt = try row.date("updated_at")
        provider.trustChangedAt = try row.date("trust_changed_at")
        provider.deletedAt = try row.optionalDate("deleted_at")
        return provider
    }

    // MARK: Linked identities

    public func linkedIdentity(providerID: String, subject: String) throws -> LinkedIdentity? {
        try reader.query("SELECT * FROM linked_identities WHERE provider_id = $1 AND subject = $2", [.text(providerID), .text(subject)])
            .first.map(Self.linkedIdentity)
    }

    public func linkedIdentities(userID: String) throws -> [LinkedIdentity] {
        try reader.query("SELECT * FROM linked_identities WHERE user_id = $1 ORDER BY linked_at, id", [.text(userID)]).map(Self.linkedIdentity)
    }

    public func countLinkedIdentities(providerID: String) throws -> Int {
        try reader.queryOne("SELECT COUNT(*) AS n FROM linked_identities WHERE provider_id = $1", [.text(providerID)]).int("n")
    }

    public func insert(_ identity: LinkedIdentity) throws {
        try writer.execute(
            """
            INSERT INTO linked_identities (id, user_id, workspace_id, project_id, environment, provider_id, subject, email, linked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.text(identity.id), .text(identity.userID), .text(identity.workspaceID), .text(identity.projectID), .text(identity.environment.rawValue),
             .text(identity.providerID), .text(identity.subject), SQLValue(identity.email), SQLValue(identity.linkedAt)])
    }

    public func deleteLinkedIdentity(id: String) throws {
        try writer.execute("DELETE FROM linked_identities WHERE id = $1", [.text(id)])
    }

    public func deleteLinkedIdentities(providerID: String) throws -> [LinkedIdentity] {
        let links = try reader.query("SELECT * FROM linked_identities WHERE provider_id = $1", [.text(providerID)]).map(Self.linkedIdentity)
        try writer.execute("DELETE FROM linked_identities WHERE provider_id = $1", [.text(providerID)])
        return links
    }

    static func linkedIdentity(_ row: Row) throws -> LinkedIdentity {
        LinkedIdentity(id: try row.string("id"), userID: try row.string("user_id"), workspaceID: try row.string("workspace_id"),
                       projectID: try row.string("project_id"), environment: try row.enumeration("environment"),
                       providerID: try row.string("provider_id"), subject: try row.string("subject"), email: try row.optionalString("email"),
                       linkedAt: try row.date("linked_at"))
    }

    // MARK: Sessions of a user

    public func activeIdentitySessions(workspaceID: String, userID: String) throws -> [IdentitySession] {
        try reader.query(
            "SELECT * FROM identity_sessions WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY created_at, id",
            [.text(workspaceID), .text(userID)]).map(Self.identitySession)
    }

    // MARK: Provider sign-ins

    public func insert(_ signIn: ProviderSignInRecord) throws {
        try writer.execute("DELETE FROM provider_sign_ins WHERE expires_at < $1", [SQLValue(signIn.createdAt)])
        try writer.execute(
            """
            INSERT INTO provider_sign_ins (secret_hash, kind, provider_id, workspace_id, project_id, environment, browser_hash, nonce_hash,
                code_verifier_sealed, authz, user_id, session_id, client_id, return_uri, upstream_claims, proof_hash, created_at, expires_at, consumed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            """,
            [.text(signIn.secretHash), .text(signIn.kind.rawValue), .text(signIn.providerID), .text(signIn.workspaceID), .text(signIn.projectID),
             .text(signIn.environment.rawValue), SQLValue(signIn.browserHash), SQLValue(signIn.nonceHash), SQLValue(signIn.codeVerifierSealed),
             SQLValue(signIn.authz), SQLValue(signIn.userID), SQLValue(signIn.sessionID), SQLValue(signIn.clientID), SQLValue(signIn.returnURI),
             SQLValue(signIn.upstreamClaims), SQLValue(signIn.proofHash), SQLValue(signIn.createdAt), SQLValue(signIn.expiresAt), SQLValue(signIn.consumedAt)])
    }

    public func providerSignIn(hash: String) throws -> ProviderSignInRecord? {
        try reader.query("SELECT * FROM provider_sign_ins WHERE secret_hash = $1", [.text(hash)]).first.map { row in
            ProviderSignInRecord(
                secretHash: try row.string("secret_hash"), kind: try row.enumeration("kind"), providerID: try row.string("provider_id"),
                workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"), environment: try row.enumeration("environment"),
                browserHash: try row.optionalString("browser_hash"), nonceHash: try row.optionalString("nonce_hash"),
                codeVerifierSealed: try row.optionalString("code_verifier_sealed"), authz: try row.optionalString("authz"),
                userID: try row.optionalString("user_id"), sessionID: try row.optionalString("session_id"), clientID: try row.optionalString("client_id"),
                returnURI: try row.optionalString("return_uri"), upstreamClaims: try row.optionalString("upstream_claims"), proofHash: try row.optionalString("proof_hash"),
                createdAt: try row.date("created_at"), expiresAt: try row.date("expires_at"), consumedAt: try row.optionalDate("consumed_at"))
        }
    }

    public func consumeProviderSignIn(hash: String, at date: Date) throws -> Bool {
        try writer.execute("UPDATE provider_sign_ins SET consumed_at = $2 WHERE secret_hash = $1 AND consumed_at IS NULL",
                           [.text(hash), SQLValue(date)]) == 1
    }
}
