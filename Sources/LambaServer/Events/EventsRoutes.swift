public import Hummingbird
public import LambaJOSE
public import LambaModel
public import LambaStore

internal import Foundation

/// The console's events surface: the audit log, the event stream, webhook endpoints and settings,
/// delivery logs and replay. Every route authenticates a Workspace API key and scopes to its Workspace.
public struct EventsRoutes: RouteGroup {
    public static let maxPageSize = 200
    public static let maxStreamWait = 30

    let store: any Store
    let authentication: ConsoleAuthentication
    let webhooks: WebhookAdministration
    /// How often a waiting stream request looks at the outbox again.
    let streamPollInterval: Duration

    public init(dependencies: ServerDependencies, streamPollInterval: Duration = .milliseconds(200)) {
        self.store = dependencies.store
        self.authentication = ConsoleAuthentication(workspaces: WorkspaceAdministration(store: SQLIdentityStore(store: dependencies.store)))
        self.webhooks = WebhookAdministration(store: dependencies.store, masterKey: dependencies.masterKey)
        self.streamPollInterval = streamPollInterval
    }

    public func register(on router: Router<LambaRequestContext>) {
        let console = router.group("console/v1")
        console.get("audit") { request, _ in try await self.audit(request, projectID: nil) }
        console.get("projects/:project_id/audit") { request, context in
            try await self.audit(request, projectID: try context.parameters.require("project_id"))
        }
        console.get("events/stream") { request, _ in try await self.stream(request) }

        let environment = console.group("projects/:project_id/environments/:environment")
        environment.get("webhooks") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let endpoints = try await self.webhooks.endpoints(caller, projectID: project, environment: env)
            return Response.json(["endpoints": .array(endpoints.map { .object(EventsJSON.endpoint($0)) })])
        }
        environment.post("webhooks") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let body = try await request.readJSONObject(context: context)
            let (endpoint, secret) = try await self.webhooks.createEndpoint(caller, projectID: project, environment: env, try Self.changes(body))
            var json = EventsJSON.endpoint(endpoint)
            json["secret"] = .string(secret)
            return Response.json(json, status: .created)
        }
        environment.get("webhooks/:endpoint_id") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let endpoint = try await self.webhooks.endpoint(caller, projectID: project, environment: env, id: try context.parameters.require("endpoint_id"))
            return Response.json(EventsJSON.endpoint(endpoint))
        }
        environment.patch("webhooks/:endpoint_id") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let body = try await request.readJSONObject(context: context)
            let endpoint = try await self.webhooks.updateEndpoint(caller, projectID: project, environment: env,
                                                                  id: try context.parameters.require("endpoint_id"), try Self.changes(body))
            return Response.json(EventsJSON.endpoint(endpoint))
        }
        environment.delete("webhooks/:endpoint_id") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            try await self.webhooks.deleteEndpoint(caller, projectID: project, environment: env, id: try context.parameters.require("endpoint_id"))
            return Response(status: .noContent)
        }
        environment.post("webhooks/:endpoint_id/rotate-secret") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            var grace: TimeInterval?
            if request.headers[.contentType] != nil {
                let body = try await request.readJSONObject(context: context)
                try Self.allowOnly(["grace_period_seconds"], in: body)
                if let value = body["grace_period_seconds"] {
                    guard let seconds = value.integerValue else { throw APIError.invalidRequest("grace_period_seconds must be an integer", field: "grace_period_seconds") }
                    grace = TimeInterval(seconds)
                }
            }
            let (endpoint, secret) = try await self.webhooks.rotateSecret(caller, projectID: project, environment: env,
                                                                          id: try context.parameters.require("endpoint_id"), grace: grace)
            var json = EventsJSON.endpoint(endpoint)
            json["secret"] = .string(secret)
            return Response.json(json)
        }
        environment.post("webhooks/:endpoint_id/enable") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let endpoint = try await self.webhooks.enableEndpoint(caller, projectID: project, environment: env, id: try context.parameters.require("endpoint_id"))
            return Response.json(EventsJSON.endpoint(endpoint))
        }
        environment.get("webhooks/:endpoint_id/deliveries") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let query = try request.queryParameters()
            try query.rejectDuplicates()
            let limit = try Self.limit(query["limit"])
            var state: WebhookDeliveryRecord.State?
            if let text = query["state"] {
                guard let parsed = WebhookDeliveryRecord.State(rawValue: text) else {
                    throw APIError.invalidRequest("state must be pending, in_flight, succeeded or failed_permanently", field: "state")
                }
                state = parsed
            }
            let before = try query["cursor"].map(EventsJSON.parseDeliveryCursor)
            let deliveries = try await self.webhooks.deliveries(caller, projectID: project, environment: env,
                                                                id: try context.parameters.require("endpoint_id"), state: state, before: before, limit: limit)
            let next: JSONValue = deliveries.count == limit ? deliveries.last.map { .string(EventsJSON.deliveryCursor($0)) } ?? .null : .null
            return Response.json(["deliveries": .array(deliveries.map { .object(EventsJSON.delivery($0)) }), "next_cursor": next])
        }
        environment.post("webhooks/:endpoint_id/replay") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let body = try await request.readJSONObject(context: context)
            try Self.allowOnly(["event_id", "since", "until"], in: body)
            let eventID = try Self.string(body, "event_id")
            let since = try Self.string(body, "since").map { try EventsJSON.parseTime($0, field: "since") }
            let until = try Self.string(body, "until").map { try EventsJSON.parseTime($0, field: "until") }
            let queued = try await self.webhooks.replay(caller, projectID: project, environment: env, id: try context.parameters.require("endpoint_id"),
                                                        eventID: eventID, since: since, until: until)
            return Response.json(["queued": .integer(Int64(queued))], status: .accepted)
        }
        environment.get("webhook-settings") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let allow = try await self.webhooks.allowsPrivateTargets(caller, projectID: project, environment: env)
            return Response.json(["environment": .string(env.rawValue), "allow_private_targets": .bool(allow)])
        }
        environment.patch("webhook-settings") { request, context in
            let (caller, project, env) = try await self.scope(request, context)
            let body = try await request.readJSONObject(context: context)
            try Self.allowOnly(["allow_private_targets"], in: body)
            guard let allow = body["allow_private_targets"]?.boolValue else {
                throw APIError.invalidRequest("allow_private_targets must be a boolean", field: "allow_private_targets")
            }
            try await self.webhooks.setAllowPrivateTargets(caller, projectID: project, environment: env, allow)
            return Response.json(["environment": .string(env.rawValue), "allow_private_targets": .bool(allow)])
        }
    }

    // MARK: Audit log

    /// Newest first; `next_cursor` pages back in time while the page is full.
    func audit(_ request: Request, projectID: String?) async throws -> Response {
        let caller = try await authentication.caller(of: request)
        let query = try request.queryParameters()
        try query.rejectDuplicates()
        var filter = AuditQuery(workspaceID: caller.workspaceID, limit: try Self.limit(query["limit"]))
        if projectID != nil, query["project_id"] != nil {
            throw APIError.invalidRequest("project_id is given by the path here", field: "project_id")
        }
        filter.projectID = projectID ?? query["project_id"]
        if let project = filter.projectID {
            try await requireVisibleProject(caller, project)
        }
        try caller.require(.auditRead, inProject: filter.projectID)
        filter.environment = try query["environment"].map(Self.environment)
        filter.actor = query["actor"]
        filter.type = query["type"]
        filter.since = try query["since"].map { try EventsJSON.parseTime($0, field: "since") }
        filter.until = try query["until"].map { try EventsJSON.parseTime($0, field: "until") }
        if let cursor = query["cursor"] {
            guard let value = Int64(cursor), value > 0 else { throw APIError.invalidRequest("cursor is not one this API returned", field: "cursor") }
            filter.before = value
        }
        let finalFilter = filter
        let events = try await store.read { r in try r.auditEvents(finalFilter) }
        let next: JSONValue = events.count == filter.limit ? events.last.map { .string(String($0.sequence)) } ?? .null : .null
        return Response.json(["events": .array(events.map { .object(EventsJSON.event($0)) }), "next_cursor": next])
    }

    // MARK: Event stream

    /// Long poll: answers at once when events after `after` exist, else waits up to `wait` seconds.
    func stream(_ request: Request) async throws -> Response {
        let caller = try await authentication.caller(of: request)
        let query = try request.queryParameters()
        try query.rejectDuplicates()
        let projectID = query["project_id"]
        if let projectID { try await requireVisibleProject(caller, projectID) }
        try caller.require(.auditRead, inProject: projectID)
        var after: Int64 = 0
        if let text = query["after"] {
            guard let value = Int64(text), value >= 0 else { throw APIError.invalidRequest("after must be a sequence number", field: "after") }
            after = value
        }
        var wait = 0
        if let text = query["wait"] {
            guard let value = Int(text), (0...Self.maxStreamWait).contains(value) else {
                throw APIError.invalidRequest("wait must be between 0 and \(Self.maxStreamWait) seconds", field: "wait")
            }
            wait = value
        }
        let limit = try Self.limit(query["limit"])
        let workspaceID = caller.workspaceID, cursor = after
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            let events = try await store.read { r in try r.workspaceEvents(workspaceID: workspaceID, projectID: projectID, after: cursor, limit: limit) }
            if !events.isEmpty || ContinuousClock.now >= deadline {
                return Response.json(["events": .array(events.map { .object(EventsJSON.event($0)) }),
                                      "cursor": .integer(events.last?.sequence ?? cursor)])
            }
            try await Task.sleep(for: min(streamPollInterval, deadline - ContinuousClock.now))
        }
    }

    // MARK: Helpers

    func scope(_ request: Request, _ context: LambaRequestContext) async throws -> (ConsoleCaller, String, LambaModel.Environment) {
        let caller = try await authentication.caller(of: request)
        let project = try context.parameters.require("project_id")
        guard let environment = LambaModel.Environment(rawValue: try context.parameters.require("environment")) else { throw APIError.notFound }
        return (caller, project, environment)
    }

    func requireVisibleProject(_ caller: ConsoleCaller, _ projectID: String) async throws {
        let workspaceID = caller.workspaceID
        let exists = try await store.read { r in
            try SQLIdentityRecords(reader: r, transaction: nil).project(id: projectID, workspaceID: workspaceID) != nil
        }
        guard exists, caller.canSee(projectID: projectID) || caller.capabilities(inProject: projectID).contains(.auditRead) else {
            throw DomainError.notFound("project")
        }
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 50 }
        guard let value = Int(text), (1...maxPageSize).contains(value) else {
            throw APIError.invalidRequest("limit must be between 1 and \(maxPageSize)", field: "limit")
        }
        return value
    }

    static func environment(_ text: String) throws -> LambaModel.Environment {
        guard let environment = LambaModel.Environment(rawValue: text) else {
            throw APIError.invalidRequest("environment must be sandbox or production", field: "environment")
        }
        return environment
    }

    static func allowOnly(_ names: Set<String>, in body: JSONObject) throws {
        if let unknown = body.names.first(where: { !names.contains($0) }) {
            throw APIError.invalidRequest("unknown member \(unknown)", field: unknown)
        }
    }

    static func string(_ body: JSONObject, _ name: String) throws -> String? {
        guard let value = body[name], value != .null else { return nil }
        guard let string = value.stringValue else { throw APIError.invalidRequest("\(name) must be a string", field: name) }
        return string
    }

    static func changes(_ body: JSONObject) throws -> WebhookAdministration.EndpointChanges {
        try allowOnly(["url", "description", "event_types", "max_concurrency"], in: body)
        var changes = WebhookAdministration.EndpointChanges(url: try string(body, "url"), description: try string(body, "description"))
        if let value = body["event_types"] {
            guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw APIError.invalidRequest("event_types must be an array of strings", field: "event_types")
            }
            changes.eventTypes = items.compactMap(\.stringValue)
        }
        if let value = body["max_concurrency"] {
            guard let number = value.integerValue, let int = Int(exactly: number) else {
                throw APIError.invalidRequest("max_concurrency must be an integer", field: "max_concurrency")
            }
            changes.maxConcurrency = int
        }
        return changes
    }
}

