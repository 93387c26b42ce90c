internal import Foundation
public import LambaModel
public import LambaStore
import Synchronization

/// The production store: PostgreSQL through libpq, with a bounded pool of connections, each owned
/// by its own dedicated thread. Connections are opened lazily and replaced after the server
/// restarts; transactions are SERIALIZABLE and retried on serialization failures.
public final class PostgresStore: Store {
    public var dialect: SQLDialect { .postgres }
    public let poolSize: Int
    private let uri: String
    private let threads: DatabaseThreads<PostgresConnection?>
    private let maxAttempts: Int
    public let versions = TableVersions()
    /// Receives other processes' changes (`NOTIFY lamba_changes`) for `versions`.
    private let listener: PostgresChangeListener
    static let changeChannel = "lamba_changes"
    /// Names this store in its notifications, so that its own listener skips what the commit
    /// already bumped here.
    private let origin = UUID().uuidString

    /// - Parameters:
    ///   - uri: a libpq connection URI (`postgres://user:password@host:port/db?...`).
    ///   - poolSize: connections (and threads) at most.
    ///   - maxAttempts: how many times a transaction runs before `.serializationFailure` is thrown.
    /// - Throws: `StoreError.connectionLost` when the first connection cannot be made.
    public init(uri: String, poolSize: Int = 8, maxAttempts: Int = 20) async throws {
        self.uri = uri
        self.poolSize = max(1, poolSize)
        self.maxAttempts = max(1, maxAttempts)
        self.threads = DatabaseThreads(count: self.poolSize, name: "lamba-postgres") { nil }
        self.listener = PostgresChangeListener(uri: uri, channel: Self.changeChannel, origin: origin, versions: versions)
        // Fail at startup, not at the first request, when the server is unreachable.
        do {
            try await threads.run { [uri] connection in _ = try Self.connection(&connection, uri: uri) }
        } catch {
            threads.stop()
            throw error
        }
        listener.start()
    }

    deinit {
        listener.stop()
        threads.stop()
    }

    @discardableResult
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await retryingSerializationFailures {
            try await self.run(begin: "BEGIN ISOLATION LEVEL SERIALIZABLE", readOnly: false) { tx in try body(tx) }
        }
    }

    /// REPEATABLE READ READ ONLY: one snapshot, and a read-only transaction never fails to serialize.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        try await retryingSerializationFailures {
            try await self.run(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", readOnly: true) { tx in try body(tx) }
        }
    }

    /// One statement in autocommit: a single round trip.
    public func synchronizeVersions() async throws {
        let uri = uri
        let counters = try await threads.run { connection in
            let db = try Self.connection(&connection, uri: uri)
            do {
                return try ChangeCounters.counters(db.query(ChangeCounters.read, []))
            } catch {
                if !db.isUsable { connection = nil }
                throw error
            }
        }
        versions.observe(counters)
    }

    public func close() async {
        listener.stop()
        await threads.shutdown()
    }

    private func retryingSerializationFailures<T>(_ attempt: () async throws -> T) async throws -> T {
        var delay = Duration.milliseconds(1)
        for _ in 1..<maxAttempts {
            do {
                return try await attempt()
            } catch StoreError.serializationFailure {
                // Jittered backoff, awaited off the database threads.
                try await Task.sleep(for: delay * Double.random(in: 0.5...1.5))
                delay = min(delay * 2, .milliseconds(100))
            }
        }
        return try await attempt()
    }

    private func run<T: Sendable>(begin: String, readOnly: Bool, _ body: @escaping @Sendable (PostgresTransaction) throws -> T) async throws -> T {
        let uri = uri, versions = versions, origin = origin
        return try await threads.run { connection in
            var db = try Self.connection(&connection, uri: uri)
            do {
                try db.executeScript(begin)
            } catch StoreError.connectionLost {
                // The server dropped an idle pooled connection (a restart): nothing was sent in
                // this transaction yet, so reconnecting once and beginning again is safe.
                connection = nil
                db = try Self.connection(&connection, uri: uri)
                try db.executeScript(begin)
            }
            let tx = PostgresTransaction(db, readOnly: readOnly)
            defer { tx.isOpen = false }
            do {
                let result = try body(tx)
                tx.isOpen = false
                let written = tx.written
                if !written.isEmpty {
                    // Delivered to every listener when (and only if) this transaction commits.
                    _ = try db.query("SELECT pg_notify($1, $2)", [.text(Self.changeChannel), .text(origin + ":" + written.sorted().joined(separator: ","))])
                }
                try db.executeScript("COMMIT")
                // Moved after the commit, outside the transaction: under SERIALIZABLE, concurrent
                // writers of one table would otherwise conflict on its counter row. Before the
                // writer answers, so a client that calls another process next finds it moved.
                // Should it fail, the notification above still reaches the other processes.
                var counters: [String: Int64] = [:]
                let counted = ChangeCounters.tables(in: written)
                if !counted.isEmpty {
                    let (sql, parameters) = ChangeCounters.increment(counted)
                    counters = (try? ChangeCounters.counters(db.query(sql, parameters))) ?? [:]
                }
                if written.contains("*") { versions.bumpAll() } else if !written.isEmpty { versions.bump(written) }
                versions.record(counters)
                return result
            } catch {
                db.rollbackIfPossible()
                if !db.isUsable { connection = nil }
                throw error
            }
        }
    }

    private static func connection(_ connection: inout PostgresConnection?, uri: String) throws -> PostgresConnection {
        if let existing = connection, existing.isUsable { return existing }
        connection = nil
        let opened = try PostgresConnection(uri: uri)
        connection = opened
        return opened
    }
}

