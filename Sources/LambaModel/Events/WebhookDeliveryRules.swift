public import Foundation
import LambaJOSE

/// When a failed attempt is tried again (docs/events.md#retries): full-jitter exponential backoff, a
/// retry waiting a random time up to min(cap, base · 2^(n-1)) after attempt n; a delivery fails
/// permanently after `maxAttempts` attempts or once it is `maxDeliveryAge` old, whichever comes first.
public struct WebhookRetrySchedule: Sendable, Hashable {
    public var backoffBase: TimeInterval
    public var backoffCap: TimeInterval
    public var maxAttempts: Int
    public var maxDeliveryAge: TimeInterval

    public init(backoffBase: TimeInterval = 5, backoffCap: TimeInterval = 3600, maxAttempts: Int = 40, maxDeliveryAge: TimeInterval = 24 * 3600) {
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.maxAttempts = maxAttempts
        self.maxDeliveryAge = maxDeliveryAge
    }

    /// The longest wait after failed attempt number `attempt` (1 for the first).
    public func ceiling(afterAttempt attempt: Int) -> TimeInterval {
        min(backoffCap, backoffBase * pow(2, Double(min(attempt - 1, 40))))
    }

    /// When to retry after failed attempt number `attempt`, or nil when the delivery is out of tries.
    public func retryTime(afterAttempt attempt: Int, deliveryCreatedAt: Date, now: Date) -> Date? {
        var generator = SystemRandomNumberGenerator()
        return retryTime(afterAttempt: attempt, deliveryCreatedAt: deliveryCreatedAt, now: now, using: &generator)
    }

    public func retryTime(afterAttempt attempt: Int, deliveryCreatedAt: Date, now: Date, using generator: inout some RandomNumberGenerator) -> Date? {
        guard attempt < maxAttempts else { return nil }
        let next = now.addingTimeInterval(Double.random(in: 0...ceiling(afterAttempt: attempt), using: &generator))
        guard next.timeIntervalSince(deliveryCreatedAt) <= maxDeliveryAge else { return nil }
        return next
    }
}

/// When a failing endpoint is disabled (docs/events.md#disable-after-failures).
public struct WebhookDisablePolicy: Sendable, Hashable {
    /// Consecutive deliveries that failed permanently.
    public var maxFailedDeliveries: Int
    /// Time failing without a single success.
    public var maxFailingDuration: TimeInterval

    public init(maxFailedDeliveries: Int = 50, maxFailingDuration: TimeInterval = 24 * 3600) {
        self.maxFailedDeliveries = maxFailedDeliveries
        self.maxFailingDuration = maxFailingDuration
    }

    /// A policy that never disables (an attempt interrupted by shutdown is not the endpoint's fault).
    public static let never = WebhookDisablePolicy(maxFailedDeliveries: .max, maxFailingDuration: .infinity)

    /// What one settled attempt does to its endpoint's health.
    public enum Change: Sendable, Hashable {
        /// Nothing to write: a success on a healthy endpoint.
        case unchanged
        /// A success after failures: the streak and the failing-since time are cleared.
        case recovered
        /// A failure: the streak (counted when the delivery failed permanently) and the failing-since time move.
        case failing
        /// A failure that crosses the policy: the endpoint is disabled for `reason`.
        case disable(reason: String)
    }

    /// Applies one attempt's result to `endpoint`'s failure streak and failing-since time, and says
    /// whether the endpoint must be disabled. Only an enabled endpoint is disabled.
    public func apply(to endpoint: inout WebhookEndpointRecord, succeeded: Bool, deliveryFailedPermanently: Bool,
                      attemptedAt: Date, now: Date) -> Change {
        if succeeded {
            guard endpoint.failureStreak != 0 || endpoint.failingSince != nil else { return .unchanged }
            endpoint.failureStreak = 0
            endpoint.failingSince = nil
            return .recovered
        }
        endpoint.failingSince = endpoint.failingSince ?? attemptedAt
        if deliveryFailedPermanently { endpoint.failureStreak += 1 }
        guard endpoint.status == .enabled else { return .failing }
        if endpoint.failureStreak >= maxFailedDeliveries {
            return .disable(reason: "\(endpoint.failureStreak) consecutive deliveries failed")
        }
        if let since = endpoint.failingSince, now.timeIntervalSince(since) >= maxFailingDuration {
            return .disable(reason: "every attempt failed for \(Int(now.timeIntervalSince(since))) seconds")
        }
        return .failing
    }
}

extension WebhookEndpointRecord {
    /// The `webhook_endpoint.disabled` event, written in the transaction that disables the endpoint.
    public func disabledEvent(reason: String, at now: Date) -> DomainEvent {
        DomainEvent(type: .webhookEndpointDisabled, actor: "system", workspaceID: workspaceID, projectID: projectID,
                    environment: environment, occurredAt: now,
                    data: ["endpoint_id": .string(id), "reason": .string(reason), "failure_streak": .integer(Int64(failureStreak))])
    }
}
