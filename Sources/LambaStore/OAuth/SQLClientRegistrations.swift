public import Foundation
public import LambaModel
public import LambaOAuth

/// Registration counts on any `Store`, in the registering transaction.
extension SQLIdentityRecords: ClientRegistrationStorage {
    private var writer: any StoreTransaction {
        get throws {
            guard let transaction else { throw StoreError.transactionClosed }
            return transaction
        }
    }

    public func lockClientRegistrations(projectID: String, environment: LambaModel.Environment) throws {
        // SQLite's single writer (BEGIN IMMEDIATE) already serializes registrations; PostgreSQL
        // takes the environment's settings row, so concurrent registrations count one after another.
        guard reader.dialect == .postgres else { return }
        _ = try writer.query("SELECT project_id FROM environment_settings WHERE project_id = $1 AND environment = $2 FOR UPDATE",
                             [.text(projectID), .text(environment.rawValue)])
    }

    public func dynamicClientCount(projectID: String, environment: LambaModel.Environment) throws -> Int {
        try reader.query(
            "SELECT COUNT(*) AS n FROM oauth_clients WHERE project_id = $1 AND environment = $2 AND registered_dynamically = $3",
            [.text(projectID), .text(environment.rawValue), .bool(true)]
        ).first?.int("n") ?? 0
    }

    public func registrations(projectID: String, environment: LambaModel.Environment, addressHash: String, since date: Date) throws -> [Date] {
        try reader.query(
            """
            SELECT registered_at FROM client_registrations
            WHERE project_id = $1 AND environment = $2 AND address_hash = $3 AND registered_at >= $4 ORDER BY registered_at
            """,
            [.text(projectID), .text(environment.rawValue), .text(addressHash), SQLValue(date)]
        ).map { try $0.date("registered_at") }
    }

    public func recordRegistration(clientID: String, projectID: String, environment: LambaModel.Environment, addressHash: String,
                                   accessTokenHash: String, at date: Date) throws {
        try writer.execute(
            """
            INSERT INTO client_registrations (client_id, project_id, environment, address_hash, registered_at, access_token_hash)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [.text(clientID), .text(projectID), .text(environment.rawValue), .text(addressHash), SQLValue(date), .text(accessTokenHash)])
    }

    public func registrationAccessTokenHash(clientID: String) throws -> String? {
        try reader.query("SELECT access_token_hash FROM client_registrations WHERE client_id = $1", [.text(clientID)])
            .first?.optionalString("access_token_hash")
    }

    public func setRegistrationAccessToken(clientID: String, hash: String?) throws {
        try writer.execute("UPDATE client_registrations SET access_token_hash = $2 WHERE client_id = $1", [.text(clientID), SQLValue(hash)])
    }
}
