public import Hummingbird
public import LambaJOSE
public import LambaModel
public import LambaStore

internal import Foundation

/// The console's events surface: the audit log, the event stream, webhook endpoints and settings,
/// delivery logs and replay. Every route authenticates a Workspace API key and scopes to its
/// Workspace. The routes are entries of the console route table (`ConsoleRoutes.table`), so the
/// OpenAPI document describes them; this group registers them.
public struct EventsRoutes: RouteGroup {
    public static let maxPageSize = 200
    public static let maxStreamWait = 30

    let registrar: ConsoleRouteRegistrar

    public init(dependencies: ServerDependencies, streamPollInterval: Duration = .milliseconds(200)) {
        registrar = ConsoleRouteRegistrar(services: ConsoleServices(
            store: dependencies.store, masterKey: dependencies.masterKey, upstreamHTTP: dependencies.upstreamHTTP,
            publicBaseURL: nil, streamPollInterval: streamPollInterval))
    }

    public func register(on router: Router<LambaRequestContext>) {
        registrar.register(Self.routes, on: router)
    }

    static let environmentPath = "/console/v1/projects/{project_id}/environments/{environment}"
    static let endpointPath = environmentPath + "/webhooks/{endpoint_id}"
    static let pageSize = ConsoleSchema.integer(description: "page size, 50 when left out", minimum: 1, maximum: maxPageSize)
    static let auditQuery: [(String, ConsoleSchema)] = [
        ("limit", pageSize), ("cursor", .integer(description: "next_cursor of the previous page", minimum: 1, maximum: Int(Int64.max))),
        ("environment", ConsoleSchemas.environmentName), ("actor", .string(maxLength: 200)),
        ("actor_type", .string(values: DomainEvent.Attribution.ActorType.allCases.map(\.rawValue))),
        ("console_session_id", .string(maxLength: 200)), ("type", .string(maxLength: 100)),
        ("since", .string(format: "date-time")), ("until", .string(format: "date-time")),
    ]
    static let endpointChanges: [(String, ConsoleSchema)] = [
        ("url", .string(description: "https URL; private and loopback targets (and http) only where the environment allows them",
                        format: "uri", maxLength: 2048)),
        ("description", .string(maxLength: 500)),
        ("event_types", .array(.string(description: "an event type such as user.created; none means every type",
                                       minLength: 1, maxLength: 100, rule: .eventType), maxItems: WebhookEndpointRules.maxEventTypes)),
        ("max_concurrency", .integer(minimum: 1, maximum: WebhookEndpointRules.maxConcurrencyLimit)),
    ]

