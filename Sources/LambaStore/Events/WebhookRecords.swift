public import Foundation
public import LambaModel

/// Rows of webhook endpoints, settings and deliveries; the types and their rules are the domain's
/// (`LambaModel/Events`).
extension StoreReader {
    public func webhookEndpoint(id: String, workspaceID: String) throws -> WebhookEndpointRecord? {
        try query("SELECT * FROM webhook_endpoints WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL",
                  [.text(id), .text(workspaceID)]).first.map(WebhookEndpointRecord.init(row:))
    }

    public func webhookEndpoints(projectID: String, environment: LambaModel.Environment) throws -> [WebhookEndpointRecord] {
        try query("SELECT * FROM webhook_endpoints WHERE project_id = $1 AND environment = $2 AND deleted_at IS NULL ORDER BY created_at, id",
                  [.text(projectID), .text(environment.rawValue)]).map(WebhookEndpointRecord.init(row:))
    }

    /// Whether the environment lets its endpoints target private addresses; always false for production.
    public func webhookAllowsPrivateTargets(projectID: String, environment: LambaModel.Environment) throws -> Bool {
        guard WebhookTargetGuard.privateTargetsPermitted(in: environment) else { return false }
        return try query("SELECT allow_private_targets FROM webhook_settings WHERE project_id = $1 AND environment = $2",
                         [.text(projectID), .text(environment.rawValue)]).first?.bool("allow_private_targets") ?? false
    }

    /// The highest outbox sequence written so far (0 for an empty outbox).
    public func latestEventSequence() throws -> Int64 {
        try queryOne("SELECT COALESCE(MAX(seq), 0) AS seq FROM events").int64("seq")
    }

    /// Deliveries of one endpoint, newest first, with their attempts. `before` is the `created_at`
    /// and id of the last delivery of the previous page.
    public func webhookDeliveries(endpointID: String, state: WebhookDeliveryRecord.State?, before: (Date, String)?, limit: Int) throws -> [WebhookDeliveryRecord] {
        var conditions = SQLConditions()
        conditions.add("endpoint_id = ?", .text(endpointID))
        conditions.add("state = ?", ifSet: SQLValue(state?.rawValue))
        if let (createdAt, id) = before {
            conditions.add("(created_at < ? OR (created_at = ? AND id < ?))", SQLValue(createdAt), SQLValue(createdAt), .text(id))
        }
        let limit = conditions.parameter(SQLValue(limit))
        let rows = try query(
            SQL(trusted: "SELECT * FROM webhook_deliveries WHERE \(conditions.sql) ORDER BY created_at DESC, id DESC LIMIT \(limit)"),
            conditions.parameters)
        return try rows.map { row in
            var delivery = try WebhookDeliveryRecord(row: row)
            delivery.attemptLog = try query(
                "SELECT * FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt", [.text(delivery.id)]
            ).map(WebhookAttemptRecord.init(row:))
            return delivery
        }
    }
}

extension StoreTransaction {
    public func insertWebhookEndpoint(_ endpoint: WebhookEndpointRecord) throws {
        try execute(
            """
            INSERT INTO webhook_endpoints (id, workspace_id, project_id, environment, url, description, event_types, secret_sealed,
                previous_secret_sealed, previous_secret_expires_at, status, failure_streak, failing_since, disabled_reason,
                max_concurrency, start_after_seq, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            """,
            [.text(endpoint.id), .text(endpoint.workspaceID), .text(endpoint.projectID), .text(endpoint.environment.rawValue),
             .text(endpoint.url), .text(endpoint.description), .json(endpoint.eventTypes), .text(endpoint.secretSealed),
             SQLValue(endpoint.previousSecretSealed), SQLValue(endpoint.previousSecretExpiresAt), .text(endpoint.status.rawValue),
             SQLValue(endpoint.failureStreak), SQLValue(endpoint.failingSince), SQLValue(endpoint.disabledReason),
             SQLValue(endpoint.maxConcurrency), .integer(endpoint.startAfterSeq), SQLValue(endpoint.createdAt), SQLValue(endpoint.updatedAt)])
    }

    public func updateWebhookEndpoint(_ endpoint: WebhookEndpointRecord) throws {
        try execute(
            """
            UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, secret_sealed = $5, previous_secret_sealed = $6,
                previous_secret_expires_at = $7, status = $8, failure_streak = $9, failing_since = $10, disabled_reason = $11,
                max_concurrency = $12, updated_at = $13
            WHERE id = $1
            """,
            [.text(endpoint.id), .text(endpoint.url), .text(endpoint.description), .json(endpoint.eventTypes), .text(endpoint.secretSealed),
             SQLValue(endpoint.previousSecretSealed), SQLValue(endpoint.previousSecretExpiresAt), .text(endpoint.status.rawValue),
             SQLValue(endpoint.failureStreak), SQLValue(endpoint.failingSince), SQLValue(endpoint.disabledReason),
             SQLValue(endpoint.maxConcurrency), SQLValue(endpoint.updatedAt)])
    }

