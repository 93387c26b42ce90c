import LambaStore
import LambaStoreTestSupport
import Testing

extension StoreTests {
    @Suite("migrations")
    struct Migrations {
        @Test("pending migrations are applied once and recorded", arguments: Backend.underTest)
        func migrate_appliesPendingOnceAndRecordsThem(backend: Backend) async throws {
            try await withStore(backend, migrate: false) { store in
                let first = try await store.migrate()
                #expect(first.map(\.version) == LambaStore.Migrations.all.map(\.version))
                #expect(try await store.migrate().isEmpty)
                let recorded = try await store.read { try $0.query("SELECT version, name FROM lamba_migrations ORDER BY version") }
                #expect(try recorded.map { try $0.int("version") } == LambaStore.Migrations.all.map(\.version))
                #expect(try await Migrator().currentVersion(store) == Migrator().latestVersion)
            }
        }

        @Test("a migration below the highest applied version is still applied", arguments: Backend.underTest)
        func lowerVersionArrivingLater_isApplied(backend: Backend) async throws {
            try await withStore(backend, migrate: false) { store in
                let one = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id INTEGER PRIMARY KEY)")
                let two = Migration(version: 2, name: "two", sql: "CREATE TABLE two (id INTEGER PRIMARY KEY)")
                let ten = Migration(version: 10, name: "ten", sql: "CREATE TABLE ten (id INTEGER PRIMARY KEY)")
                // A binary that knew 1 and 10, then one that also knows 2 (a feature's reserved range).
                #expect(try await Migrator(migrations: [one, ten]).migrate(store).map(\.version) == [1, 10])
                #expect(try await Migrator(migrations: [one, two, ten]).migrate(store).map(\.version) == [2])
                _ = try await store.read { try $0.query("SELECT id FROM two") }
                // A binary that does not know 2 refuses the database migrated by the newer one.
                await #expect(throws: StoreError.self) { try await Migrator(migrations: [one, ten]).migrate(store) }
            }
        }

        @Test("a database newer than the binary is refused", arguments: Backend.underTest)
        func newerDatabase_isRefused(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await store.withTransaction { tx in
                    try tx.execute("INSERT INTO lamba_migrations (version, name, applied_at) VALUES ($1, 'from the future', 'now')", [9999])
                }
                let latest = Migrator().latestVersion
                await #expect(throws: StoreError.schemaTooNew(database: 9999, binary: latest)) { try await store.migrate() }
                await #expect(throws: StoreError.schemaTooNew(database: 9999, binary: latest)) { try await Migrator().currentVersion(store) }
            }
        }

        @Test("a failing migration is rolled back and not recorded", arguments: Backend.underTest)
        func failingMigration_isRolledBack(backend: Backend) async throws {
            try await withStore(backend) { store in
                let broken = LambaStore.Migrations.all + [
                    Migration(version: 1000, name: "broken", sql: "CREATE TABLE half_done (id BIGINT); SELECT * FROM no_such_table"),
                ]
                await #expect(throws: StoreError.self) { try await store.migrate(broken) }
                let version = try await Migrator().currentVersion(store)
                #expect(version == Migrator().latestVersion)
                await #expect(throws: StoreError.self) { try await store.read { try $0.query("SELECT * FROM half_done") } }
            }
        }
    }
}

@Suite("database URL")
struct DatabaseURLTests {
    @Test("sqlite and postgres URLs parse; the default is the embedded file")
    func parsesSQLiteAndPostgresURLs() throws {
        #expect(try DatabaseURL(parsing: "sqlite:///var/lib/lamba.sqlite") == .sqlite(path: "/var/lib/lamba.sqlite"))
        #expect(try DatabaseURL(parsing: "sqlite:data/x.sqlite") == .sqlite(path: "data/x.sqlite"))
        #expect(try DatabaseURL(parsing: "./data/lamba.sqlite") == .sqlite(path: "./data/lamba.sqlite"))
        #expect(try DatabaseURL(parsing: "postgres://u@h:5432/db") == .postgres(uri: "postgres://u@h:5432/db"))
        #expect(try DatabaseURL.fromEnvironment([:]) == .sqlite(path: DatabaseURL.defaultSQLitePath))
        #expect(try DatabaseURL.fromEnvironment(["LAMBA_DATABASE_URL": "postgresql://h/db"]) == .postgres(uri: "postgresql://h/db"))
        #expect(throws: StoreError.self) { try DatabaseURL(parsing: "mysql://h/db") }
    }

    @Test("the printed URL never shows the password")
    func description_redactsPassword() throws {
        let url = try DatabaseURL(parsing: "postgres://lamba:s3cret@db.internal:5432/lamba?sslmode=require")
        #expect(!url.description.contains("s3cret"))
        #expect(url.description.contains("db.internal"))
    }
}
