public import Foundation

/// A lifecycle fact, written to the `events` outbox table in the same transaction as the change it
/// describes (docs/events.md#same-transaction). Events are immutable: the database refuses updates
/// to them (docs/events.md#immutable).
///
/// `data` is JSON text whose bytes are fixed when the event is written, so every webhook delivery
/// and replay sends the identical payload.
public struct OutboxEvent: Sendable, Hashable {
    public var id: String
    public var type: String
    public var actor: String?
    /// `user`, `api_key` or `system` (docs/events.md#attribution).
    public var actorType: String?
    /// The console session a person acted through.
    public var consoleSessionID: String?
    /// For an API key actor: who created the key.
    public var actorCreatedBy: String?
    public var workspaceID: String?
    public var projectID: String?
    /// `sandbox` or `production`.
    public var environment: String?
    public var sessionID: String?
    public var occurredAt: Date
    public var data: String

    /// - Throws: `OutboxEventError.invalidJSON` when `data` is not JSON text.
    public init(
        id: String = UUID().uuidString.lowercased(),
        type: String,
        actor: String? = nil,
        actorType: String? = nil,
        consoleSessionID: String? = nil,
        actorCreatedBy: String? = nil,
        workspaceID: String? = nil,
        projectID: String? = nil,
        environment: String? = nil,
        sessionID: String? = nil,
        occurredAt: Date = Date(),
        data: String
    ) throws(OutboxEventError) {
        guard (try? JSONSerialization.jsonObject(with: Data(data.utf8), options: .fragmentsAllowed)) != nil else {
            throw .invalidJSON
        }
        self.id = id
        self.type = type
        self.actor = actor
        self.actorType = actorType
        self.consoleSessionID = consoleSessionID
        self.actorCreatedBy = actorCreatedBy
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.sessionID = sessionID
        // Stored as millisecond text; pass through that form now so the value reads back equal.
        self.occurredAt = OutboxEvent.parseTimestamp(OutboxEvent.formatTimestamp(occurredAt)) ?? occurredAt
        self.data = data
    }

    /// Encodes `payload` once, with sorted keys, so the stored bytes do not depend on dictionary order.
    public init(
        type: String, actor: String? = nil, workspaceID: String? = nil, projectID: String? = nil,
        environment: String? = nil, sessionID: String? = nil, occurredAt: Date = Date(), payload: some Encodable
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try self.init(
            type: type, actor: actor, workspaceID: workspaceID, projectID: projectID, environment: environment,
            sessionID: sessionID, occurredAt: occurredAt, data: String(decoding: encoder.encode(payload), as: UTF8.self)
        )
    }

    /// The columns `init(row:)` reads, in the order every event query selects them.
    static let columns = "seq, id, type, actor, actor_type, console_session_id, actor_created_by, workspace_id, project_id, environment, session_id, occurred_at, data"

    init(row: Row) throws {
        guard let occurredAt = OutboxEvent.parseTimestamp(try row.string("occurred_at")) else {
            throw StoreError.typeMismatch(column: "occurred_at", expected: "RFC 3339 timestamp", actual: "text")
        }
        try self.init(
            id: row.string("id"), type: row.string("type"), actor: row.optionalString("actor"),
            actorType: row.optionalString("actor_type"), consoleSessionID: row.optionalString("console_session_id"),
            actorCreatedBy: row.optionalString("actor_created_by"), workspaceID: row.optionalString("workspace_id"), projectID: row.optionalString("project_id"),
            environment: row.optionalString("environment"), sessionID: row.optionalString("session_id"),
            occurredAt: occurredAt, data: row.string("data")
        )
    }

    // Fixed-width UTC with milliseconds (`2026-01-02T03:04:05.678Z`), so text order is time order
    // on both databases. Whole milliseconds both ways, so a date survives the round trip exactly.
    static func formatTimestamp(_ date: Date) -> String {
        let milliseconds = SQLValue.epochMilliseconds(date, rounding: .toNearestOrAwayFromZero)
        var seconds = time_t(milliseconds.quotientAndRemainder(dividingBy: 1000).quotient)
        var fraction = milliseconds % 1000
        if fraction < 0 { fraction += 1000; seconds -= 1 }
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: some BinaryInteger, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(fraction, 3))Z"
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let fields = text.split(whereSeparator: { "-T:.Z".contains($0) }).map { Int($0) }
        guard text.utf8.count == 24, text.hasSuffix("Z"), fields.count == 7, fields.allSatisfy({ $0 != nil }) else { return nil }
        let f = fields.map { $0! }
        var parts = tm()
        parts.tm_year = Int32(f[0] - 1900)
        parts.tm_mon = Int32(f[1] - 1)
        parts.tm_mday = Int32(f[2])
        parts.tm_hour = Int32(f[3])
        parts.tm_min = Int32(f[4])
        parts.tm_sec = Int32(f[5])
        let seconds = Int64(timegm(&parts))
        return Date(timeIntervalSince1970: Double(seconds * 1000 + Int64(f[6])) / 1000)
    }
}

public enum OutboxEventError: Error, Sendable, Equatable {
    case invalidJSON
}

/// An event read back from the outbox, with its position in the table.
public struct StoredEvent: Sendable, Hashable {
    /// Increases with every append; consumers remember the last one they handled.
    public let sequence: Int64
    public let event: OutboxEvent
}

extension StoreTransaction {
    /// Appends `event` to the outbox in this transaction: it commits or rolls back with the change.
    /// - Throws: `StoreError.uniqueViolation` when an event with the same id exists.
    public func appendEvent(_ event: OutboxEvent) throws {
        try execute(
            """
            INSERT INTO events (id, type, actor, actor_type, console_session_id, actor_created_by, workspace_id, project_id,
                                environment, session_id, occurred_at, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            [
                .text(event.id), .text(event.type), SQLValue(event.actor), SQLValue(event.actorType), SQLValue(event.consoleSessionID),
                SQLValue(event.actorCreatedBy), SQLValue(event.workspaceID),
                SQLValue(event.projectID), SQLValue(event.environment), SQLValue(event.sessionID),
                .text(OutboxEvent.formatTimestamp(event.occurredAt)), .text(event.data),
            ]
        )
    }
}

extension StoreReader {
    /// Events after `sequence`, oldest first.
    public func events(after sequence: Int64 = 0, limit: Int = 100) throws -> [StoredEvent] {
        try query(
            SQL(trusted: "SELECT \(OutboxEvent.columns) FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"),
            [.integer(sequence), SQLValue(limit)]
        ).map { StoredEvent(sequence: try $0.int64("seq"), event: try OutboxEvent(row: $0)) }
    }
}