/// How events, endpoints and deliveries appear on the console API.
enum EventsJSON {
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// RFC 3339 with or without fractional seconds.
    static func parseTime(_ text: String, field: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text) { return date }
        throw APIError.invalidRequest("\(field) must be an RFC 3339 time such as 2025-01-31T12:00:00Z", field: field)
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    static func event(_ stored: StoredEvent) -> JSONObject {
        let event = stored.event
        let data = (try? JSON.decode(event.data, limits: JSONLimits(maxBytes: 1 << 24, maxDepth: 64))) ?? .string(event.data)
        return [
            "seq": .integer(stored.sequence), "id": .string(event.id), "type": .string(event.type), "actor": optional(event.actor),
            "workspace_id": optional(event.workspaceID), "project_id": optional(event.projectID), "environment": optional(event.environment),
            "session_id": optional(event.sessionID), "occurred_at": .string(timestamp(event.occurredAt)), "data": data,
        ]
    }

    static func endpoint(_ endpoint: WebhookEndpointRecord) -> JSONObject {
        [
            "id": .string(endpoint.id), "project_id": .string(endpoint.projectID), "environment": .string(endpoint.environment.rawValue),
            "url": .string(endpoint.url), "description": .string(endpoint.description),
            "event_types": .array(endpoint.eventTypes.map(JSONValue.string)), "status": .string(endpoint.status.rawValue),
            "disabled_reason": optional(endpoint.disabledReason), "failure_streak": .integer(Int64(endpoint.failureStreak)),
            "max_concurrency": .integer(Int64(endpoint.maxConcurrency)),
            "previous_secret_expires_at": optional(endpoint.previousSecretExpiresAt.map(timestamp)),
            "created_at": .string(timestamp(endpoint.createdAt)), "updated_at": .string(timestamp(endpoint.updatedAt)),
        ]
    }

