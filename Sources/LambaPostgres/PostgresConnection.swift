internal import CPostgres
internal import Foundation
internal import LambaStore

/// One libpq connection, owned by one database thread. Every call blocks, which is why it only
/// ever runs on `DatabaseThreads`.
final class PostgresConnection {
    private let handle: OpaquePointer

    /// - Throws: `StoreError.connectionLost` with libpq's reason (which never contains the password).
    init(uri: String) throws(StoreError) {
        // Defaults first: values expanded from the URI (last) override them.
        let keywords = ["connect_timeout", "application_name", "client_encoding", "dbname"]
        let values = ["5", "lamba", "UTF8", uri]
        let connection = withCStrings(keywords) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let connection else { throw .connectionLost(reason: "out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.message(PQerrorMessage(connection))
            PQfinish(connection)
            throw .connectionLost(reason: reason)
        }
        handle = connection
    }

    deinit {
        PQfinish(handle)
    }

    /// False once libpq has seen the socket break; the connection must then be replaced.
    var isUsable: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs parameterless statements (several allowed) through the simple query protocol.
    func executeScript(_ sql: String) throws(StoreError) {
        guard let result = PQexec(handle, sql) else { throw lostOrOutOfMemory() }
        defer { PQclear(result) }
        try check(result)
    }

    func query(_ sql: SQL, _ parameters: [SQLValue]) throws(StoreError) -> [Row] {
        try withResult(sql, parameters) { result in
            let rowCount = PQntuples(result), columnCount = PQnfields(result)
            let columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
            let types = (0..<columnCount).map { PQftype(result, $0) }
            return (0..<rowCount).map { row in
                Row(columns: columns, values: (0..<columnCount).map { Self.value(result, row, $0, type: types[Int($0)]) })
            }
        }
    }

    func execute(_ sql: SQL, _ parameters: [SQLValue]) throws(StoreError) -> Int {
        try withResult(sql, parameters) { result in Int(String(cString: PQcmdTuples(result))) ?? 0 }
    }

    /// Rolls back after a failure; a broken connection needs nothing (the server discards it).
    func rollbackIfPossible() {
        guard isUsable, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        if let result = PQexec(handle, "ROLLBACK") { PQclear(result) }
    }

    // MARK: notifications

    /// Waits up to `timeoutMilliseconds` for `NOTIFY`s on the channels this connection listens to
    /// and returns their payloads by channel. - Throws: `.connectionLost` when the socket broke.
    func notifications(timeoutMilliseconds: Int32) throws(StoreError) -> [(channel: String, payload: String)] {
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw .connectionLost(reason: "no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready > 0, PQconsumeInput(handle) == 0 { throw .connectionLost(reason: Self.message(PQerrorMessage(handle))) }
        var received: [(String, String)] = []
        while let notify = PQnotifies(handle) {
            received.append((String(cString: notify.pointee.relname), String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        guard isUsable else { throw .connectionLost(reason: "the connection closed") }
        return received
    }

    // MARK: results

    // Parameters go as text with their type OID (0 lets the server infer text from the column),
    // except blobs, which go as binary bytea. Results come back as text and are typed by OID.
    private func withResult<T>(_ sql: SQL, _ parameters: [SQLValue], _ body: (OpaquePointer) -> T) throws(StoreError) -> T {
        // The server ignores surplus values; refuse them as SQLite does, so both stores agree.
        let used = Self.highestPlaceholder(in: sql.text)
        guard used == parameters.count else {
            throw .parameterMismatch("statement uses $1...$\(used), \(parameters.count) values given")
        }
        var types: [Oid] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        defer { buffers.forEach { $0?.deallocate() } }
        for parameter in parameters {
            var bytes: [UInt8]?
            var oid: Oid = 0
            var format: Int32 = 0
            switch parameter {
            case .null: bytes = nil
            case .integer(let v): bytes = Array(String(v).utf8); oid = 20
            case .real(let v): bytes = Array(Self.text(v).utf8); oid = 701
            case .bool(let v): bytes = Array((v ? "t" : "f").utf8); oid = 16
            case .text(let v): bytes = Array(v.utf8)
            case .blob(let v): bytes = v; oid = 17; format = 1
            }
            types.append(oid)
            formats.append(format)
            lengths.append(Int32(bytes?.count ?? 0))
            buffers.append(bytes.map { bytes in
                let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                bytes.withUnsafeBytes { UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                buffer[bytes.count] = 0
                return buffer
            })
        }
        let values = buffers.map { UnsafePointer($0) }
        let result = PQexecParams(handle, sql.text, Int32(parameters.count), types, values, lengths, formats, 0)
        guard let result else { throw lostOrOutOfMemory() }
        defer { PQclear(result) }
        try check(result)
        return body(result)
    }

    // Highest `$N` outside quoted text and identifiers.
    static func highestPlaceholder(in sql: String) -> Int {
        let bytes = Array(sql.utf8)
        var highest = 0, i = 0
        var quote: UInt8?
        while i < bytes.count {
            let c = bytes[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
            } else if c == UInt8(ascii: "$") {
                var j = i + 1, n = 0
                while j < bytes.count, bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9") {
                    n = n * 10 + Int(bytes[j] - UInt8(ascii: "0"))
                    j += 1
                }
                if j > i + 1 { highest = max(highest, n) }
                i = j
                continue
            }
            i += 1
        }
        return highest
    }

    private func check(_ result: OpaquePointer) throws(StoreError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let sqlstate = lamba_pq_sqlstate(result).map { String(cString: $0) }
            let message = lamba_pq_primary_message(result).map { String(cString: $0) } ?? Self.message(PQresultErrorMessage(result))
            let constraint = lamba_pq_constraint(result).map { String(cString: $0) }
            throw Self.error(sqlstate: sqlstate, message: message, constraint: constraint, connectionBroken: !isUsable)
        }
    }

    private func lostOrOutOfMemory() -> StoreError {
        isUsable ? .database(message: "out of memory", sqlstate: nil) : .connectionLost(reason: Self.message(PQerrorMessage(handle)))
    }

    static func error(sqlstate: String?, message: String, constraint: String?, connectionBroken: Bool) -> StoreError {
        switch sqlstate {
        case "23505": return .uniqueViolation(constraint: constraint)
        case "23503": return .foreignKeyViolation(constraint: constraint)
        case "40001", "40P01": return .serializationFailure
        // insufficient_resources (53100 disk_full, 53200 out_of_memory, 53300 too_many_connections):
        // the transaction failed whole and may succeed later.
        case let state? where state.hasPrefix("53"): return .resourcesExhausted(reason: message)
        // admin_shutdown, crash_shutdown, cannot_connect_now, and class 08 (connection exception).
        case "57P01", "57P02", "57P03": return .connectionLost(reason: message)
        case let state? where state.hasPrefix("08"): return .connectionLost(reason: message)
        case nil where connectionBroken: return .connectionLost(reason: message)
        default: return .database(message: message, sqlstate: sqlstate)
        }
    }

    private static func value(_ result: OpaquePointer, _ row: Int32, _ column: Int32, type: Oid) -> SQLValue {
        if PQgetisnull(result, row, column) == 1 { return .null }
        let length = Int(PQgetlength(result, row, column))
        let raw = PQgetvalue(result, row, column)!
        let text = raw.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
        switch type {
        case 16: return .bool(text == "t")
        case 20, 21, 23, 26: return Int64(text).map(SQLValue.integer) ?? .text(text)
        case 700, 701: return Self.double(text).map(SQLValue.real) ?? .text(text)
        // numeric (SUM of bigints, for one) reads as an integer when it is one, like on SQLite.
        case 1700: return Int64(text).map(SQLValue.integer) ?? Double(text).map(SQLValue.real) ?? .text(text)
        case 17: return Self.bytea(text).map(SQLValue.blob) ?? .text(text)
        default: return .text(text)
        }
    }

    private static func text(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return "\(value)"
    }

    private static func double(_ text: String) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(text)
        }
    }

    // bytea's text output is `\x` and hex digits (bytea_output = hex, the default since 9.0).
    private static func bytea(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            guard let high = hex(utf8[i]), let low = hex(utf8[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
            i += 2
        }
        return bytes
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }
}

// libpq takes NULL-terminated arrays of C strings.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers = duplicates.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
