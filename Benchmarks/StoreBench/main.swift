// Keyed reads and single-row transactional writes on both stores; see Benchmarks/store.sh.
import Foundation
import LambaPostgres
import LambaStore
import LambaStoreTestSupport

let rows = 10_000
let concurrency = 4

/// Runs `operations` calls of `body` split over `tasks` tasks and returns calls per second.
func measure(tasks: Int, operations: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for i in stride(from: task, to: operations, by: tasks) { try await body(i) }
                }
            }
            try await group.waitForAll()
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(operations) / seconds
}

func run(_ label: String, _ store: any Store, reads: Int, writes: Int) async throws -> String {
    try await store.migrate()
    try await store.withTransaction { tx in
        try tx.executeScript("CREATE TABLE kv (k BIGINT PRIMARY KEY, v TEXT NOT NULL)")
        for k in 0..<rows { try tx.execute("INSERT INTO kv (k, v) VALUES ($1, $2)", [SQLValue(k), .text("value \(k)")]) }
    }
    // Keys spread over the table, the same sequence on every run.
    @Sendable func key(_ i: Int) -> SQLValue { SQLValue(i &* 7919 % rows) }
    let read: @Sendable (Int) async throws -> Void = { i in
        _ = try await store.read { try $0.queryOne("SELECT v FROM kv WHERE k = $1", [key(i)]).string("v") }
    }
    @Sendable func write(_ round: String) -> @Sendable (Int) async throws -> Void { { i in
        _ = try await store.withTransaction { tx in
            try tx.execute("UPDATE kv SET v = $2 WHERE k = $1", [key(i), .text("\(round) \(i)")])
        }
    } }
    _ = try await measure(tasks: 1, operations: 500, read)
    let reads1 = try await measure(tasks: 1, operations: reads, read)
    let readsN = try await measure(tasks: concurrency, operations: reads, read)
    let writes1 = try await measure(tasks: 1, operations: writes, write("one task"))
    let writesN = try await measure(tasks: concurrency, operations: writes, write("\(concurrency) tasks"))
    await store.close()
    func f(_ v: Double) -> String { String(Int(v.rounded())) }
    return "| \(label) | \(f(reads1)) | \(f(readsN)) | \(f(writes1)) | \(f(writesN)) |"
}

let reads = Int(ProcessInfo.processInfo.environment["LAMBA_BENCH_READS"] ?? "") ?? 20_000
let writes = Int(ProcessInfo.processInfo.environment["LAMBA_BENCH_WRITES"] ?? "") ?? 2_000
var lines = [
    "| store | keyed reads/s (1 task) | keyed reads/s (\(concurrency) tasks) | writes/s (1 task) | writes/s (\(concurrency) tasks) |",
    "| --- | ---: | ---: | ---: | ---: |",
]

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-bench-\(UUID().uuidString.prefix(8))")
defer { try? FileManager.default.removeItem(at: directory) }
let sqlite = try await SQLiteStore(path: directory.appendingPathComponent("bench.sqlite").path, readers: concurrency)
lines.append(try await run("SQLite 3.40 (WAL, synchronous=FULL)", sqlite, reads: reads, writes: writes))

if PostgresCluster.binDir != nil {
    // Durable: fsync on, as in production.
    let cluster = try PostgresCluster(durable: true)
    defer { cluster.destroy() }
    let postgres = try await PostgresStore(uri: cluster.createDatabase("bench"), poolSize: concurrency)
    lines.append(try await run("PostgreSQL 15 (local, fsync on, SERIALIZABLE)", postgres, reads: reads, writes: writes))
} else {
    FileHandle.standardError.write(Data("PostgreSQL server binaries not found; PostgreSQL skipped\n".utf8))
}
print(lines.joined(separator: "\n"))
