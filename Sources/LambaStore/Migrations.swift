internal import Foundation

/// One schema version. Both dialects reach the same logical schema at the same version.
public struct Migration: Sendable, Hashable {
    public let version: Int
    public let name: String
    public let sqlite: SQL
    public let postgres: SQL

    public init(version: Int, name: String, sqlite: SQL, postgres: SQL) {
        self.version = version
        self.name = name
        self.sqlite = sqlite
        self.postgres = postgres
    }

    /// For statements both dialects accept as written.
    public init(version: Int, name: String, sql: SQL) {
        self.init(version: version, name: name, sqlite: sql, postgres: sql)
    }

    public func sql(for dialect: SQLDialect) -> SQL {
        switch dialect {
        case .sqlite: sqlite
        case .postgres: postgres
        }
    }
}

/// The schema history of Lamba, oldest first. Append only: a released migration never changes.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(
            version: 1,
            name: "events outbox",
            sqlite: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    actor TEXT,
                    workspace_id TEXT,
                    project_id TEXT,
                    environment TEXT CHECK (environment IN ('sandbox', 'production')),
                    session_id TEXT,
                    occurred_at TEXT NOT NULL,
                    data TEXT NOT NULL
                );
                CREATE INDEX events_workspace ON events (workspace_id, seq);
                CREATE INDEX events_project ON events (project_id, environment, seq);
                CREATE TRIGGER events_immutable BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
                """,
            postgres: """
                CREATE TABLE events (
                    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    actor TEXT,
                    workspace_id TEXT,
                    project_id TEXT,
                    environment TEXT CHECK (environment IN ('sandbox', 'production')),
                    session_id TEXT,
                    occurred_at TEXT NOT NULL,
                    data TEXT NOT NULL
                );
                CREATE INDEX events_workspace ON events (workspace_id, seq);
                CREATE INDEX events_project ON events (project_id, environment, seq);
                CREATE FUNCTION events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'events are immutable'; END $$;
                CREATE TRIGGER events_immutable BEFORE UPDATE ON events
                FOR EACH ROW EXECUTE FUNCTION events_immutable();
                """
        ),
        IdentitySchema.migration,
        OAuthSchema.migration,
        OAuthSchema.refreshTokenParents,
        OAuthSchema.refreshTokenAuthenticationMethods,
        OAuthSchema.refreshTokenAccessTokens,
        WebhookSchema.migration,
        ProviderSchema.migration,
        ProviderSchema.signInMethodOfEarlierSessions,
        SignInThrottleSchema.migration,
        CustomDomainSchema.migration,
        ClientRegistrationSchema.migration,
        ClientRegistrationSchema.registrationAccessTokens,
        MasterKeyCheck.migration,
        ChangeCounters.migration,
        ConsoleAccessSchema.migration,
        EventAttributionSchema.migration,
        AccountRecoverySchema.migration,
        SecondFactorSchema.migration,
        AccountRecoverySchema.workspaceSender,
        AccountRecoverySchema.emailChange,
        ProjectBrandingSchema.migration,
        PasskeySchema.migration,
    ]
}

/// Applies migrations in order, each in its own transaction together with its row in
/// `lamba_migrations`, and refuses a database that is newer than the migrations it knows.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration] = Migrations.all) {
        precondition(
            zip(migrations, migrations.dropFirst()).allSatisfy { $0.version < $1.version },
            "migration versions must increase"
        )
        self.migrations = migrations
    }

    public var latestVersion: Int { migrations.last?.version ?? 0 }

    /// The highest applied version (0 for an empty database).
    /// - Throws: `StoreError.schemaTooNew` when the database is ahead of this binary.
    public func currentVersion(_ store: some Store) async throws -> Int {
        let latest = latestVersion
        let known = Set(migrations.map(\.version))
        return try await store.withTransaction { tx in
            try Self.createHistoryTable(tx)
            return try Self.check(tx, latest: latest, known: known)
        }
    }

    /// Applies every pending migration and returns those it applied.
    /// - Throws: `StoreError.schemaTooNew`, or the error of the failing migration (which is rolled back).
    public func migrate(_ store: some Store) async throws -> [Migration] {
        let latest = latestVersion
        let known = Set(migrations.map(\.version))
        var applied: [Migration] = []
        for migration in migrations {
            let didApply = try await store.withTransaction { tx in
                // Concurrent `lamba` processes starting together apply each migration once
                // (on SQLite the writer lock of BEGIN IMMEDIATE already serializes them).
                if tx.dialect == .postgres { _ = try tx.query("SELECT pg_advisory_xact_lock(7465346)") }
                try Self.createHistoryTable(tx)
                _ = try Self.check(tx, latest: latest, known: known)
                // By presence, not by the highest version: features own version ranges, so a
                // lower version can arrive after a higher one was applied.
                let recorded = try tx.query("SELECT version FROM lamba_migrations WHERE version = $1", [SQLValue(migration.version)])
                guard recorded.isEmpty else { return false }
                try tx.executeScript(migration.sql(for: tx.dialect))
                try tx.execute(
                    "INSERT INTO lamba_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    [SQLValue(migration.version), .text(migration.name), .text(OutboxEvent.formatTimestamp(Date()))]
                )
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    private static func createHistoryTable(_ tx: any StoreTransaction) throws {
        try tx.execute(
            "CREATE TABLE IF NOT EXISTS lamba_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    }

    /// The highest applied version. A database holding any version this binary does not know was
    /// migrated by a newer (or another) Lamba and is refused.
    private static func check(_ tx: any StoreTransaction, latest: Int, known: Set<Int>) throws -> Int {
        let versions = try tx.query("SELECT version FROM lamba_migrations").map { try $0.int("version") }
        let current = versions.max() ?? 0
        if current > latest || versions.contains(where: { !known.contains($0) }) {
            throw StoreError.schemaTooNew(database: current, binary: latest)
        }
        return current
    }
}
