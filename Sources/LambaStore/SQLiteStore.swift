internal import Foundation
public import LambaModel
import Synchronization

/// The embedded default store: one SQLite file in WAL mode, one writer thread (so writers never
/// conflict) and a pool of reader threads that read concurrently with it.
public final class SQLiteStore: Store {
    public let path: String
    public var dialect: SQLDialect { .sqlite }
    public let versions = TableVersions()

    private let writer: DatabaseThreads<SQLiteConnection?>
    private let batch = WriteBatch()
    private let readers: DatabaseThreads<SQLiteConnection?>
    private let busyTimeoutMilliseconds: Int32
    /// Polls `PRAGMA data_version` so that another process's commit to the file (the CLI's
    /// `bootstrap` or `demo` beside a running server) reaches `versions` within `watchInterval`.
    private let watching = Mutex<Task<Void, Never>?>(nil)
    static let watchInterval: Duration = .milliseconds(250)

    /// Opens (creating the file and its directory if needed) the database at `path`.
    /// - Parameters:
    ///   - readers: reader threads, each with its own connection.
    ///   - busyTimeout: how long a writer waits for another process's write lock before `.busy`.
    /// - Throws: `StoreError.connectionLost` when the file cannot be opened.
    public init(path: String, readers: Int = 4, busyTimeout: Duration = .seconds(5)) async throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.path = path
        let (seconds, attoseconds) = busyTimeout.components
        self.busyTimeoutMilliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        self.writer = DatabaseThreads(count: 1, name: "lamba-sqlite-writer") { nil }
        self.readers = DatabaseThreads(count: max(1, readers), name: "lamba-sqlite-reader") { nil }
        // Open the writer now: a bad path fails here, and WAL is on before any reader opens.
        let path = path, timeout = busyTimeoutMilliseconds
        do {
            try await writer.run { connection in
                _ = try Self.open(&connection, path: path, readOnly: false, timeout: timeout)
            }
        } catch {
            writer.stop()
            self.readers.stop()
            throw error
        }
        startWatching()
    }

    deinit {
        watching.withLock { $0?.cancel() }
        writer.stop()
        readers.stop()
    }

    /// Asked on the writer's own connection, `data_version` changes only when another connection
    /// commits; this process writes through no other, so a change is another process's. Which
    /// tables it wrote is unknown, so it bumps them all.
    private func startWatching() {
        let path = path, timeout = busyTimeoutMilliseconds, writer = writer, versions = versions
        let task = Task.detached {
            var last: Int64?
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.watchInterval)
                guard let current = try? await writer.run({ connection -> Int64 in
                    let db = try Self.open(&connection, path: path, readOnly: false, timeout: timeout)
                    return try db.query("PRAGMA data_version", []).first?.int64("data_version") ?? 0
                }) else { continue }
                if let last, last != current { versions.bumpAll() }
                last = current
            }
        }
        watching.withLock { $0 = task }
    }

    /// Write transactions are group-committed: the writer thread takes every transaction waiting at
    /// that moment, runs each inside its own savepoint of one `BEGIN IMMEDIATE` transaction, and
    /// commits them with a single fsync. A body that throws is rolled back to its savepoint alone;
    /// no caller hears of success before the shared commit is durable.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let accepted = batch.add(PendingWrite(body: { try body($0) }, continuation: continuation))
            guard accepted else {
                continuation.resume(throwing: StoreError.connectionLost(reason: "store is closed"))
                return
            }
            let path = path, timeout = busyTimeoutMilliseconds, batch = batch, versions = versions
            let scheduled = writer.enqueue { connection in
                let pending = batch.takeAll()
                guard !pending.isEmpty else { return }
                Self.commitGroup(pending, connection: &connection, path: path, timeout: timeout, versions: versions)
            }
            if !scheduled {
                for write in batch.takeAll() { write.continuation.resume(throwing: StoreError.connectionLost(reason: "store is closed")) }
            }
        }
        return result as! T
    }

    /// Runs one group of writes in one transaction; see `withTransaction`.
    private static func commitGroup(_ pending: [PendingWrite], connection: inout SQLiteConnection?, path: String, timeout: Int32,
                                    versions: TableVersions) {
        let db: SQLiteConnection
        do {
            db = try open(&connection, path: path, readOnly: false, timeout: timeout)
            _ = try db.execute("BEGIN IMMEDIATE", [])
        } catch {
            for write in pending { write.continuation.resume(throwing: error) }
            return
        }
        var outcomes: [Result<any Sendable, any Error>] = []
        outcomes.reserveCapacity(pending.count)
        var written: Set<String> = []
        for write in pending {
            let tx = SQLiteTransaction(db, tracksWrites: true)
            defer { written.formUnion(tx.written) }
            do {
                _ = try db.execute("SAVEPOINT lamba_write", [])
                let value = try write.body(tx)
                tx.isOpen = false
                _ = try db.execute("RELEASE lamba_write", [])
                outcomes.append(.success(value))
            } catch {
                tx.isOpen = false
                // Undo this body only; the group's other writes stay.
                _ = try? db.execute("ROLLBACK TO lamba_write", [])
                _ = try? db.execute("RELEASE lamba_write", [])
                outcomes.append(.failure(error))
            }
        }
        // In the same transaction: other processes see the counters move with the change.
        // Before the change-counter migration (a store being migrated) there is no table to move.
        var counters: [String: Int64] = [:]
        let counted = ChangeCounters.tables(in: written)
        if !counted.isEmpty, outcomes.contains(where: { if case .success = $0 { true } else { false } }) {
            let (sql, parameters) = ChangeCounters.increment(counted)
            if let rows = try? db.query(sql, parameters) { counters = (try? ChangeCounters.counters(rows)) ?? [:] }
        }
        do {
            _ = try db.execute("COMMIT", [])
        } catch {
            db.rollbackIfActive()
            for write in pending { write.continuation.resume(throwing: error) }
            return
        }
        // Before anyone hears of the commit, so no cache serves what it replaced.
        if written.contains("*") { versions.bumpAll() } else if !written.isEmpty { versions.bump(written) }
        versions.record(counters)
        for (write, outcome) in zip(pending, outcomes) { write.continuation.resume(with: outcome) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let path = path, timeout = busyTimeoutMilliseconds
        return try await readers.run { connection in
            let db = try Self.open(&connection, path: path, readOnly: true, timeout: timeout)
            return try Self.transaction(db, begin: "BEGIN") { tx in try body(tx) }
        }
    }

    public func synchronizeVersions() async throws {
        let path = path, timeout = busyTimeoutMilliseconds
        let counters = try await readers.run { connection in
            let db = try Self.open(&connection, path: path, readOnly: true, timeout: timeout)
            return try ChangeCounters.counters(db.query(ChangeCounters.read, []))
        }
        versions.observe(counters)
    }

    public func close() async {
        watching.withLock { $0?.cancel() }
        await writer.shutdown()
        await readers.shutdown()
    }

    private static func open(_ connection: inout SQLiteConnection?, path: String, readOnly: Bool, timeout: Int32) throws -> SQLiteConnection {
        if let connection { return connection }
        let opened = try SQLiteConnection(path: path, readOnly: readOnly, busyTimeoutMilliseconds: timeout)
        connection = opened
        return opened
    }

    private static func transaction<T>(_ db: SQLiteConnection, begin: SQL, _ body: (SQLiteTransaction) throws -> T) throws -> T {
        // Transaction control through the statement cache too: parsing it each time showed.
        _ = try db.execute(begin, [])
        let tx = SQLiteTransaction(db)
        defer { tx.isOpen = false }
        do {
            let result = try body(tx)
            tx.isOpen = false
            _ = try db.execute("COMMIT", [])
            return result
        } catch {
            db.rollbackIfActive()
            throw error
        }
    }
}

