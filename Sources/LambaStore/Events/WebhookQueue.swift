public import Foundation
import LambaJOSE
public import LambaModel

/// A delivery claimed by a dispatcher: everything needed to send it, read in the claim transaction.
public struct WebhookJob: Sendable, Hashable {
    public let deliveryID: String
    public let endpointID: String
    public let workspaceID: String
    public let projectID: String
    public let environment: LambaModel.Environment
    public let url: String
    public let secretSealed: String
    public let previousSecretSealed: String?
    public let previousSecretExpiresAt: Date?
    public let allowPrivateTargets: Bool
    /// 1 for the first try; counted at claim, so a process that dies mid-request still used one.
    public let attempt: Int
    public let deliveryCreatedAt: Date
    public let eventID: String
    public let eventSeq: Int64
    /// The request body, built from the immutable event row only.
    public let body: [UInt8]
}

/// What one attempt did, and what follows from it.
public struct WebhookAttemptOutcome: Sendable {
    public var record: WebhookAttemptRecord
    /// When to try again after a failure; nil ends the delivery as `failed_permanently`.
    public var retryAt: Date?

    public init(record: WebhookAttemptRecord, retryAt: Date?) {
        self.record = record
        self.retryAt = retryAt
    }
}

extension WebhookPayload {
    /// The body of a claimed delivery's event, from the columns of the claim query.
    static func body(row: Row) throws -> [UInt8] {
        body(type: try row.string("type"), occurredAt: try row.string("occurred_at"), eventID: try row.string("event_id"),
             actor: try row.optionalString("actor"), workspaceID: try row.optionalString("event_workspace_id"),
             projectID: try row.optionalString("event_project_id"), environment: try row.optionalString("event_environment"),
             sessionID: try row.optionalString("session_id"), data: try row.string("data"))
    }
}