    /// Removes an endpoint from use; its delivery log stays, and its queued deliveries end as failed.
    public func deleteWebhookEndpoint(id: String, at date: Date) throws {
        try execute("UPDATE webhook_endpoints SET deleted_at = $2, updated_at = $2 WHERE id = $1", [.text(id), SQLValue(date)])
        try execute(
            "UPDATE webhook_deliveries SET state = 'failed_permanently', completed_at = $2, last_error = 'endpoint deleted' WHERE endpoint_id = $1 AND state = 'pending'",
            [.text(id), SQLValue(date)])
    }

    public func saveWebhookSettings(projectID: String, environment: LambaModel.Environment, allowPrivateTargets: Bool, at date: Date) throws {
        let changed = try execute(
            "UPDATE webhook_settings SET allow_private_targets = $3, updated_at = $4 WHERE project_id = $1 AND environment = $2",
            [.text(projectID), .text(environment.rawValue), .bool(allowPrivateTargets), SQLValue(date)])
        if changed == 0 {
            try execute(
                "INSERT INTO webhook_settings (project_id, environment, allow_private_targets, updated_at) VALUES ($1, $2, $3, $4)",
                [.text(projectID), .text(environment.rawValue), .bool(allowPrivateTargets), SQLValue(date)])
        }
    }

    /// Queues `event` again for `endpoint` as a replay; the payload is rebuilt from the same row, so
    /// it is byte-identical to the first delivery.
    @discardableResult
    public func enqueueWebhookDelivery(endpoint: WebhookEndpointRecord, eventSeq: Int64, eventID: String, eventType: String,
                                       replay: Bool, at date: Date) throws -> String {
        let id = WebhookID.generate(WebhookID.delivery)
        try execute(
            """
            INSERT INTO webhook_deliveries (id, endpoint_id, workspace_id, project_id, environment, event_seq, event_id, event_type,
                replay, state, attempts, next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $10)
            """,
            [.text(id), .text(endpoint.id), .text(endpoint.workspaceID), .text(endpoint.projectID), .text(endpoint.environment.rawValue),
             .integer(eventSeq), .text(eventID), .text(eventType), .bool(replay), SQLValue(date)])
        return id
    }
}

extension WebhookEndpointRecord {
    init(row: Row) throws {
        self.init(id: try row.string("id"), workspaceID: try row.string("workspace_id"), projectID: try row.string("project_id"),
                  environment: try row.enumeration("environment"), url: try row.string("url"), description: try row.string("description"),
                  eventTypes: try row.stringList("event_types"), secretSealed: try row.string("secret_sealed"),
                  maxConcurrency: try row.int("max_concurrency"), startAfterSeq: try row.int64("start_after_seq"),
                  createdAt: try row.date("created_at"))
        previousSecretSealed = try row.optionalString("previous_secret_sealed")
        previousSecretExpiresAt = try row.optionalDate("previous_secret_expires_at")
        status = try row.enumeration("status")
        failureStreak = try row.int("failure_streak")
        failingSince = try row.optionalDate("failing_since")
        disabledReason = try row.optionalString("disabled_reason")
        updatedAt = try row.date("updated_at")
    }
}

extension WebhookDeliveryRecord {
    init(row: Row) throws {
        self.init(id: try row.string("id"), endpointID: try row.string("endpoint_id"), workspaceID: try row.string("workspace_id"),
                  projectID: try row.string("project_id"), environment: try row.string("environment"), eventSeq: try row.int64("event_seq"),
                  eventID: try row.string("event_id"), eventType: try row.string("event_type"), replay: try row.bool("replay"),
                  state: try row.enumeration("state"), attempts: try row.int("attempts"), nextAttemptAt: try row.date("next_attempt_at"),
                  createdAt: try row.date("created_at"), completedAt: try row.optionalDate("completed_at"),
                  lastError: try row.optionalString("last_error"), attemptLog: [])
    }
}

extension WebhookAttemptRecord {
    init(row: Row) throws {
        self.init(attempt: try row.int("attempt"), attemptedAt: try row.date("attempted_at"),
                  statusCode: try row.optionalInt64("status_code").map { Int($0) }, latencyMilliseconds: try row.int64("latency_ms"),
                  responseExcerpt: try row.optionalString("response_excerpt"), error: try row.optionalString("error"))
    }
}
