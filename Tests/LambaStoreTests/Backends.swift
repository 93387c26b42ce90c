import Foundation
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

/// A new, empty database on `backend` (`TestDatabases`), as the URL string `LAMBA_DATABASE_URL` would hold.
func makeDatabase(_ backend: Backend) throws -> String {
    // Test clusters trust their user: no password for `description` to hide.
    try TestDatabases.makeURL(backend, prefix: "store").description
}

/// Opens a fresh, migrated store on `backend`, runs `body`, and closes it.
func withStore(_ backend: Backend, migrate: Bool = true, _ body: (any Store) async throws -> Void) async throws {
    let store = try await StoreFactory.open(DatabaseURL(parsing: makeDatabase(backend)), poolSize: 4)
    if migrate { try await store.migrate() }
    do {
        try await body(store)
    } catch {
        await store.close()
        throw error
    }
    await store.close()
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A table the contract tests write to; plain SQL both dialects accept.
func createItemsTable(_ store: any Store) async throws {
    try await store.withTransaction { tx in
        try tx.executeScript("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, n BIGINT NOT NULL DEFAULT 0)")
    }
}

func count(_ store: any Store, _ query: SQL) async throws -> Int64 {
    try await store.read { try $0.queryOne(query).int64("count") }
}

/// The top-level suite of the store tests.
@Suite
struct StoreTests {}