/// The transaction handed to a body; it refuses use after the body returned.
final class SQLiteTransaction: StoreTransaction {
    private let db: SQLiteConnection
    var isOpen = true
    var dialect: SQLDialect { .sqlite }
    /// Tables this transaction wrote (`"*"`: unknown), for `TableVersions`.
    private(set) var written: Set<String> = []
    private let tracksWrites: Bool

    init(_ db: SQLiteConnection, tracksWrites: Bool = false) {
        self.db = db
        self.tracksWrites = tracksWrites
    }

    func query(_ sql: SQL, _ parameters: [SQLValue]) throws -> [Row] {
        guard isOpen else { throw StoreError.transactionClosed }
        if tracksWrites, let table = TableVersions.writtenTable(sql.text) { written.insert(table) }
        return try db.query(sql, parameters)
    }

    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws -> Int {
        guard isOpen else { throw StoreError.transactionClosed }
        if tracksWrites, let table = TableVersions.writtenTable(sql.text) { written.insert(table) }
        return try db.execute(sql, parameters)
    }

    func executeScript(_ sql: SQL) throws {
        guard isOpen else { throw StoreError.transactionClosed }
        if tracksWrites { written.insert("*") }
        try db.executeScript(sql)
    }
}

/// A write waiting for the writer thread.
struct PendingWrite: Sendable {
    let body: @Sendable (any StoreTransaction) throws -> any Sendable
    let continuation: CheckedContinuation<any Sendable, any Error>
}

/// Writes waiting to be group-committed; the writer thread takes them all at once.
final class WriteBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [PendingWrite] = []
    /// Bounds one group so a long queue still commits in steps of reasonable size.
    static let maximumGroup = 256

    func add(_ write: PendingWrite) -> Bool {
        lock.withLock { pending.append(write) }
        return true
    }

    func takeAll() -> [PendingWrite] {
        lock.withLock {
            let count = min(pending.count, Self.maximumGroup)
            let taken = Array(pending.prefix(count))
            pending.removeFirst(count)
            return taken
        }
    }
}
