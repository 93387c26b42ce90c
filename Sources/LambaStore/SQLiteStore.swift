internal import Foundation

/// The embedded default store: one SQLite file in WAL mode, one writer thread (so writers never
/// conflict) and a pool of reader threads that read concurrently with it.
public final class SQLiteStore: Store {
    public let path: String
    public var dialect: SQLDialect { .sqlite }

    private let writer: DatabaseThreads<SQLiteConnection?>
    private let readers: DatabaseThreads<SQLiteConnection?>
    private let busyTimeoutMilliseconds: Int32

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
    }

    deinit {
        writer.stop()
        readers.stop()
    }

    @discardableResult
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let path = path, timeout = busyTimeoutMilliseconds
        return try await writer.run { connection in
            let db = try Self.open(&connection, path: path, readOnly: false, timeout: timeout)
            // IMMEDIATE takes the write lock up front, so a transaction never fails half-way for a
            // lock held by another process; that wait is bounded by the busy timeout.
            return try Self.transaction(db, begin: "BEGIN IMMEDIATE") { tx in try body(tx) }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        let path = path, timeout = busyTimeoutMilliseconds
        return try await readers.run { connection in
            let db = try Self.open(&connection, path: path, readOnly: true, timeout: timeout)
            return try Self.transaction(db, begin: "BEGIN") { tx in try body(tx) }
        }
    }

    public func close() async {
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
        try db.executeScript(begin)
        let tx = SQLiteTransaction(db)
        defer { tx.isOpen = false }
        do {
            let result = try body(tx)
            tx.isOpen = false
            try db.executeScript("COMMIT")
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

    init(_ db: SQLiteConnection) {
        self.db = db
    }

    func query(_ sql: SQL, _ parameters: [SQLValue]) throws -> [Row] {
        guard isOpen else { throw StoreError.transactionClosed }
        return try db.query(sql, parameters)
    }

    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws -> Int {
        guard isOpen else { throw StoreError.transactionClosed }
        return try db.execute(sql, parameters)
    }

    func executeScript(_ sql: SQL) throws {
        guard isOpen else { throw StoreError.transactionClosed }
        try db.executeScript(sql)
    }
}
