public import Foundation
import LambaJOSE

/// Kinds of webhook row id; a prefix says what an id names, like `EntityID`.
public enum WebhookID {
    public static let endpoint = "whe"
    public static let delivery = "whd"
    public static let attempt = "wha"

    public static func generate(_ prefix: String) -> String {
        // SecureRandom only fails when the OS has no entropy; nothing sensible can continue then.
        prefix + "_" + Base64URL.encode(try! SecureRandom.bytes(16))
    }
}

/// One webhook endpoint of a Project environment. Secrets stay sealed here: only the dispatcher
/// and the rotation answer ever open them.
public struct WebhookEndpointRecord: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable { case enabled, disabled }

    public var id: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    public var url: String
    public var description: String
    /// Event type names; empty means every type.
    public var eventTypes: [String]
    public var secretSealed: String
    public var previousSecretSealed: String?
    public var previousSecretExpiresAt: Date?
    public var status: Status
    /// Consecutive deliveries that failed permanently since the last success.
    public var failureStreak: Int
    /// The first failed attempt since the last success.
    public var failingSince: Date?
    public var disabledReason: String?
    public var maxConcurrency: Int
    /// The outbox position when the endpoint was created: it receives only later events.
    public var startAfterSeq: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, workspaceID: String, projectID: String, environment: Environment, url: String, description: String,
                eventTypes: [String], secretSealed: String, maxConcurrency: Int, startAfterSeq: Int64, createdAt: Date) {
        self.id = id
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.url = url
        self.description = description
        self.eventTypes = eventTypes
        self.secretSealed = secretSealed
        self.status = .enabled
        self.failureStreak = 0
        self.maxConcurrency = maxConcurrency
        self.startAfterSeq = startAfterSeq
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    public func matches(eventType: String) -> Bool {
        eventTypes.isEmpty || eventTypes.contains(eventType)
    }

    /// Whether an outbox event is delivered here (docs/events.md#fan-out): written after the endpoint
    /// was created, of a subscribed type, and of this environment (an event without an environment, a
    /// Project-wide fact, goes to the endpoints of both).
    public func receives(eventSeq: Int64, type: String, environment: String?) -> Bool {
        eventSeq > startAfterSeq && matches(eventType: type) && (environment == nil || environment == self.environment.rawValue)
    }
}

/// One event queued for one endpoint, with its attempts.
public struct WebhookDeliveryRecord: Sendable, Hashable {
    public enum State: String, Sendable, Hashable { case pending, inFlight = "in_flight", succeeded, failedPermanently = "failed_permanently" }

    public var id: String
    public var endpointID: String
    public var workspaceID: String
    public var projectID: String
    public var environment: String
    public var eventSeq: Int64
    public var eventID: String
    public var eventType: String
    public var replay: Bool
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var createdAt: Date
    public var completedAt: Date?
    public var lastError: String?
    public var attemptLog: [WebhookAttemptRecord]

    public init(id: String, endpointID: String, workspaceID: String, projectID: String, environment: String, eventSeq: Int64, eventID: String,
                eventType: String, replay: Bool, state: State, attempts: Int, nextAttemptAt: Date, createdAt: Date, completedAt: Date?,
                lastError: String?, attemptLog: [WebhookAttemptRecord]) {
        self.id = id
        self.endpointID = endpointID
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.eventSeq = eventSeq
        self.eventID = eventID
        self.eventType = eventType
        self.replay = replay
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.lastError = lastError
        self.attemptLog = attemptLog
    }
}

/// One HTTP try of a delivery.
public struct WebhookAttemptRecord: Sendable, Hashable {
    public var attempt: Int
    public var attemptedAt: Date
    public var statusCode: Int?
    public var latencyMilliseconds: Int64
    public var responseExcerpt: String?
    public var error: String?

    public init(attempt: Int, attemptedAt: Date, statusCode: Int?, latencyMilliseconds: Int64, responseExcerpt: String?, error: String?) {
        self.attempt = attempt
        self.attemptedAt = attemptedAt
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.responseExcerpt = responseExcerpt
        self.error = error
    }

    public var succeeded: Bool { statusCode.map { (200..<300).contains($0) } ?? false }
}


