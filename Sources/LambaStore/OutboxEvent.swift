public import Foundation

/// A lifecycle fact, written to the `events` outbox table in the same transaction as the change it
/// describes. Events are immutable: the database refuses updates to them.
///
/// `data` is JSON text whose bytes are fixed when the event is written, so every webhook delivery
/// and replay sends the identical payload.
public struct OutboxEvent: Sendable, Hashable {
    public var id: String
    public var type: String
    public var actor: String?
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
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.sessionID = sessionID
        // Stored at millisecond precision; truncate here so the value reads back equal.
        self.occurredAt = Date(timeIntervalSince1970: (occurredAt.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
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

    init(row: Row) throws {
        guard let occurredAt = OutboxEvent.parseTimestamp(try row.string("occurred_at")) else {
            throw StoreError.typeMismatch(column: "occurred_at", expected: "RFC 3339 timestamp", actual: "text")
        }
        try self.init(
            id: row.string("id"), type: row.string("type"), actor: row.optionalString("actor"),
            workspaceID: row.optionalString("workspace_id"), projectID: row.optionalString("project_id"),
            environment: row.optionalString("environment"), sessionID: row.optionalString("session_id"),
            occurredAt: occurredAt, data: row.string("data")
        )
    }

    // Fixed-width UTC with milliseconds, so text order is time order on both databases.
    static func formatTimestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    static func parseTimestamp(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text)
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
            INSERT INTO events (id, type, actor, workspace_id, project_id, environment, session_id, occurred_at, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [
                .text(event.id), .text(event.type), SQLValue(event.actor), SQLValue(event.workspaceID),
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
            """
            SELECT seq, id, type, actor, workspace_id, project_id, environment, session_id, occurred_at, data
            FROM events WHERE seq > $1 ORDER BY seq LIMIT $2
            """,
            [.integer(sequence), SQLValue(limit)]
        ).map { StoredEvent(sequence: try $0.int64("seq"), event: try OutboxEvent(row: $0)) }
    }
}
