import Foundation
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

extension StoreTests {
    @Suite("failures")
    struct Failures {
        @Test("killing a process mid-transaction (kill -9) leaves the database consistent", arguments: Backend.underTest)
        func killedMidTransaction_leavesDatabaseConsistent(backend: Backend) async throws {
            let url = try makeDatabase(backend)
            let helper = Process()
            helper.executableURL = try crashHelperURL()
            helper.arguments = [url, "3000"]
            let output = Pipe()
            helper.standardOutput = output
            try helper.run()
            // Blocks until the helper is inside its transaction (or exits early, giving EOF).
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            try #require(line.hasPrefix("READY"), "helper did not reach its transaction: \(line)")
            kill(helper.processIdentifier, SIGKILL)
            helper.waitUntilExit()
            #expect(helper.terminationReason == .uncaughtSignal)

            let store = try await StoreFactory.open(DatabaseURL(parsing: url), poolSize: 2)
            #expect(try await count(store, "SELECT COUNT(*) AS count FROM crash_rows") == 0)
            #expect(try await count(store, "SELECT COUNT(*) AS count FROM events") == 0)
            if backend == .sqlite {
                let check = try await store.read { try $0.query("PRAGMA integrity_check") }
                #expect(try check.map { try $0.string("integrity_check") } == ["ok"])
            }
            // No lock or half-written state is left: the next writer commits.
            try await store.withTransaction { tx in
                try tx.execute("INSERT INTO crash_rows (id, payload) VALUES ($1, $2)", [1, "after"])
                try tx.appendEvent(OutboxEvent(type: "after.crash", data: "{}"))
            }
            #expect(try await count(store, "SELECT COUNT(*) AS count FROM crash_rows") == 1)
            await store.close()
        }

        @Test("a PostgreSQL restart during use recovers without a process restart", .enabled(if: Backend.postgresRuns, Comment(rawValue: Backend.postgresSkipReason)))
        func postgresRestart_poolReconnects() async throws {
            // Its own cluster: stopping the shared one would break the tests running beside it.
            let cluster = try PostgresCluster()
            defer { cluster.destroy() }
            let store = try await PostgresStore(uri: cluster.createDatabase("restart"), poolSize: 4)
            try await store.migrate()
            try await createItemsTable(store)
            try await insertConcurrently(store, ids: 0..<16)

            try cluster.stop()
            let error = await #expect(throws: StoreError.self) { try await store.read { try $0.query("SELECT 1 AS one") } }
            guard case .connectionLost = error else {
                Issue.record("expected connectionLost while the server is down, got \(String(describing: error))")
                return
            }
            try cluster.start()

            // Every pooled connection died with the old server; each must be replaced transparently.
            try await insertConcurrently(store, ids: 16..<48)
            #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 48)
            await store.close()
        }

        @Test("SQLite runs in WAL mode with foreign keys on")
        func sqlite_usesWALAndForeignKeys() async throws {
            try await withStore(.sqlite) { store in
                let mode = try await store.read { try $0.queryOne("PRAGMA journal_mode").string("journal_mode") }
                #expect(mode == "wal")
                let foreignKeys = try await store.withTransaction { try $0.queryOne("PRAGMA foreign_keys").int64("foreign_keys") }
                #expect(foreignKeys == 1)
            }
        }
    }
}

private func insertConcurrently(_ store: any Store, ids: Range<Int>) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for id in ids {
            group.addTask {
                _ = try await store.withTransaction { tx in
                    try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [SQLValue(id), .text("item \(id)")])
                }
            }
        }
        try await group.waitForAll()
    }
}

private func crashHelperURL() throws -> URL { try BuiltExecutables.url("lamba-store-crash-helper") }