final class PostgresTransaction: StoreTransaction {
    private let db: PostgresConnection
    private let readOnly: Bool
    var isOpen = true
    var dialect: SQLDialect { .postgres }

    init(_ db: PostgresConnection, readOnly: Bool) {
        self.db = db
        self.readOnly = readOnly
    }

    /// Tables this transaction wrote (`"*"`: unknown), for `TableVersions`.
    private(set) var written: Set<String> = []

    func query(_ sql: SQL, _ parameters: [SQLValue]) throws -> [Row] {
        guard isOpen else { throw StoreError.transactionClosed }
        if !readOnly, let table = TableVersions.writtenTable(sql.text) { written.insert(table) }
        return try db.query(sql, parameters)
    }

    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws -> Int {
        guard isOpen else { throw StoreError.transactionClosed }
        if !readOnly, let table = TableVersions.writtenTable(sql.text) { written.insert(table) }
        return try db.execute(sql, parameters)
    }

    func executeScript(_ sql: SQL) throws {
        guard isOpen else { throw StoreError.transactionClosed }
        if !readOnly { written.insert("*") }
        try db.executeScript(sql.text)
    }
}

/// One connection that `LISTEN`s for other processes' changes and bumps `TableVersions` with the
/// tables each names. Notifications sent while it was disconnected are lost, so a reconnect
/// bumps everything.
final class PostgresChangeListener: Sendable {
    private let uri: String
    private let channel: String
    private let versions: TableVersions
    private let stopped = Atomic<Bool>(false)

    private let origin: String

    init(uri: String, channel: String, origin: String, versions: TableVersions) {
        self.origin = origin
        self.uri = uri
        self.channel = channel
        self.versions = versions
    }

    /// Listens before returning (so nothing committed after `start` is missed), then waits for
    /// notifications on a thread of its own.
    func start() {
        let first = Connection(try? listeningConnection())
        let thread = Thread { [self] in run(first.connection) }
        thread.name = "lamba-postgres-listen"
        thread.start()
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Hands the first connection to the listening thread.
    private final class Connection: @unchecked Sendable {
        let connection: PostgresConnection?
        init(_ connection: PostgresConnection?) { self.connection = connection }
    }

    private func listeningConnection() throws -> PostgresConnection {
        let connection = try PostgresConnection(uri: uri)
        try connection.executeScript("LISTEN \(channel)")
        return connection
    }

    private func run(_ first: PostgresConnection?) {
        var current = first
        while !stopped.load(ordering: .relaxed) {
            do {
                if current == nil {
                    current = try listeningConnection()
                    // Whatever was committed while disconnected was not heard.
                    versions.bumpAll()
                }
                guard let connection = current else { continue }
                for notification in try connection.notifications(timeoutMilliseconds: 500) where notification.channel == channel {
                    // `origin:table,table`; this store's own commits were bumped when they committed.
                    let parts = notification.payload.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else {
                        versions.bumpAll()
                        continue
                    }
                    guard parts[0] != origin else { continue }
                    let tables = parts[1].split(separator: ",").map(String.init)
                    if tables.contains("*") { versions.bumpAll() } else { versions.bump(tables) }
                }
            } catch {
                current = nil
                versions.bumpAll()
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }
}
