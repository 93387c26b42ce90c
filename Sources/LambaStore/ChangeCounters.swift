public import LambaModel

/// How many times each cached kind of record has been changed in this database, by any process:
/// the one-row-per-table `change_counters`, moved by every write that touches such a table.
///
/// `TableVersions` hears of this process's commits at once and of other processes' through the
/// store's change channel (PostgreSQL `LISTEN/NOTIFY`, SQLite's `data_version` poll), but a
/// notification can arrive after the writer's answer, and a client that then calls another
/// process would be served from its cache (docs/deployment.md#caches). Reading the counters before
/// a request's first cached read closes that window: a writer moves them before it answers.
public enum ChangeCounters {
    static let migration = Migration(version: 70, name: "change counters", sql: """
        CREATE TABLE change_counters (
            table_name TEXT PRIMARY KEY,
            version BIGINT NOT NULL
        );
        """)

    /// The tables whose changes retire cache entries (`RecordKind`); writes to others are not counted.
    public static let counted: Set<String> = Set(RecordKind.allCases.flatMap(\.tables))

    /// The counted tables among `written` (`"*"`: a write whose tables are unknown, so all of them).
    public static func tables(in written: Set<String>) -> [String] {
        (written.contains("*") ? counted : written.intersection(counted)).sorted()
    }

    /// One statement that moves the counters of `tables` and returns their new values.
    public static func increment(_ tables: [String]) -> (SQL, [SQLValue]) {
        let rows = (1...tables.count).map { "($\($0), 1)" }.joined(separator: ", ")
        let sql = "INSERT INTO change_counters (table_name, version) VALUES " + rows
            + " ON CONFLICT (table_name) DO UPDATE SET version = change_counters.version + 1 RETURNING table_name, version"
        return (SQL(trusted: sql), tables.map { .text($0) })
    }

    public static let read: SQL = "SELECT table_name, version FROM change_counters"

    public static func counters(_ rows: [Row]) throws -> [String: Int64] {
        var counters: [String: Int64] = [:]
        for row in rows { counters[try row.string("table_name")] = try row.int64("version") }
        return counters
    }
}