    static func delivery(_ delivery: WebhookDeliveryRecord) -> JSONObject {
        [
            "id": .string(delivery.id), "endpoint_id": .string(delivery.endpointID), "workspace_id": .string(delivery.workspaceID),
            "project_id": .string(delivery.projectID), "environment": .string(delivery.environment), "event_id": .string(delivery.eventID),
            "event_seq": .integer(delivery.eventSeq), "event_type": .string(delivery.eventType), "replay": .bool(delivery.replay),
            "state": .string(delivery.state.rawValue), "attempt_count": .integer(Int64(delivery.attempts)),
            "next_attempt_at": delivery.state == .pending ? .string(timestamp(delivery.nextAttemptAt)) : .null,
            "created_at": .string(timestamp(delivery.createdAt)), "completed_at": optional(delivery.completedAt.map(timestamp)),
            "last_error": optional(delivery.lastError),
            "attempts": .array(delivery.attemptLog.map { attempt in
                .object([
                    "attempt": .integer(Int64(attempt.attempt)), "attempted_at": .string(timestamp(attempt.attemptedAt)),
                    "status_code": attempt.statusCode.map { .integer(Int64($0)) } ?? .null,
                    "latency_ms": .integer(attempt.latencyMilliseconds), "response_excerpt": optional(attempt.responseExcerpt),
                    "error": optional(attempt.error),
                ])
            }),
        ]
    }

    static func deliveryCursor(_ delivery: WebhookDeliveryRecord) -> String {
        "\(SQLValue.epochMilliseconds(delivery.createdAt)).\(delivery.id)"
    }

    static func parseDeliveryCursor(_ text: String) throws -> (Date, String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        // Bounded to NumericDate's years before any arithmetic: the cursor comes from the caller.
        guard parts.count == 2, let milliseconds = Int64(parts[0]),
            (0...(NumericDate.latestSeconds * 1000)).contains(milliseconds)
        else {
            throw APIError.invalidRequest("cursor is not one this API returned", field: "cursor")
        }
        return (Date(timeIntervalSince1970: Double(milliseconds) / 1000), String(parts[1]))
    }
}
