public import LambaModel

/// Errors of every store, whichever database is underneath. Driver errors never cross the store
/// boundary: SQLSTATEs and SQLite result codes are mapped here.
///
/// Descriptions carry the database's message but never bound parameter values.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A unique or primary-key constraint refused the change (SQLSTATE 23505, SQLITE_CONSTRAINT_UNIQUE).
    /// `constraint` is the constraint name on PostgreSQL and the column list on SQLite.
    case uniqueViolation(constraint: String?)
    /// A foreign-key constraint refused the change (SQLSTATE 23503, SQLITE_CONSTRAINT_FOREIGNKEY).
    case foreignKeyViolation(constraint: String?)
    /// A query that must return a row returned none.
    case notFound
    /// The transaction conflicted with another one (SQLSTATE 40001, 40P01) more times than retried.
    case serializationFailure
    /// The database stayed locked by another process past the busy timeout (SQLITE_BUSY).
    case busy
    /// The connection broke or could not be made; the next call reconnects.
    case connectionLost(reason: String)
    /// The database has no room for the change: the disk is full (SQLITE_FULL, SQLSTATE 53100) or the
    /// server lacks another resource (SQLSTATE class 53). The transaction was rolled back whole; the
    /// same change can succeed once room is made, so callers are told to retry later.
    case resourcesExhausted(reason: String)
    /// Any other database error, with its message and SQLSTATE (or SQLite result code).
    case database(message: String, sqlstate: String?)
    /// A row lacks the column asked for.
    case missingColumn(String)
    /// A column holds a different type than asked for.
    case typeMismatch(column: String, expected: String, actual: String)
    /// The statement's parameters do not match the values given.
    case parameterMismatch(String)
    /// The database has migrations this binary does not know: it was upgraded by a newer Lamba.
    case schemaTooNew(database: Int, binary: Int)
    /// `LAMBA_DATABASE_URL` (or `--database`) is not a URL this build can open.
    case invalidURL(String)
    /// A transaction was used after its body returned.
    case transactionClosed

    public var description: String {
        switch self {
        case .uniqueViolation(let c): "unique constraint violated" + (c.map { " (\($0))" } ?? "")
        case .foreignKeyViolation(let c): "foreign key constraint violated" + (c.map { " (\($0))" } ?? "")
        case .notFound: "no row found"
        case .serializationFailure: "transaction conflicted with a concurrent one; retries exhausted"
        case .busy: "database is locked by another writer"
        case .connectionLost(let reason): "database connection lost: \(reason)"
        case .resourcesExhausted(let reason): "database out of resources: \(reason)"
        case .database(let message, let sqlstate): "database error" + (sqlstate.map { " \($0)" } ?? "") + ": \(message)"
        case .missingColumn(let c): "row has no column \(c)"
        case .typeMismatch(let c, let expected, let actual): "column \(c) holds \(actual), not \(expected)"
        case .parameterMismatch(let m): "statement parameters do not match: \(m)"
        case .schemaTooNew(let db, let bin):
            "database schema is at version \(db) but this binary knows up to \(bin); upgrade Lamba"
        case .invalidURL(let m): "LAMBA_DATABASE_URL: \(m)"
        case .transactionClosed: "transaction used after its body returned"
        }
    }
}

extension StoreError: StoreAvailabilityError {
    public var meansStoreUnavailable: Bool {
        switch self {
        case .connectionLost, .busy, .serializationFailure, .resourcesExhausted: true
        default: false
        }
    }
}

extension StoreError {
    /// How a failure of a domain service's write reads in the domain's terms: a unique violation
    /// means another writer holds the slug, email, membership or domain already (a concurrent request
    /// took it between the check and the insert), so it is `DomainError.conflict`. Every other store
    /// error stays itself. Applied at the store boundary by `withDomainTransaction` and
    /// `DomainIdentityStore`, never by the HTTP layer.
    public var domainError: DomainError? {
        if case .uniqueViolation = self { return .conflict("the resource exists already") }
        return nil
    }

    /// Runs `body`, rethrowing a `StoreError` that has a domain meaning as that `DomainError`.
    static func mappedToDomain<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error.domainError ?? error
        }
    }
}
