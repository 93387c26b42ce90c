public import Foundation
public import LambaStore
import LambaPostgres
import Synchronization

/// The two databases every store-touching test runs on.
public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    /// PostgreSQL runs when its binaries are installed, and must run under LAMBA_TEST_REQUIRE_POSTGRES=1
    /// (where missing binaries then fail the tests instead of skipping them).
    public static var underTest: [Backend] { postgresRuns ? [.sqlite, .postgres] : [.sqlite] }
    public static var postgresRuns: Bool { PostgresCluster.binDir != nil || PostgresCluster.isRequired }
    public static let postgresSkipReason = "PostgreSQL server binaries not found; set LAMBA_TEST_REQUIRE_POSTGRES=1 to fail instead of skipping"
}

/// Fresh, empty databases for tests: a SQLite file in a new temporary directory, or a new database on
/// the one PostgreSQL cluster of this test process (started on first use, stopped when the process exits).
public enum TestDatabases {
    private static let cluster: Result<PostgresCluster, any Error> = {
        Result {
            // Every suite of the process shares it, many tests at once; each store holds a few connections.
            let cluster = try PostgresCluster(maxConnections: 1000)
            atexit { TestDatabases.stopCluster() }
            return cluster
        }
    }()

    private static func stopCluster() {
        if case .success(let cluster) = cluster { cluster.destroy() }
    }

    /// The shared cluster itself, for tests that stop and restart it.
    public static func sharedCluster() throws -> PostgresCluster { try cluster.get() }

    /// A new database on `backend`, as the URL `LAMBA_DATABASE_URL` would hold.
    public static func makeURL(_ backend: Backend, prefix: String = "t") throws -> DatabaseURL {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-\(prefix)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return .sqlite(path: directory.appendingPathComponent("lamba.sqlite").path)
        case .postgres:
            guard PostgresCluster.binDir != nil else {
                throw ClusterError("LAMBA_TEST_REQUIRE_POSTGRES=1 but PostgreSQL server binaries (initdb, pg_ctl) were not found")
            }
            let name = prefix + "_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
            return try DatabaseURL(parsing: try cluster.get().createDatabase(name))
        }
    }

    /// Opens a fresh, migrated store on `backend`.
    public static func openStore(_ backend: Backend, prefix: String = "t", poolSize: Int = 3) async throws -> any Store {
        let store = try await StoreFactory.open(makeURL(backend, prefix: prefix), poolSize: poolSize)
        do {
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// Removes what `makeURL` made for a SQLite database (its directory); PostgreSQL databases go with the cluster.
    public static func remove(_ url: DatabaseURL) {
        if case .sqlite(let path) = url {
            try? FileManager.default.removeItem(at: URL(fileURLWithPath: path).deletingLastPathComponent())
        }
    }
}