extension StoreTransaction {
    /// Turns outbox events after the dispatch cursor into deliveries for the enabled endpoints of
    /// their Project environment, and moves the cursor, in this one transaction. Returns how many
    /// events it consumed. Events without an environment (Project-wide facts such as membership)
    /// go to the endpoints of both environments; events without a Project go to none.
    public func fanOutWebhookDeliveries(limit: Int, now: Date) throws -> Int {
        let cursorSQL: SQL = dialect == .postgres
            ? "SELECT last_seq FROM webhook_dispatch_cursor WHERE name = 'outbox' FOR UPDATE"
            : "SELECT last_seq FROM webhook_dispatch_cursor WHERE name = 'outbox'"
        let cursor = try queryOne(cursorSQL).int64("last_seq")
        let rows = try query(
            "SELECT seq, id, type, project_id, environment, occurred_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            [.integer(cursor), SQLValue(limit)])
        var consumed: [Row] = []
        var previous = cursor
        for row in rows {
            let seq = try row.int64("seq")
            // On PostgreSQL a lower sequence number can commit after a higher one; a gap may be a
            // transaction still running. Wait for it unless the next event is old enough that the
            // gap can only be a rollback.
            if dialect == .postgres, seq != previous + 1,
               let occurred = OutboxEvent.parseTimestamp(try row.string("occurred_at")), now.timeIntervalSince(occurred) < 30 {
                break
            }
            consumed.append(row)
            previous = seq
        }
        guard let last = consumed.last else { return 0 }
        var endpointsByProject: [String: [WebhookEndpointRecord]] = [:]
        for row in consumed {
            guard let projectID = try row.optionalString("project_id") else { continue }
            let endpoints: [WebhookEndpointRecord]
            if let cached = endpointsByProject[projectID] {
                endpoints = cached
            } else {
                endpoints = try query(
                    "SELECT * FROM webhook_endpoints WHERE project_id = $1 AND status = 'enabled' AND deleted_at IS NULL",
                    [.text(projectID)]).map(WebhookEndpointRecord.init(row:))
                endpointsByProject[projectID] = endpoints
            }
            let seq = try row.int64("seq"), type = try row.string("type"), environment = try row.optionalString("environment")
            for endpoint in endpoints where endpoint.receives(eventSeq: seq, type: type, environment: environment) {
                try enqueueWebhookDelivery(endpoint: endpoint, eventSeq: seq, eventID: try row.string("id"), eventType: type, replay: false, at: now)
            }
        }
        try execute("UPDATE webhook_dispatch_cursor SET last_seq = $1 WHERE name = 'outbox'", [.integer(try last.int64("seq"))])
        return consumed.count
    }

    /// Claims up to `limit` due deliveries (and those whose holder's lease ran out), never more per
    /// endpoint than its `max_concurrency` minus what is in flight there already, and leases them
    /// until `now + lease`. On PostgreSQL rows locked by another dispatcher are skipped.
    public func claimWebhookDeliveries(limit: Int, now: Date, lease: TimeInterval) throws -> [WebhookJob] {
        let select = """
            SELECT d.id AS delivery_id, d.endpoint_id, d.attempts, d.created_at AS delivery_created_at, d.event_seq, d.event_id,
                e.workspace_id, e.project_id, e.environment AS endpoint_environment, e.url, e.secret_sealed, e.previous_secret_sealed,
                e.previous_secret_expires_at, e.max_concurrency, COALESCE(s.allow_private_targets, FALSE) AS allow_private_targets,
                (SELECT COUNT(*) FROM webhook_deliveries f WHERE f.endpoint_id = d.endpoint_id AND f.state = 'in_flight'
                    AND f.claimed_until >= $1) AS in_flight,
                ev.type, ev.occurred_at, ev.actor, ev.workspace_id AS event_workspace_id, ev.project_id AS event_project_id,
                ev.environment AS event_environment, ev.session_id, ev.data
            FROM webhook_deliveries d
            JOIN webhook_endpoints e ON e.id = d.endpoint_id
            JOIN events ev ON ev.seq = d.event_seq
            LEFT JOIN webhook_settings s ON s.project_id = e.project_id AND s.environment = e.environment
            WHERE ((d.state = 'pending' AND d.next_attempt_at <= $1) OR (d.state = 'in_flight' AND d.claimed_until < $1))
                AND e.status = 'enabled' AND e.deleted_at IS NULL
                AND (SELECT COUNT(*) FROM webhook_deliveries g WHERE g.endpoint_id = d.endpoint_id AND g.state = 'in_flight'
                    AND g.claimed_until >= $1) < e.max_concurrency
            ORDER BY d.next_attempt_at
            LIMIT $2
            """
        let sql = SQL(trusted: dialect == .postgres ? select + " FOR UPDATE OF d SKIP LOCKED" : select)
        let rows = try query(sql, [SQLValue(now), SQLValue(limit)])
        var slots: [String: Int] = [:]
        var jobs: [WebhookJob] = []
        let leaseEnd = now.addingTimeInterval(lease)
        for row in rows {
            let endpointID = try row.string("endpoint_id")
            let capacity = try row.int("max_concurrency") - row.int("in_flight")
            let free = slots[endpointID] ?? capacity
            guard free > 0 else { continue }
            slots[endpointID] = free - 1
            let deliveryID = try row.string("delivery_id")
            let attempt = try row.int("attempts") + 1
            try execute("UPDATE webhook_deliveries SET state = 'in_flight', attempts = $2, claimed_until = $3 WHERE id = $1",
                        [.text(deliveryID), SQLValue(attempt), SQLValue(leaseEnd)])
            let environment: LambaModel.Environment = try row.enumeration("endpoint_environment")
            let allowsPrivate = try row.bool("allow_private_targets")
            jobs.append(WebhookJob(
                deliveryID: deliveryID, endpointID: endpointID, workspaceID: try row.string("workspace_id"),
                projectID: try row.string("project_id"), environment: environment, url: try row.string("url"),
                secretSealed: try row.string("secret_sealed"), previousSecretSealed: try row.optionalString("previous_secret_sealed"),
                previousSecretExpiresAt: try row.optionalDate("previous_secret_expires_at"),
                allowPrivateTargets: WebhookTargetGuard.privateTargetsPermitted(in: environment) && allowsPrivate,
                attempt: attempt, deliveryCreatedAt: try row.date("delivery_created_at"), eventID: try row.string("event_id"),
                eventSeq: try row.int64("event_seq"), body: try WebhookPayload.body(row: row)))
        }
        return jobs
    }

    /// Records one attempt of a claimed delivery and settles it: succeeded, pending again at
    /// `retryAt`, or failed permanently. Keeps the endpoint's failure streak and disables it (with
    /// a `webhook_endpoint.disabled` event) when `policy` says so (`WebhookDisablePolicy.apply`,
    /// docs/events.md#disable-after-failures). Returns true when it disabled it.
    /// An attempt whose lease was taken over by another dispatcher is still logged, and settles
    /// nothing the other dispatcher now owns.
    @discardableResult
    public func completeWebhookDelivery(_ job: WebhookJob, outcome: WebhookAttemptOutcome, policy: WebhookDisablePolicy, now: Date) throws -> Bool {
        let record = outcome.record
        try execute(
            """
            INSERT INTO webhook_delivery_attempts (id, delivery_id, endpoint_id, workspace_id, project_id, attempt, attempted_at,
                status_code, latency_ms, response_excerpt, error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            """,
            [.text(WebhookID.generate(WebhookID.attempt)), .text(job.deliveryID), .text(job.endpointID), .text(job.workspaceID),
             .text(job.projectID), SQLValue(record.attempt), SQLValue(record.attemptedAt), record.statusCode.map { SQLValue($0) } ?? .null,
             .integer(record.latencyMilliseconds), SQLValue(record.responseExcerpt), SQLValue(record.error)])
        let succeeded = record.succeeded
        let state: WebhookDeliveryRecord.State = succeeded ? .succeeded : (outcome.retryAt == nil ? .failedPermanently : .pending)
        let settled = try execute(
            """
            UPDATE webhook_deliveries SET state = $2, next_attempt_at = $3, claimed_until = NULL, completed_at = $4, last_error = $5
            WHERE id = $1 AND state = 'in_flight' AND attempts = $6
            """,
            [.text(job.deliveryID), .text(state.rawValue), SQLValue(outcome.retryAt ?? now), state == .pending ? .null : SQLValue(now),
             succeeded ? .null : SQLValue(record.error ?? record.statusCode.map { "HTTP \($0)" }), SQLValue(job.attempt)])
        guard settled == 1,
              var endpoint = try query("SELECT * FROM webhook_endpoints WHERE id = $1", [.text(job.endpointID)]).first.map(WebhookEndpointRecord.init(row:))
        else { return false }
        switch policy.apply(to: &endpoint, succeeded: succeeded, deliveryFailedPermanently: state == .failedPermanently,
                            attemptedAt: record.attemptedAt, now: now) {
        case .unchanged:
            return false
        case .recovered:
            try execute("UPDATE webhook_endpoints SET failure_streak = 0, failing_since = NULL WHERE id = $1", [.text(endpoint.id)])
            return false
        case .failing:
            try saveFailureStreak(endpoint)
            return false
        case .disable(let reason):
            try saveFailureStreak(endpoint)
            try execute("UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, updated_at = $3 WHERE id = $1",
                        [.text(endpoint.id), .text(reason), SQLValue(now)])
            try SQLIdentityRecords(reader: self, transaction: self).append(endpoint.disabledEvent(reason: reason, at: now))
            return true
        }
    }

    private func saveFailureStreak(_ endpoint: WebhookEndpointRecord) throws {
        try execute("UPDATE webhook_endpoints SET failure_streak = $2, failing_since = $3 WHERE id = $1",
                    [.text(endpoint.id), SQLValue(endpoint.failureStreak), SQLValue(endpoint.failingSince)])
    }
}

/// Filters of the audit log; every query is scoped to one Workspace.
public struct AuditQuery: Sendable {
    public var workspaceID: String
    public var projectID: String?
    /// Only these Projects' events: for a caller whose audit reading reaches some Projects only.
    public var projectIDs: [String]?
    public var environment: LambaModel.Environment?
    public var actor: String?
    /// `user`, `api_key` or `system`.
    public var actorType: String?
    public var consoleSessionID: String?
    public var type: String?
    public var since: Date?
    public var until: Date?
    /// Newest first: the page holds events with a sequence below this.
    public var before: Int64?
    public var limit: Int