    static let routes: [ConsoleRoute] = [
        ConsoleRoute(.get, "/console/v1/audit", "listAuditEvents", "The Workspace's audit log, newest first", access: .anyProject(.auditRead),
                     query: [("project_id", ConsoleSchemas.id)] + auditQuery, response: .ref("AuditPage")) { call in
            try await EventsRoutes.audit(call, projectID: nil)
        },
        ConsoleRoute(.get, "/console/v1/projects/{project_id}/audit", "listProjectAuditEvents", "One Project's audit log, newest first",
                     access: .project(.auditRead), query: auditQuery, response: .ref("AuditPage")) { call in
            try await EventsRoutes.audit(call, projectID: try call.parameter("project_id"))
        },
        ConsoleRoute(.get, "/console/v1/events/stream", "streamEvents",
                     "Events after a sequence number, oldest first; waits up to `wait` seconds for the first one",
                     access: .anyProject(.auditRead),
                     query: [("project_id", ConsoleSchemas.id), ("after", .integer(description: "the cursor of the previous answer", minimum: 0, maximum: Int(Int64.max))),
                             ("wait", .integer(minimum: 0, maximum: maxStreamWait)), ("limit", pageSize)],
                     response: .ref("EventStreamPage")) { call in
            try await EventsRoutes.stream(call)
        },
        ConsoleRoute(.get, environmentPath + "/webhooks", "listWebhookEndpoints", "The environment's webhook endpoints",
                     access: .project(.webhooksRead), response: .ref("WebhookEndpointList")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let endpoints = try await call.services.webhooks.endpoints(caller, projectID: project, environment: env)
            return .object(["endpoints": .array(endpoints.map { .object(EventsJSON.endpoint($0)) })])
        },
        ConsoleRoute(.post, environmentPath + "/webhooks", "createWebhookEndpoint",
                     "Add a webhook endpoint; its signing secret is in this response only", access: .project(.webhooksManage),
                     request: .object(endpointChanges, required: ["url"]), status: .created, response: .ref("WebhookEndpoint")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let (endpoint, secret) = try await call.services.webhooks.createEndpoint(caller, projectID: project, environment: env, EventsRoutes.changes(call))
            var json = EventsJSON.endpoint(endpoint)
            json["secret"] = .string(secret)
            return .object(json)
        },
        ConsoleRoute(.get, endpointPath, "getWebhookEndpoint", "One webhook endpoint", access: .project(.webhooksRead),
                     response: .ref("WebhookEndpoint")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            return .object(EventsJSON.endpoint(try await call.services.webhooks.endpoint(
                caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"))))
        },
        ConsoleRoute(.patch, endpointPath, "updateWebhookEndpoint", "Change a webhook endpoint", access: .project(.webhooksManage),
                     request: .object(endpointChanges), response: .ref("WebhookEndpoint")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            return .object(EventsJSON.endpoint(try await call.services.webhooks.updateEndpoint(
                caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"), EventsRoutes.changes(call))))
        },
        ConsoleRoute(.delete, endpointPath, "deleteWebhookEndpoint", "Remove a webhook endpoint and its pending deliveries",
                     access: .project(.webhooksManage), status: .noContent, response: nil) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            try await call.services.webhooks.deleteEndpoint(caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"))
            return nil
        },
        ConsoleRoute(.post, endpointPath + "/rotate-secret", "rotateWebhookSecret",
                     "A new signing secret, shown once; the previous one keeps signing as a second signature for the grace period",
                     access: .project(.webhooksManage),
                     request: .object([("grace_period_seconds", .integer(description: "24 hours when left out", minimum: 0,
                                                                          maximum: Int(WebhookEndpointRules.maxRotationGrace)))]),
                     requestOptional: true, response: .ref("WebhookEndpoint")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let grace = try call.int("grace_period_seconds").map { TimeInterval($0) }
            let (endpoint, secret) = try await call.services.webhooks.rotateSecret(
                caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"), grace: grace)
            var json = EventsJSON.endpoint(endpoint)
            json["secret"] = .string(secret)
            return .object(json)
        },
        ConsoleRoute(.post, endpointPath + "/enable", "enableWebhookEndpoint", "Enable an endpoint that failures disabled",
                     access: .project(.webhooksManage), response: .ref("WebhookEndpoint")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            return .object(EventsJSON.endpoint(try await call.services.webhooks.enableEndpoint(
                caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"))))
        },
        ConsoleRoute(.get, endpointPath + "/deliveries", "listWebhookDeliveries", "An endpoint's delivery log, newest first",
                     access: .project(.webhooksRead),
                     query: [("limit", pageSize), ("state", .string(values: ["pending", "in_flight", "succeeded", "failed_permanently"])),
                             ("cursor", .string(description: "next_cursor of the previous page", maxLength: 100, rule: .deliveryCursor))],
                     response: .ref("WebhookDeliveryPage")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let limit = try EventsRoutes.limit(call.query["limit"])
            let state = call.query["state"].flatMap(WebhookDeliveryRecord.State.init(rawValue:))
            let before = try call.query["cursor"].map(EventsJSON.parseDeliveryCursor)
            let deliveries = try await call.services.webhooks.deliveries(caller, projectID: project, environment: env,
                                                                         id: try call.parameter("endpoint_id"), state: state, before: before, limit: limit)
            let next: JSONValue = deliveries.count == limit ? deliveries.last.map { .string(EventsJSON.deliveryCursor($0)) } ?? .null : .null
            return .object(["deliveries": .array(deliveries.map { .object(EventsJSON.delivery($0)) }), "next_cursor": next])
        },
        ConsoleRoute(.post, endpointPath + "/replay", "replayWebhookEvents",
                     "Deliver one event (event_id) or a range (since, until) to the endpoint again, byte for byte",
                     access: .project(.webhooksManage),
                     request: .object([("event_id", .nullable(ConsoleSchemas.id)), ("since", .nullable(ConsoleSchemas.time)),
                                       ("until", .nullable(ConsoleSchemas.time))]),
                     status: .accepted, response: .object([("queued", .integer(minimum: 0))])) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let since = try call.string("since").map { try EventsJSON.parseTime($0, field: "since") }
            let until = try call.string("until").map { try EventsJSON.parseTime($0, field: "until") }
            let queued = try await call.services.webhooks.replay(caller, projectID: project, environment: env, id: try call.parameter("endpoint_id"),
                                                                 eventID: call.string("event_id"), since: since, until: until)
            return .object(["queued": .integer(Int64(queued))])
        },
        ConsoleRoute(.get, environmentPath + "/webhook-settings", "getWebhookSettings", "Whether webhooks may target private addresses",
                     access: .project(.webhooksRead), response: .ref("WebhookSettings")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let allow = try await call.services.webhooks.allowsPrivateTargets(caller, projectID: project, environment: env)
            return .object(["environment": .string(env.rawValue), "allow_private_targets": .bool(allow)])
        },
        ConsoleRoute(.patch, environmentPath + "/webhook-settings", "updateWebhookSettings",
                     "Allow or forbid private and loopback webhook targets", access: .project(.webhooksManage),
                     request: .object([("allow_private_targets", .boolean())], required: ["allow_private_targets"]),
                     response: .ref("WebhookSettings")) { call in
            let (caller, project, env) = try EventsRoutes.scope(call)
            let allow = try require(call.bool("allow_private_targets"), field: "allow_private_targets")
            try await call.services.webhooks.setAllowPrivateTargets(caller, projectID: project, environment: env, allow)
            return .object(["environment": .string(env.rawValue), "allow_private_targets": .bool(allow)])
        },
    ]

    // MARK: Audit log

    /// Newest first; `next_cursor` pages back in time while the page is full.
    static func audit(_ call: ConsoleCall, projectID: String?) async throws -> JSONValue {
        let caller = try call.caller
        let query = call.query
        var filter = AuditQuery(workspaceID: caller.workspaceID, limit: try Self.limit(query["limit"]))
        if projectID != nil, query["project_id"] != nil {
            throw APIError.invalidRequest("project_id is given by the path here", field: "project_id")
        }
        filter.projectID = projectID ?? query["project_id"]
        if let project = filter.projectID {
            try await requireVisibleProject(call, caller, project)
        }
        if filter.projectID == nil {
            filter.projectIDs = try Self.auditedProjects(caller)
        } else {
            try caller.require(.auditRead, inProject: filter.projectID)
        }
        filter.environment = try query["environment"].map(Self.environment)
        filter.actor = query["actor"]
        if let type = query["actor_type"] {
            guard DomainEvent.Attribution.ActorType(rawValue: type) != nil else {
                throw APIError.invalidRequest("actor_type is one of user, api_key, system", field: "actor_type")
            }
            filter.actorType = type
        }
        filter.consoleSessionID = query["console_session_id"]
        filter.type = query["type"]
        filter.since = try query["since"].map { try EventsJSON.parseTime($0, field: "since") }
        filter.until = try query["until"].map { try EventsJSON.parseTime($0, field: "until") }
        if let cursor = query["cursor"] {
            guard let value = Int64(cursor), value > 0 else { throw APIError.invalidRequest("cursor is not one this API returned", field: "cursor") }
            filter.before = value
        }
        let finalFilter = filter
        let events = try await call.services.store.read { r in try r.auditEvents(finalFilter) }
        let next: JSONValue = events.count == filter.limit ? events.last.map { .string(String($0.sequence)) } ?? .null : .null
        return .object(["events": .array(events.map { .object(EventsJSON.event($0)) }), "next_cursor": next])
    }

    // MARK: Event stream

    /// Long poll: answers at once when events after `after` exist, else waits up to `wait` seconds.
    static func stream(_ call: ConsoleCall) async throws -> JSONValue {
        let caller = try call.caller
        let query = call.query
        let projectID = query["project_id"]
        let projectIDs: [String]?
        if let projectID {
            try await requireVisibleProject(call, caller, projectID)
            try caller.require(.auditRead, inProject: projectID)
            projectIDs = nil
        } else {
            projectIDs = try Self.auditedProjects(caller)
        }
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
            let events = try await call.services.store.read { r in
                try r.workspaceEvents(workspaceID: workspaceID, projectID: projectID, projectIDs: projectIDs, after: cursor, limit: limit)
            }
            if !events.isEmpty || ContinuousClock.now >= deadline {
                return .object(["events": .array(events.map { .object(EventsJSON.event($0)) }), "cursor": .integer(events.last?.sequence ?? cursor)])
            }
            try await Task.sleep(for: min(call.services.streamPollInterval, deadline - ContinuousClock.now))
        }
    }

    // MARK: Helpers

    /// Workspace-wide reading: everything for a Workspace role that reads the audit log, else only
    /// the Projects whose console role does (docs/access-model.md#console-capabilities).
    static func auditedProjects(_ caller: ConsoleCaller) throws -> [String]? {
        let projects = caller.projectsGranting(.auditRead)
        if projects?.isEmpty == true { try caller.require(.auditRead) }
        return projects
    }

    static func scope(_ call: ConsoleCall) throws -> (ConsoleCaller, String, LambaModel.Environment) {
        (try call.caller, try call.parameter("project_id"), try call.environment)
    }

    static func requireVisibleProject(_ call: ConsoleCall, _ caller: ConsoleCaller, _ projectID: String) async throws {
        let workspaceID = caller.workspaceID
        let exists = try await call.services.store.read { r in
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

    /// The endpoint fields of a body the route's schema checked already.
    static func changes(_ call: ConsoleCall) throws -> WebhookAdministration.EndpointChanges {
        WebhookAdministration.EndpointChanges(url: call.string("url"), description: call.string("description"),
                                              eventTypes: call.strings("event_types"), maxConcurrency: try call.int("max_concurrency"))
    }
}

/// How events, endpoints and deliveries appear on the console API.
enum EventsJSON {
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// RFC 3339 with or without fractional seconds.
    static func parseTime(_ text: String, field: String) throws -> Date {
        guard let date = rfc3339(text) else {
            throw APIError.invalidRequest("\(field) must be an RFC 3339 time such as 2025-01-31T12:00:00Z", field: field)
        }
        return date
    }

    /// RFC 3339 §5.6 `date-time`: any number of fraction digits, `Z` or a numeric offset, `T`/`t`
    /// and `Z`/`z` in either case, a leap second read as the next second. Every field has a fixed
    /// width, so nothing here can overflow.
    static func rfc3339(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var value = 0
            for byte in b[at..<(at + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard b.count >= 20, b.count <= 64, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x74, b[13] == 0x3A, b[16] == 0x3A,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), let hour = digits(11, 2), let minute = digits(14, 2),
            let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, (0x30...0x39).contains(b[index]) {
                fraction += Double(b[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offset = 0
        switch b[index] {
        case 0x5A, 0x7A:
            guard index + 1 == b.count else { return nil }
        case 0x2B, 0x2D:
            guard index + 6 == b.count, b[index + 3] == 0x3A, let hours = digits(index + 1, 2), let minutes = digits(index + 4, 2),
                hours <= 23, minutes <= 59
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (b[index] == 0x2D ? -1 : 1)
        default:
            return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: 0)
        // The day must exist in its month (no 2025-02-30).
        guard let midnight = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
            let days = calendar.range(of: .day, in: .month, for: midnight), days.contains(day),
            let base = calendar.date(from: components)
        else { return nil }
        return base.addingTimeInterval(TimeInterval(second - offset) + fraction)
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    static func event(_ stored: StoredEvent) -> JSONObject {
        let event = stored.event
        let data = (try? JSON.decode(event.data, limits: JSONLimits(maxBytes: 1 << 24, maxDepth: 64))) ?? .string(event.data)
        return [
            "seq": .integer(stored.sequence), "id": .string(event.id), "type": .string(event.type), "actor": optional(event.actor),
            "workspace_id": optional(event.workspaceID), "project_id": optional(event.projectID), "environment": optional(event.environment),
            "actor_detail": actorDetail(event),
            "session_id": optional(event.sessionID), "occurred_at": .string(timestamp(event.occurredAt)), "data": data,
        ]
    }

    /// What the actor is and through what it acted (docs/events.md#attribution); null for events
    /// written before attribution was recorded.
    static func actorDetail(_ event: OutboxEvent) -> JSONValue {
        guard let type = event.actorType else { return .null }
        return .object(["type": .string(type), "console_session_id": optional(event.consoleSessionID), "created_by": optional(event.actorCreatedBy)])
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

extension TextRule {
    /// A delivery log cursor as `EventsJSON.deliveryCursor` writes it: milliseconds, a dot, a delivery id.
    static let deliveryCursor = TextRule(pattern: "^[0-9]{1,18}\\.[A-Za-z0-9_-]{1,64}$", explanation: "is not a cursor this API returned") { text in
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let digits: (UInt8) -> Bool = { (0x30...0x39).contains($0) }
        let idCharacter: (UInt8) -> Bool = { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || digits($0) || $0 == 0x5F || $0 == 0x2D }
        return parts.count == 2 && (1...18).contains(parts[0].utf8.count) && parts[0].utf8.allSatisfy(digits)
            && (1...64).contains(parts[1].utf8.count) && parts[1].utf8.allSatisfy(idCharacter)
    }
}
