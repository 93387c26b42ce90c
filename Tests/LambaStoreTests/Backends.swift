import Foundation
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

/// The two databases every contract test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// PostgreSQL runs when its binaries are installed, and must run under LAMBA_TEST_REQUIRE_POSTGRES=1
    /// (where missing binaries then fail the tests instead of skipping them).
    static var underTest: [Backend] { postgresRuns ? [.sqlite, .postgres] : [.sqlite] }
    static var postgresRuns: Bool { PostgresCluster.binDir != nil || PostgresCluster.isRequired }
    static let postgresSkipReason: Comment = "PostgreSQL server binaries not found; set LAMBA_TEST_REQUIRE_POSTGRES=1 to fail instead of skipping"
}

/// Starts one PostgreSQL cluster for everything inside the suite it is attached to, and stops it.
struct SharedPostgresCluster: SuiteTrait, TestScoping {
    @TaskLocal static var current: PostgresCluster?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard PostgresCluster.binDir != nil else { return try await function() }
        let cluster = try PostgresCluster()
        defer { cluster.destroy() }
        try await Self.$current.withValue(cluster) { try await function() }
    }
}

extension Trait where Self == SharedPostgresCluster {
    static var sharedPostgresCluster: Self { Self() }
}

/// A new, empty database on `backend`: a SQLite file in a temporary directory, or a new database on
/// the shared cluster. Returns the URL string `LAMBA_DATABASE_URL` would hold.
func makeDatabase(_ backend: Backend) throws -> String {
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-store-\(UUID().uuidString.prefix(8))")
        return "sqlite://" + directory.appendingPathComponent("lamba.sqlite").path
    case .postgres:
        guard let cluster = SharedPostgresCluster.current else {
            throw PostgresCluster.binDir == nil
                ? TestSetupError("LAMBA_TEST_REQUIRE_POSTGRES=1 but PostgreSQL server binaries (initdb, pg_ctl) were not found")
                : TestSetupError("no PostgreSQL cluster: run the test inside StoreTests")
        }
        return try cluster.createDatabase("t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))
    }
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

/// The top-level suite: one PostgreSQL cluster for all store tests.
@Suite(.sharedPostgresCluster)
struct StoreTests {}
