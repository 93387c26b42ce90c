public import LambaModel

/// Which SQL dialect a store speaks; migrations and the few dialect-specific statements switch on it.
public enum SQLDialect: String, Sendable, Hashable {
    case sqlite
    case postgres
}

/// The storage contract the domain uses. SQLite and PostgreSQL implement it identically.
///
/// Every call runs its body on a dedicated database thread, never on Swift's cooperative pool, so
/// the body is synchronous and must not escape the transaction it is given.
public protocol Store: Sendable {
    var dialect: SQLDialect { get }

    /// Per-table change versions, bumped on commit, for caches (see `TableVersions`).
    var versions: TableVersions { get }

    /// Runs `body` in one read-write transaction: committed when it returns, rolled back when it
    /// throws (the body's own error is rethrown unchanged). Transactions are serializable on both
    /// databases; on a serialization failure the body is run again a bounded number of times, so it
    /// must have no side effects outside the transaction.
    /// - Throws: the body's error, or `StoreError`.
    @discardableResult
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T

    /// Runs `body` in a read-only transaction that sees one consistent snapshot.
    /// - Throws: the body's error, or `StoreError`.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T

    /// Reads the database's change counters into `versions` (`ChangeCounters`), so that a change
    /// another process committed and answered for retires cached entries before the next read.
    /// - Throws: `StoreError`.
    func synchronizeVersions() async throws

    /// Closes every connection and stops the store's threads; later calls throw.
    func close() async
}

/// Queries inside a transaction. Parameters are `$1, $2, …`.
public protocol StoreReader {
    var dialect: SQLDialect { get }
    /// - Throws: `StoreError`.
    func query(_ sql: SQL, _ parameters: [SQLValue]) throws -> [Row]
}

/// Changes inside a read-write transaction.
public protocol StoreTransaction: StoreReader {
    /// Runs one statement and returns how many rows it changed.
    /// - Throws: `StoreError` (`.uniqueViolation` for a duplicate key).
    @discardableResult
    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws -> Int

    /// Runs several parameterless statements (schema changes); only for migrations and tests.
    func executeScript(_ sql: SQL) throws
}

extension StoreReader {
    public func query(_ sql: SQL) throws -> [Row] {
        try query(sql, [])
    }

    /// The only row of a query. - Throws: `StoreError.notFound` when there is none.
    public func queryOne(_ sql: SQL, _ parameters: [SQLValue] = []) throws -> Row {
        guard let row = try query(sql, parameters).first else { throw StoreError.notFound }
        return row
    }
}

extension StoreTransaction {
    @discardableResult
    public func execute(_ sql: SQL) throws -> Int {
        try execute(sql, [])
    }
}

extension Store {
    /// `withTransaction` for the domain services (console writes): the same transaction, but a store
    /// failure with a domain meaning surfaces as that `DomainError` (`StoreError.domainError`: a
    /// unique violation is `.conflict`). Code that handles `StoreError.uniqueViolation` itself (the
    /// OAuth engine, the outbox) keeps using `withTransaction`.
    /// - Throws: the body's error, `DomainError.conflict`, or `StoreError`.
    @discardableResult
    public func withDomainTransaction<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await StoreError.mappedToDomain { try await withTransaction(body) }
    }

    /// Applies pending migrations; see `Migrator`.
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migrations.all) async throws -> [Migration] {
        try await Migrator(migrations: migrations).migrate(self)
    }
}

/// The identity model for the domain services of the console: `SQLIdentityStore` whose writes report
/// a store failure with a domain meaning as that `DomainError` (a unique violation is
/// `.conflict`, see `StoreError.domainError`). The OAuth engine uses `SQLIdentityStore` itself, whose
/// writes throw `StoreError` unchanged.
public struct DomainIdentityStore: IdentityStore {
    public let records: SQLIdentityStore

    public init(store: any Store) {
        records = SQLIdentityStore(store: store)
    }

    /// - Throws: the body's error, `DomainError.conflict` for a unique violation, or `StoreError`.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any IdentityWriter) throws -> T) async throws -> T {
        try await StoreError.mappedToDomain { try await records.write(body) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any IdentityReader) throws -> T) async throws -> T {
        try await records.read(body)
    }
}
