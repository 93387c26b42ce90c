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

    private static let updateConflictWords: [StaticString] = ["OR", "ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"]

    /// The table a data-changing statement writes (`INSERT [OR …] INTO t`, `UPDATE t`,
    /// `DELETE FROM t`); nil for reads. A statement this cannot read yields `"*"`: treat as all.
    public static func writtenTable(_ sql: String) -> String? {
        // Runs on every statement of every write transaction: scan bytes, stop at the table name,
        // allocate only that name.
        var words = SQLWords(sql.utf8)
        guard let first = words.next() else { return nil }
        if words.is(first, "SELECT") || words.is(first, "VALUES") { return nil }
        if words.is(first, "UPDATE") {
            while let word = words.next() {
                if !updateConflictWords.contains(where: { words.is(word, $0) }) {
                    return words.name(word)
                }
            }
            return "*"
        }
        if words.is(first, "INSERT") || words.is(first, "REPLACE") || words.is(first, "DELETE") {
            while let word = words.next() {
                if words.is(word, "INTO") || words.is(word, "FROM") { return words.next().map(words.name) ?? "*" }
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

    /// Whether `word` is `keyword` (upper-case ASCII), ignoring case.
    func `is`(_ word: Range<String.UTF8View.Index>, _ keyword: StaticString) -> Bool {
        guard bytes.distance(from: word.lowerBound, to: word.upperBound) == keyword.utf8CodeUnitCount else { return false }
        var position = word.lowerBound
        for expected in UnsafeBufferPointer(start: keyword.utf8Start, count: keyword.utf8CodeUnitCount) {
            let byte = bytes[position]
            let upper = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
            guard upper == expected else { return false }
            bytes.formIndex(after: &position)
        }
        return true
    }

    /// A table name as versions key it: quotes dropped, lower-cased.
    func name(_ word: Range<String.UTF8View.Index>) -> String {
        String(decoding: bytes[word].filter { $0 != UInt8(ascii: "\"") }, as: UTF8.self).lowercased()
    }
}
