import Foundation
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

private struct Abort: Error, Equatable {}

extension StoreTests {
    /// The contract every store keeps, run on SQLite and on PostgreSQL.
    @Suite("store contract")
    struct Contract {
        @Test("rollback on a thrown error leaves nothing behind", arguments: Backend.underTest)
        func rollbackOnThrownError_leavesNothingBehind(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                await #expect(throws: Abort.self) {
                    try await store.withTransaction { tx in
                        try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "first"])
                        try tx.appendEvent(OutboxEvent(type: "item.created", data: #"{"id":1}"#))
                        throw Abort()
                    }
                }
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 0)
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM events") == 0)
            }
        }

        @Test("a committed change and its event are visible together", arguments: Backend.underTest)
        func commit_writesChangeAndEventTogether(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                let event = try OutboxEvent(
                    type: "item.created", actor: "usr_1", workspaceID: "ws_1", projectID: "prj_1", environment: "sandbox",
                    sessionID: "ses_1", data: #"{"id":1,"name":"first"}"#
                )
                let changed = try await store.withTransaction { tx in
                    let changed = try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [1, "first"])
                    try tx.appendEvent(event)
                    return changed
                }
                #expect(changed == 1)
                let stored = try await store.read { try $0.events() }
                #expect(stored.map(\.event) == [event])
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 1)
            }
        }

        @Test("event payload bytes read back exactly as written", arguments: Backend.underTest)
        func eventPayload_isByteIdentical(backend: Backend) async throws {
            try await withStore(backend) { store in
                // Member order, spacing and escapes a JSON re-encoder would change.
                let data = "{ \"z\": 1,  \"a\": [true, null], \"s\": \"\\u00e9\\/ünï\" }"
                try await store.withTransaction { tx in try tx.appendEvent(OutboxEvent(type: "raw", data: data)) }
                let stored = try await store.read { try $0.events() }
                #expect(stored.first.map { Array($0.event.data.utf8) } == Array(data.utf8))
            }
        }

        @Test("events refuse updates", arguments: Backend.underTest)
        func events_areImmutable(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await store.withTransaction { tx in try tx.appendEvent(OutboxEvent(type: "a", data: "{}")) }
                await #expect(throws: StoreError.self) {
                    try await store.withTransaction { tx in try tx.execute("UPDATE events SET type = 'b'") }
                }
            }
        }

        @Test("concurrent writers do not lose updates", arguments: Backend.underTest)
        func concurrentWriters_doNotLoseUpdates(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                try await store.withTransaction { tx in try tx.execute("INSERT INTO items (id, name, n) VALUES (1, 'counter', 0)") }
                let writers = 8, increments = 15
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<writers {
                        group.addTask {
                            for _ in 0..<increments {
                                // Read-modify-write: only correct if the store serializes the writers.
                                try await store.withTransaction { tx in
                                    let n = try tx.queryOne("SELECT n FROM items WHERE id = 1").int64("n")
                                    try tx.execute("UPDATE items SET n = $1 WHERE id = 1", [.integer(n + 1)])
                                }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let n = try await store.read { try $0.queryOne("SELECT n FROM items WHERE id = 1").int64("n") }
                #expect(n == Int64(writers * increments))
            }
        }

        @Test("concurrent transactions that fail roll back alone; the others commit", arguments: Backend.underTest)
        func concurrentFailures_rollBackAlone(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                // Many writers at once, every third one failing after its insert: on SQLite they are
                // group-committed, so this proves a failure undoes only its own savepoint.
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for id in 1...60 {
                        group.addTask {
                            do {
                                try await store.withTransaction { tx in
                                    try tx.execute("INSERT INTO items (id, name) VALUES ($1, $2)", [.integer(Int64(id)), .text("item-\(id)")])
                                    if id % 3 == 0 { throw Abort() }
                                }
                                return true
                            } catch is Abort {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 40)
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 40)
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items WHERE id % 3 = 0") == 0)
            }
        }

        @Test("a unique-constraint violation surfaces as a typed error and rolls back", arguments: Backend.underTest)
        func uniqueViolation_surfacesAsTypedError(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                try await store.withTransaction { tx in try tx.execute("INSERT INTO items (id, name) VALUES (1, 'taken')") }
                let error = await #expect(throws: StoreError.self) {
                    try await store.withTransaction { tx in
                        try tx.execute("INSERT INTO items (id, name) VALUES (2, 'other')")
                        try tx.execute("INSERT INTO items (id, name) VALUES (3, 'taken')")
                    }
                }
                guard case .uniqueViolation(let constraint) = error else {
                    Issue.record("expected uniqueViolation, got \(String(describing: error))")
                    return
                }
                #expect(constraint != nil)
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 1)
            }
        }

        @Test("a missing row surfaces as notFound", arguments: Backend.underTest)
        func missingRow_surfacesAsNotFound(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                await #expect(throws: StoreError.notFound) {
                    try await store.read { try $0.queryOne("SELECT id FROM items WHERE id = $1", [42]) }
                }
            }
        }

        @Test("$N placeholders bind by number, in any order and repeated", arguments: Backend.underTest)
        func numberedPlaceholders_bindByNumber(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                try await store.withTransaction { tx in
                    try tx.execute("INSERT INTO items (name, id, n) VALUES ($2, $1, $1)", [7, "seven"])
                }
                let row = try await store.read { try $0.queryOne("SELECT id, name, n FROM items WHERE name = $2 AND id = $1 AND n = $1", [7, "seven"]) }
                #expect(try row.int64("id") == 7 && row.string("name") == "seven" && row.int64("n") == 7)
                await #expect(throws: StoreError.self) {
                    try await store.read { try $0.query("SELECT id FROM items WHERE id = $1", [1, 2]) }
                }
            }
        }

        @Test("every value type round-trips, and rows decode by column name", arguments: Backend.underTest)
        func values_roundTripAndDecodeByColumnName(backend: Backend) async throws {
            try await withStore(backend) { store in
                let script: SQL = backend == .sqlite
                    ? "CREATE TABLE vals (i BIGINT, r DOUBLE PRECISION, t TEXT, b BLOB, f BOOLEAN, z TEXT)"
                    : "CREATE TABLE vals (i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, f BOOLEAN, z TEXT)"
                let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF]
                let text = "naïve — 日本 \u{1F511} 'quoted' \\ $1"
                try await store.withTransaction { tx in
                    try tx.executeScript(script)
                    try tx.execute(
                        "INSERT INTO vals (i, r, t, b, f, z) VALUES ($1, $2, $3, $4, $5, $6)",
                        [.integer(.min), .real(0.1 + 0.2), .text(text), .blob(bytes), .bool(true), .null]
                    )
                    try tx.execute("INSERT INTO vals (i, r, t, b, f, z) VALUES ($1, $2, $3, $4, $5, $6)", [.integer(.max), 1.5, "", .blob([]), false, "z"])
                }
                let rows = try await store.read { try $0.query("SELECT i, r, t, b, f, z FROM vals ORDER BY i") }
                #expect(rows.count == 2)
                #expect(try rows[0].int64("i") == .min && rows[1].int64("i") == .max)
                #expect(try rows[0].double("r") == 0.1 + 0.2)
                #expect(try rows[0].string("t") == text && rows[1].string("t") == "")
                #expect(try rows[0].bytes("b") == bytes && rows[1].bytes("b") == [])
                #expect(try rows[0].bool("f") == true && rows[1].bool("f") == false)
                #expect(try rows[0].optionalString("z") == nil && rows[1].optionalString("z") == "z")

                struct Value: Decodable, Equatable { let i: Int64; let t: String; let f: Bool; let z: String?; let b: [UInt8] }
                #expect(try rows[1].decode(Value.self) == Value(i: .max, t: "", f: false, z: "z", b: []))
                #expect(throws: StoreError.missingColumn("nope")) { try rows[0].string("nope") }
                #expect(throws: StoreError.typeMismatch(column: "t", expected: "integer", actual: "text")) { try rows[0].int64("t") }
            }
        }

        @Test("a read transaction cannot write", arguments: Backend.underTest)
        func readTransaction_cannotWrite(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                await #expect(throws: StoreError.self) {
                    try await store.read { reader in
                        // A reader is not a StoreTransaction; force a write through SQL to prove the database refuses it.
                        try reader.query("INSERT INTO items (id, name) VALUES (1, 'x') RETURNING id")
                    }
                }
                #expect(try await count(store, "SELECT COUNT(*) AS count FROM items") == 0)
            }
        }

        @Test("a transaction cannot be used after its body returned", arguments: Backend.underTest)
        func escapedTransaction_isRefused(backend: Backend) async throws {
            try await withStore(backend) { store in
                final class Box: @unchecked Sendable { var tx: (any StoreTransaction)? }
                let box = Box()
                try await store.withTransaction { tx in box.tx = tx }
                #expect(throws: StoreError.transactionClosed) { try box.tx?.execute("SELECT 1") }
            }
        }

        @Test("statements read again after a schema change see its columns; repeated and out-of-order parameters bind", arguments: Backend.underTest)
        func schemaChange_reachesCachedStatements(backend: Backend) async throws {
            try await withStore(backend) { store in
                try await createItemsTable(store)
                try await store.withTransaction { tx in try tx.execute("INSERT INTO items (id, name) VALUES ($2, $1)", ["one", 1]) }
                // Every reader thread prepares (and keeps) the statement before the change.
                for _ in 0..<12 {
                    let rows = try await store.read { try $0.query("SELECT * FROM items WHERE id = $1 OR id = $1", [1]) }
                    #expect(rows.first?.columns == ["id", "name", "n"])
                }
                try await store.withTransaction { tx in try tx.executeScript("ALTER TABLE items ADD COLUMN note TEXT NOT NULL DEFAULT 'x'") }
                for _ in 0..<12 {
                    let rows = try await store.read { try $0.query("SELECT * FROM items WHERE id = $1 OR id = $1", [1]) }
                    #expect(rows.first?.columns == ["id", "name", "n", "note"])
                    #expect(try rows.first?.string("note") == "x")
                }
            }
        }
    }
}
