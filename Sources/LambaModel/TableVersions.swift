import Synchronization

/// How often each table of one database has changed, as far as this process knows: a store bumps
/// a table's version after a write transaction that changed it commits, and before the writer
/// hears of the commit. Another process's changes arrive through the store's own channel
/// (PostgreSQL `LISTEN/NOTIFY`, SQLite's `data_version`), which bumps every table it names, or all.
///
/// Caches key their entries by a stamp taken *before* the read that filled them; an entry is good
/// while the stamp of its tables is unchanged, so a change committed during the read also
/// invalidates it (DESIGN.md "Scale": nothing that decides access lives only in a cache).
public final class TableVersions: Sendable {
    private struct State {
        var tables: [String: UInt64] = [:]
        /// Bumped by `bumpAll`: a change whose tables are not known.
        var everything: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// A value that changes whenever any of `tables` changes (versions only grow, so their sum does).
    public func stamp(_ tables: [String]) -> UInt64 {
        state.withLock { state in
            tables.reduce(state.everything) { $0 &+ (state.tables[$1] ?? 0) }
        }
    }

    public func bump<Tables: Sequence<String>>(_ tables: Tables) {
        state.withLock { state in
            for table in tables { state.tables[table, default: 0] &+= 1 }
        }
    }

    /// Every table may have changed (a migration, another process's write of unknown tables).
    public func bumpAll() {
        state.withLock { $0.everything &+= 1 }
    }

    /// The table a data-changing statement writes (`INSERT [OR …] INTO t`, `UPDATE t`,
    /// `DELETE FROM t`); nil for reads. A statement this cannot read yields `"*"`: treat as all.
    public static func writtenTable(_ sql: String) -> String? {
        var words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }).makeIterator()
        guard let first = words.next()?.uppercased() else { return nil }
        switch first {
        case "SELECT", "VALUES": return nil
        case "UPDATE":
            while let word = words.next() {
                if word.uppercased() != "OR", !["ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"].contains(word.uppercased()) {
                    return name(word)
                }
            }
            return "*"
        case "INSERT", "REPLACE", "DELETE":
            while let word = words.next() {
                let upper = word.uppercased()
                if upper == "INTO" || upper == "FROM" { return words.next().map(name) ?? "*" }
            }
            return "*"
        default:
            return "*"
        }
    }

    private static func name(_ word: Substring) -> String {
        String(word.filter { $0 != "\"" }).lowercased()
    }
}
