/// Tables of webhook delivery (docs/events.md#delivery-at-least-once). Times are epoch milliseconds, lists are JSON text, sealed
/// secrets are base64url text; the same statements run on both databases.
///
/// A delivery is one event for one endpoint; each HTTP try of it is an attempt. `claimed_until` is
/// the lease of the dispatcher that holds an `in_flight` delivery: when that process dies the lease
/// runs out and another claim picks the delivery up again.
enum WebhookSchema {
    static let migration = Migration(version: 10, name: "webhooks", sql: """
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            url TEXT NOT NULL,
            description TEXT NOT NULL,
            event_types TEXT NOT NULL,
            secret_sealed TEXT NOT NULL,
            previous_secret_sealed TEXT,
            previous_secret_expires_at BIGINT,
            status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
            failure_streak INTEGER NOT NULL,
            failing_since BIGINT,
            disabled_reason TEXT,
            max_concurrency INTEGER NOT NULL,
            start_after_seq BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            deleted_at BIGINT
        );
        CREATE INDEX webhook_endpoints_project ON webhook_endpoints (project_id, environment);
        CREATE TABLE webhook_settings (
            project_id TEXT NOT NULL REFERENCES projects (id),
            environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
            allow_private_targets BOOLEAN NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (project_id, environment)
        );
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
            workspace_id TEXT NOT NULL,
            project_id TEXT NOT NULL,
            environment TEXT NOT NULL,
            event_seq BIGINT NOT NULL REFERENCES events (seq),
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            replay BOOLEAN NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'succeeded', 'failed_permanently')),
            attempts INTEGER NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            claimed_until BIGINT,
            created_at BIGINT NOT NULL,
            completed_at BIGINT,
            last_error TEXT
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
        CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, state);
        CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, created_at);
        CREATE TABLE webhook_delivery_attempts (
            id TEXT PRIMARY KEY,
            delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
            endpoint_id TEXT NOT NULL,
            workspace_id TEXT NOT NULL,
            project_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            attempted_at BIGINT NOT NULL,
            status_code INTEGER,
            latency_ms BIGINT NOT NULL,
            response_excerpt TEXT,
            error TEXT
        );
        CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (delivery_id, attempt);
        CREATE TABLE webhook_dispatch_cursor (
            name TEXT PRIMARY KEY,
            last_seq BIGINT NOT NULL
        );
        INSERT INTO webhook_dispatch_cursor (name, last_seq) VALUES ('outbox', 0);
        """)
}
