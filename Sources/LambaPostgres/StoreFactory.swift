public import LambaStore

/// Opens the store a `DatabaseURL` names; `lamba serve` and `lamba migrate` go through here, so
/// the rest of Lamba only ever sees `any Store`.
public enum StoreFactory {
    /// - Throws: `StoreError.connectionLost` when the database cannot be opened or reached.
    public static func open(_ url: DatabaseURL, poolSize: Int = 8) async throws -> any Store {
        switch url {
        case .sqlite(let path): try await SQLiteStore(path: path, readers: poolSize)
        case .postgres(let uri): try await PostgresStore(uri: uri, poolSize: poolSize)
        }
    }

    /// Opens the store named by `LAMBA_DATABASE_URL` (the SQLite default when unset).
    public static func openFromEnvironment(poolSize: Int = 8) async throws -> any Store {
        try await open(DatabaseURL.fromEnvironment(), poolSize: poolSize)
    }
}