    public init(workspaceID: String, projectID: String? = nil, environment: LambaModel.Environment? = nil, actor: String? = nil,
                type: String? = nil, since: Date? = nil, until: Date? = nil, before: Int64? = nil, limit: Int = 50) {
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.actor = actor
        self.type = type
        self.since = since
        self.until = until
        self.before = before
        self.limit = limit
    }
}

extension StoreReader {
    /// Events matching `conditions` in sequence order, at most `limit`.
    private func events(where conditions: SQLConditions, newestFirst: Bool, limit: Int) throws -> [StoredEvent] {
        var conditions = conditions
        let limit = conditions.parameter(SQLValue(limit))
        let sql = "SELECT \(OutboxEvent.columns) FROM events WHERE "
            + conditions.sql + " ORDER BY seq" + (newestFirst ? " DESC" : "") + " LIMIT " + limit
        return try query(SQL(trusted: sql), conditions.parameters).map { StoredEvent(sequence: try $0.int64("seq"), event: try OutboxEvent(row: $0)) }
    }

    /// Audit events matching `filter`, newest first. `since` is inclusive, `until` exclusive.
    public func auditEvents(_ filter: AuditQuery) throws -> [StoredEvent] {
        var conditions = SQLConditions()
        conditions.add("workspace_id = ?", .text(filter.workspaceID))
        conditions.add("project_id = ?", ifSet: SQLValue(filter.projectID))
        if let projects = filter.projectIDs { conditions.add("project_id", in: projects.map(SQLValue.text)) }
        conditions.add("environment = ?", ifSet: SQLValue(filter.environment?.rawValue))
        conditions.add("actor = ?", ifSet: SQLValue(filter.actor))
        conditions.add("actor_type = ?", ifSet: SQLValue(filter.actorType))
        conditions.add("console_session_id = ?", ifSet: SQLValue(filter.consoleSessionID))
        conditions.add("type = ?", ifSet: SQLValue(filter.type))
        conditions.add("occurred_at >= ?", ifSet: SQLValue(filter.since.map(OutboxEvent.formatTimestamp)))
        conditions.add("occurred_at < ?", ifSet: SQLValue(filter.until.map(OutboxEvent.formatTimestamp)))
        conditions.add("seq < ?", ifSet: filter.before.map { SQLValue.integer($0) } ?? .null)
        return try events(where: conditions, newestFirst: true, limit: filter.limit)
    }

