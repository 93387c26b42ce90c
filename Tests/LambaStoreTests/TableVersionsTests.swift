import Foundation
import LambaModel
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

extension StoreTests {
    /// `TableVersions`: what the OpenID Provider's caches trust to hear of every change.
    @Suite("table versions")
    struct Versions {
        @Test("the written table is read from INSERT, UPDATE and DELETE; reads name none; unknown writes are everything")
        func writtenTable_isReadFromTheStatement() {
            #expect(TableVersions.writtenTable("INSERT INTO refresh_tokens (a) VALUES ($1)") == "refresh_tokens")
            #expect(TableVersions.writtenTable("insert or ignore into consents(a) values ($1)") == "consents")
            #expect(TableVersions.writtenTable("  UPDATE projects SET status = $1") == "projects")
            #expect(TableVersions.writtenTable("UPDATE OR REPLACE \"users\" SET a = 1") == "users")
            #expect(TableVersions.writtenTable("DELETE FROM oauth_clients WHERE id = $1") == "oauth_clients")
            #expect(TableVersions.writtenTable("SELECT * FROM projects") == nil)
            #expect(TableVersions.writtenTable("WITH x AS (SELECT 1) UPDATE projects SET a = 1") == "*")
            #expect(TableVersions.writtenTable("\n\tInsert\tInto\n\"Refresh_Tokens\"(a) VALUES (1)") == "refresh_tokens")
            #expect(TableVersions.writtenTable("delete  from\nusers") == "users")
            #expect(TableVersions.writtenTable("values (1)") == nil)
            #expect(TableVersions.writtenTable("") == nil)
            #expect(TableVersions.writtenTable("UPDATE") == "*")
            #expect(TableVersions.writtenTable("INSERT INTO") == "*")
            #expect(TableVersions.writtenTable("SELECTED FROM x") == "*")
        }

        @Test("a commit bumps exactly the tables it wrote, before the writer hears of it; a rollback bumps nothing", arguments: Backend.underTest)
        func commit_bumpsWrittenTablesOnly(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                let items = store.versions.stamp(["items"]), events = store.versions.stamp(["events"])
                try await store.withTransaction { tx in try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "one"]) }
                #expect(store.versions.stamp(["items"]) != items)
                #expect(store.versions.stamp(["events"]) == events)

                let afterCommit = store.versions.stamp(["items"])
                await #expect(throws: StoreError.self) {
                    try await store.withTransaction { tx in
                        try tx.execute("UPDATE items SET n = 1 WHERE id = $1", [1])
                        throw StoreError.notFound
                    }
                }
                _ = try await store.read { tx in try tx.query("SELECT * FROM items") }
                // A rolled-back write may bump on SQLite (its group commit is shared), never lose one.
                if backend == .postgres { #expect(store.versions.stamp(["items"]) == afterCommit) }
            }
        }

        @Test("another process's commit reaches this process's versions (SQLite data_version, PostgreSQL LISTEN/NOTIFY)",
              arguments: Backend.underTest)
        func otherProcessesCommit_reachesVersions(backend: Backend) async throws {
            let url = try DatabaseURL(parsing: makeDatabase(backend))
            let here = try await StoreFactory.open(url, poolSize: 2)
            let there = try await StoreFactory.open(url, poolSize: 2)
            defer { Task { await here.close(); await there.close() } }
            try await here.migrate()
            try await createItemsTable(here)
            // Let the watcher (SQLite) or listener (PostgreSQL) settle on the current state.
            try await Task.sleep(for: .milliseconds(600))
            let before = here.versions.stamp(["items"])
            try await there.withTransaction { tx in try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [7, "seven"]) }
            var seen = false
            for _ in 0..<40 where !seen {
                try await Task.sleep(for: .milliseconds(50))
                seen = here.versions.stamp(["items"]) != before
            }
            #expect(seen, "a commit by another store on the same database was not seen within 2 s")
        }
    }
}
