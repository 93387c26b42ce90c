import LambaJOSE
import LambaASCII
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
        /// The database's change counters as last seen (`observe`, `record`).
        var counters: [String: Int64] = [:]
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

    /// The database's per-table change counters, read now: bumps each table whose counter moved
    /// past what was last seen (another process's commit, whatever its notification's fate), and
    /// each table seen for the first time.
    public func observe(_ counters: [String: Int64]) {
        state.withLock { state in
            for (table, counter) in counters where counter > state.counters[table] ?? -1 {
                state.counters[table] = counter
                state.tables[table, default: 0] &+= 1
            }
        }
    }

    /// Counters this process's own commit moved, already bumped when it committed: remembered so
    /// that `observe` does not bump them again.
    public func record(_ counters: [String: Int64]) {
        state.withLock { state in
            for (table, counter) in counters where counter > state.counters[table] ?? -1 { state.counters[table] = counter }
        }
    }

    private static let updateConflictWords: [StaticString] = ["or", "rollback", "abort", "replace", "fail", "ignore"]

    /// The table a data-changing statement writes (`INSERT [OR …] INTO t`, `UPDATE t`,
    /// `DELETE FROM t`); nil for reads. A statement this cannot read yields `"*"`: treat as all.
    public static func writtenTable(_ sql: String) -> String? {
        // Runs on every statement of every write transaction: scan bytes, stop at the table name,
        // allocate only that name.
        var words = SQLWords(sql.utf8)
        guard let first = words.next() else { return nil }
        if words.is(first, "select") || words.is(first, "values") { return nil }
        if words.is(first, "update") {
            while let word = words.next() {
                if !updateConflictWords.contains(where: { words.is(word, $0) }) {
                    return words.name(word)
                }
            }
            return "*"
        }
        if words.is(first, "insert") || words.is(first, "replace") || words.is(first, "delete") {
            while let word = words.next() {
                if words.is(word, "into") || words.is(word, "from") { return words.next().map(words.name) ?? "*" }
            }
            return "*"
        }
        return "*"
    }
}

/// The words of a statement, separated by spaces, newlines, tabs and `(`, as byte ranges.
private struct SQLWords {
    let bytes: String.UTF8View
    var index: String.UTF8View.Index

    init(_ bytes: String.UTF8View) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    private static func separates(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "(")
    }

    mutating func next() -> Range<String.UTF8View.Index>? {
        while index < bytes.endIndex, Self.separates(bytes[index]) { bytes.formIndex(after: &index) }
        guard index < bytes.endIndex else { return nil }
        let start = index
        while index < bytes.endIndex, !Self.separates(bytes[index]) { bytes.formIndex(after: &index) }
        return start..<index
    }

    /// Whether `word` is `keyword` (lower-case ASCII), ignoring case.
    func `is`(_ word: Range<String.UTF8View.Index>, _ keyword: StaticString) -> Bool {
        bytes[word].equalsIgnoringASCIICase(keyword)
    }

    /// A table name as versions key it: quotes dropped, lower-cased.
    func name(_ word: Range<String.UTF8View.Index>) -> String {
        String(decoding: bytes[word].filter { $0 != UInt8(ascii: "\"") }, as: UTF8.self).lowercased()
    }
}

/// The records a cache depends on, in the domain's words. The table names behind each kind are
/// written here once, next to the parser that reads them out of SQL; caches never name tables.
public enum RecordKind: String, Sendable, CaseIterable {
    case users
    case workspaces
    case projects
    case environmentSettings
    case projectMembers
    case projectRoles
    case clients
    case identitySessions
    case runtimeScopes
    case signingKeys
    case revokedAccessTokens

    /// The tables that hold this kind of record.
    public var tables: [String] {
        switch self {
        case .users: ["users"]
        case .workspaces: ["workspaces"]
        case .projects: ["projects"]
        case .environmentSettings: ["environment_settings"]
        case .projectMembers: ["project_members"]
        case .projectRoles: ["project_roles"]
        case .clients: ["oauth_clients"]
        case .identitySessions: ["identity_sessions"]
        case .runtimeScopes: ["runtime_scopes"]
        case .signingKeys: ["signing_keys"]
        case .revokedAccessTokens: ["revoked_access_tokens"]
        }
    }
}