    /// Events of one Workspace (optionally one Project, or only some) after `sequence`, oldest first: the event stream.
    public func workspaceEvents(workspaceID: String, projectID: String?, projectIDs: [String]? = nil, after sequence: Int64,
                                limit: Int) throws -> [StoredEvent] {
        var conditions = SQLConditions()
        conditions.add("workspace_id = ?", .text(workspaceID))
        conditions.add("project_id = ?", ifSet: SQLValue(projectID))
        if let projectIDs { conditions.add("project_id", in: projectIDs.map(SQLValue.text)) }
        conditions.add("seq > ?", .integer(sequence))
        return try events(where: conditions, newestFirst: false, limit: limit)
    }

    /// Events of one Project environment (and its environment-less Project events) for a replay:
    /// one event by id, or those that occurred in [since, until).
    public func replayableEvents(projectID: String, environment: LambaModel.Environment, eventID: String?, since: Date?, until: Date?,
                                 limit: Int) throws -> [StoredEvent] {
        var conditions = SQLConditions()
        conditions.add("project_id = ?", .text(projectID))
        conditions.add("(environment IS NULL OR environment = ?)", .text(environment.rawValue))
        conditions.add("id = ?", ifSet: SQLValue(eventID))
        conditions.add("occurred_at >= ?", ifSet: SQLValue(since.map(OutboxEvent.formatTimestamp)))
        conditions.add("occurred_at < ?", ifSet: SQLValue(until.map(OutboxEvent.formatTimestamp)))
        return try events(where: conditions, newestFirst: false, limit: limit)
    }
}
