/// A WHERE clause assembled from constant pieces, holding only the filters a caller set.
///
/// The optional-filter idiom `($2 IS NULL OR project_id = $2)` leaves PostgreSQL unable to type `$2`
/// (error 42P08); here every parameter appears only in a comparison with its column, on both dialects,
/// and an unset filter costs the planner nothing.
struct SQLConditions {
    private var clauses: [String] = []
    private(set) var parameters: [SQLValue] = []

    /// Adds `clause`, whose `?` marks are the next parameters, in order, bound to `values`.
    mutating func add(_ clause: StaticString, _ values: SQLValue...) {
        var text = ""
        var remaining = values[...]
        for character in clause.description {
            if character == "?", let value = remaining.popFirst() {
                parameters.append(value)
                text += "$\(parameters.count)"
            } else {
                text.append(character)
            }
        }
        precondition(remaining.isEmpty, "more values than ? marks in \(clause)")
        clauses.append(text)
    }

    /// Adds `clause` only when `value` is set.
    mutating func add(_ clause: StaticString, ifSet value: SQLValue) {
        if value != .null { add(clause, value) }
    }

    /// `column IN (…)` over `values`; an empty list matches nothing.
    mutating func add(_ column: StaticString, in values: [SQLValue]) {
        guard !values.isEmpty else { clauses.append("1 = 0"); return }
        let marks = values.map { parameter($0) }.joined(separator: ", ")
        clauses.append("\(column) IN (\(marks))")
    }

    /// A placeholder for one more parameter (a LIMIT, say).
    mutating func parameter(_ value: SQLValue) -> String {
        parameters.append(value)
        return "$\(parameters.count)"
    }

    /// `clause AND clause …`, or an always-true comparison when there is none.
    var sql: String { clauses.isEmpty ? "1 = 1" : clauses.joined(separator: " AND ") }
}