/// What an operator may set on a webhook endpoint, and the limits of the webhooks surface. Each check
/// throws `DomainError.invalid` naming the field, or `.limitExceeded` / `.refused`.
public enum WebhookEndpointRules {
    public static let maxEndpointsPerEnvironment = 20
    public static let maxEventTypes = 100
    public static let maxConcurrencyLimit = 32
    public static let defaultConcurrency = 4
    public static let maxDescriptionLength = 500
    /// How long a rotated-out secret keeps signing (docs/events.md#signing).
    public static let defaultRotationGrace: TimeInterval = 24 * 3600
    public static let maxRotationGrace: TimeInterval = 7 * 24 * 3600
    /// The most events one replay queues (docs/events.md#replay).
    public static let maxReplayEvents = 10_000

    /// Event type names (`noun.verb`, lowercase, digits, `.` and `_`), deduplicated and sorted; empty means every type.
    public static func validateEventTypes(_ types: [String]) throws -> [String] {
        guard types.count <= maxEventTypes else { throw DomainError.invalid(field: "event_types", reason: "must list at most \(maxEventTypes) types") }
        for type in types {
            let valid = !type.isEmpty && type.utf8.count <= 100
                && type.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x5F }
            guard valid else { throw DomainError.invalid(field: "event_types", reason: "must hold event type names such as user.created") }
        }
        return Array(Set(types)).sorted()
    }

    public static func validateDescription(_ text: String) throws -> String {
        guard text.count <= maxDescriptionLength else {
            throw DomainError.invalid(field: "description", reason: "must be at most \(maxDescriptionLength) characters")
        }
        return text
    }

    public static func validateConcurrency(_ value: Int) throws -> Int {
        guard (1...maxConcurrencyLimit).contains(value) else {
            throw DomainError.invalid(field: "max_concurrency", reason: "must be between 1 and \(maxConcurrencyLimit)")
        }
        return value
    }

    /// A registered URL (docs/events.md#private-address-refusal), as the domain error of the `url` field.
    public static func validateURL(_ url: String, allowPrivate: Bool) throws -> String {
        do {
            return try WebhookTargetGuard.validate(url, allowPrivate: allowPrivate).absoluteString
        } catch {
            throw DomainError.invalid(field: "url", reason: error.reason)
        }
    }

    /// One more endpoint in an environment that holds `existing` already.
    public static func checkEndpointLimit(existing: Int) throws {
        guard existing < maxEndpointsPerEnvironment else {
            throw DomainError.limitExceeded(limit: "webhook endpoints per environment", maximum: maxEndpointsPerEnvironment)
        }
    }

    /// The grace of a secret rotation; nil means the default.
    public static func validateRotationGrace(_ grace: TimeInterval?) throws -> TimeInterval {
        let grace = grace ?? defaultRotationGrace
        guard grace >= 0, grace <= maxRotationGrace else {
            throw DomainError.invalid(field: "grace_period_seconds", reason: "must be between 0 and \(Int(maxRotationGrace))")
        }
        return grace
    }

    /// A replay names one event, or a range from `since` (inclusive) to an optional `until` (exclusive)
    /// (docs/events.md#replay).
    public static func validateReplay(eventID: String?, since: Date?, until: Date?) throws {
        guard (eventID != nil) != (since != nil || until != nil) else {
            throw DomainError.invalid(field: "event_id", reason: "give either event_id or a since/until range")
        }
        if eventID == nil, since == nil { throw DomainError.invalid(field: "since", reason: "is required for a range replay") }
        if let since, let until, until <= since { throw DomainError.invalid(field: "until", reason: "must be after since") }
    }

    /// A replay goes only to an enabled endpoint.
    public static func checkReplayable(_ endpoint: WebhookEndpointRecord) throws {
        guard endpoint.status == .enabled else { throw DomainError.refused("the endpoint is disabled; enable it before replaying") }
    }

    /// The events a replay found: the named one must exist, and a range holds at most `maxReplayEvents`.
    public static func checkReplayFound(eventID: String?, found: Int) throws {
        if eventID != nil, found == 0 { throw DomainError.notFound("event") }
        guard found <= maxReplayEvents else { throw DomainError.limitExceeded(limit: "events per replay", maximum: maxReplayEvents) }
    }

    /// Private targets are a sandbox convenience (local receivers); production always refuses them.
    public static func checkPrivateTargetsSetting(_ allow: Bool, environment: Environment) throws {
        if allow && !WebhookTargetGuard.privateTargetsPermitted(in: environment) {
            throw DomainError.refused("private webhook targets are only allowed in sandbox")
        }
    }
}
