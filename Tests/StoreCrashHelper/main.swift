// Opened by the kill -9 test: writes rows and an event inside a transaction, says READY, and
// waits inside that transaction until the test kills this process with SIGKILL.
import Foundation
import LambaPostgres
import LambaStore

let arguments = CommandLine.arguments
guard arguments.count == 3, let rowCount = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: lamba-store-crash-helper <database-url> <rows>\n".utf8))
    exit(2)
}

let store = try await StoreFactory.open(DatabaseURL(parsing: arguments[1]), poolSize: 1)
try await store.migrate()
try await store.withTransaction { tx in
    try tx.execute("CREATE TABLE IF NOT EXISTS crash_rows (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
}
try await store.withTransaction { tx in
    // Large enough to spill out of SQLite's page cache into the WAL before the commit.
    let payload = String(repeating: "x", count: 2000)
    for id in 0..<rowCount {
        try tx.execute("INSERT INTO crash_rows (id, payload) VALUES ($1, $2)", [SQLValue(id), .text(payload)])
    }
    try tx.appendEvent(OutboxEvent(type: "crash.test", data: #"{"rows":\#(rowCount)}"#))
    FileHandle.standardOutput.write(Data("READY\n".utf8))
    while true { sleep(60) }
}
