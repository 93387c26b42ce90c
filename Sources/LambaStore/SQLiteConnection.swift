internal import CSQLite
internal import Foundation

/// One sqlite3 connection. Owned by one database thread; never shared (opened with NOMUTEX).
final class SQLiteConnection {
    private let handle: OpaquePointer
    /// Prepared statements by SQL text, reset after each use: preparing costs more than running
    /// most of Lamba's keyed reads. Texts come from code, so the set is small; the bound is a guard.
    private var statements: [String: PreparedStatement] = [:]
    static let statementCacheLimit = 256

    /// Opens (creating if needed) the file at `path`. The writer switches the file to WAL, which is
    /// persistent; readers refuse writes with `query_only`.
    init(path: String, readOnly: Bool, busyTimeoutMilliseconds: Int32) throws(StoreError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw .connectionLost(reason: "cannot open SQLite database: \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // Before any other statement, so that even the pragmas below wait for a busy file.
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        if !readOnly {
            let mode = try query(SQL(trusted: "PRAGMA journal_mode = WAL"), []).first?["journal_mode"]
            guard mode == .text("wal") else { throw .database(message: "cannot switch to WAL journal mode", sqlstate: nil) }
        }
        // FULL: a committed token rotation must survive power loss, not only a process crash.
        try executeScript(SQL(trusted: "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;" + (readOnly ? " PRAGMA query_only = ON;" : "")))
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement.handle) }
        sqlite3_close_v2(handle)
    }

    func executeScript(_ sql: SQL) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql.text, nil, nil, &message)
        defer { sqlite3_free(message) }
        if rc != SQLITE_OK { throw error(rc) }
    }

    /// Rolls back when a transaction is open; used after a failure, so its own errors are ignored.
    func rollbackIfActive() {
        if sqlite3_get_autocommit(handle) == 0 { sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
    }

    func query(_ sql: SQL, _ parameters: [SQLValue]) throws(StoreError) -> [Row] {
        try withStatement(sql, parameters) { prepared throws(StoreError) in
            let statement = prepared.handle
            var columns = prepared.columns
            var rows: [Row] = []
            while try step(statement) {
                // sqlite prepares a statement again, inside step, after a schema change: `SELECT *`
                // may then have other columns than the names kept from the first preparation.
                if rows.isEmpty, sqlite3_stmt_status(statement, SQLITE_STMTSTATUS_REPREPARE, 0) != prepared.preparations {
                    let again = PreparedStatement(handle: statement)
                    statements[sql.text] = again
                    columns = again.columns
                }
                rows.append(Row(columns: columns, values: (0..<Int32(columns.count)).map { column(statement, $0) }))
            }
            return rows
        }
    }

    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws(StoreError) -> Int {
        try withStatement(sql, parameters) { prepared throws(StoreError) in
            while try step(prepared.handle) {}
            return Int(sqlite3_changes64(handle))
        }
    }

    // MARK: statements

    /// A prepared statement with what never changes between its runs: its result columns' names
    /// and where each `$N` binds.
    private struct PreparedStatement {
        let handle: OpaquePointer
        let columns: [String]
        /// sqlite's index of `$1`, `$2`, …; 0 where the statement does not use that one.
        let parameterIndexes: [Int32]
        /// How often sqlite had prepared it again (schema changes) when `columns` were read.
        let preparations: Int32

        init(handle: OpaquePointer) {
            self.handle = handle
            columns = (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
            // `$N` is a named parameter to sqlite, numbered by first appearance; binding by name
            // puts `$2` before `$1`, or a repeated `$1`, in the right place.
            parameterIndexes = (0..<sqlite3_bind_parameter_count(handle)).map { sqlite3_bind_parameter_index(handle, "$\($0 + 1)") }
            preparations = sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_REPREPARE, 0)
        }
    }

    private func withStatement<T>(_ sql: SQL, _ parameters: [SQLValue], _ body: (PreparedStatement) throws(StoreError) -> T) throws(StoreError) -> T {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement.handle)
            sqlite3_clear_bindings(statement.handle)
        }
        try bind(parameters, to: statement)
        return try body(statement)
    }

    private func prepared(_ sql: SQL) throws(StoreError) -> PreparedStatement {
        if let cached = statements[sql.text] { return cached }
        var handle: OpaquePointer?
        let rc = sql.text.withCString { sqlite3_prepare_v3(self.handle, $0, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil) }
        guard rc == SQLITE_OK else { throw error(rc) }
        guard let handle else { throw .parameterMismatch("statement is empty") }
        let statement = PreparedStatement(handle: handle)
        if statements.count >= Self.statementCacheLimit {
            for old in statements.values { sqlite3_finalize(old.handle) }
            statements.removeAll(keepingCapacity: true)
        }
        statements[sql.text] = statement
        return statement
    }

    private func bind(_ parameters: [SQLValue], to prepared: PreparedStatement) throws(StoreError) {
        let statement = prepared.handle
        guard prepared.parameterIndexes.count == parameters.count else {
            throw .parameterMismatch("statement has \(prepared.parameterIndexes.count) parameters, \(parameters.count) given")
        }
        for (offset, value) in parameters.enumerated() {
            let index = prepared.parameterIndexes[offset]
            guard index > 0 else { throw .parameterMismatch("statement does not use $\(offset + 1)") }
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(statement, index)
            case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
            case .real(let v): rc = sqlite3_bind_double(statement, index, v)
            case .bool(let v): rc = sqlite3_bind_int64(statement, index, v ? 1 : 0)
            case .text(let v):
                // The explicit length keeps any interior NUL; sqlite copies the bytes.
                rc = v.withCString { lamba_sqlite3_bind_text_transient(statement, index, $0, Int32(v.utf8.count)) }
            case .blob(let v):
                rc = v.withUnsafeBytes { bytes in
                    // A zero-length blob must still be a blob, not NULL: give sqlite a valid pointer.
                    lamba_sqlite3_bind_blob_transient(statement, index, bytes.baseAddress ?? UnsafeRawPointer(statement), Int32(bytes.count))
                }
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
    }

    /// True while the statement yields a row.
    private func step(_ statement: OpaquePointer) throws(StoreError) -> Bool {
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw error(rc)
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let text = sqlite3_column_text(statement, index) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, index))
            guard let blob = sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    // Maps sqlite's result codes to store errors; the message never includes bound values.
    private func error(_ rc: Int32) -> StoreError {
        let extended = sqlite3_extended_errcode(handle)
        let message = String(cString: sqlite3_errmsg(handle))
        switch extended {
        case Int32(LAMBA_SQLITE_CONSTRAINT_UNIQUE), Int32(LAMBA_SQLITE_CONSTRAINT_PRIMARYKEY):
            // "UNIQUE constraint failed: table.column"
            let columns = message.split(separator: ":", maxSplits: 1).dropFirst().first
            return .uniqueViolation(constraint: columns.map { $0.trimmingCharacters(in: .whitespaces) })
        case Int32(LAMBA_SQLITE_CONSTRAINT_FOREIGNKEY):
            return .foreignKeyViolation(constraint: nil)
        default:
            break
        }
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        // The file's disk (or SQLITE_MAX_PAGE_COUNT) is full: sqlite rolled the statement (or the
        // whole transaction) back, so nothing is half-written and the store answers 503.
        case SQLITE_FULL: return .resourcesExhausted(reason: message)
        default: return .database(message: message, sqlstate: "SQLITE_\(extended)")
        }
    }
}
