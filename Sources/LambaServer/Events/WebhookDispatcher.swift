public import Foundation
public import LambaJOSE
public import LambaModel
public import LambaStore
public import Logging

internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import Synchronization

/// Tuning of webhook delivery. Production uses the defaults; tests shorten them through the
/// `LAMBA_WEBHOOK_*` variables so that hours of retries play out in seconds.
public struct WebhookDispatchConfiguration: Sendable {
    /// How often the outbox and the retry queue are checked when nothing woke the dispatcher.
    public var pollInterval: Duration = .milliseconds(500)
    /// When failed attempts are tried again, and when a delivery gives up (the domain's rule).
    public var retrySchedule = WebhookRetrySchedule()
    public var backoffBase: TimeInterval {
        get { retrySchedule.backoffBase }
        set { retrySchedule.backoffBase = newValue }
    }
    public var backoffCap: TimeInterval {
        get { retrySchedule.backoffCap }
        set { retrySchedule.backoffCap = newValue }
    }
    public var maxAttempts: Int {
        get { retrySchedule.maxAttempts }
        set { retrySchedule.maxAttempts = newValue }
    }
    public var maxDeliveryAge: TimeInterval {
        get { retrySchedule.maxDeliveryAge }
        set { retrySchedule.maxDeliveryAge = newValue }
    }
    public var requestTimeout: TimeInterval = 10
    /// How long a claim holds a delivery; a process that dies lets it go when this runs out.
    public var lease: TimeInterval = 60
    /// Deliveries in flight in this process, over all endpoints.
    public var maxInFlight: Int = 64
    public var batchSize: Int = 200
    public var disablePolicy = WebhookDisablePolicy()

    public init() {}

    public enum Variable {
        public static let pollInterval = "LAMBA_WEBHOOK_POLL_MS"
        public static let backoffBase = "LAMBA_WEBHOOK_BACKOFF_BASE_MS"
        public static let backoffCap = "LAMBA_WEBHOOK_BACKOFF_CAP_MS"
        public static let maxAttempts = "LAMBA_WEBHOOK_MAX_ATTEMPTS"
        public static let maxDeliveryAge = "LAMBA_WEBHOOK_MAX_AGE_SECONDS"
        public static let requestTimeout = "LAMBA_WEBHOOK_TIMEOUT_MS"
        public static let lease = "LAMBA_WEBHOOK_LEASE_MS"
        public static let maxInFlight = "LAMBA_WEBHOOK_CONCURRENCY"
        public static let disableAfterFailedDeliveries = "LAMBA_WEBHOOK_DISABLE_AFTER_FAILED_DELIVERIES"
        public static let disableAfterFailingSeconds = "LAMBA_WEBHOOK_DISABLE_AFTER_FAILING_SECONDS"
    }

    /// Reads the `LAMBA_WEBHOOK_*` variables; each must be a positive integer.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> Self {
        func positive(_ name: String) throws(ConfigurationError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), value > 0 else { throw ConfigurationError(setting: name, reason: "must be a positive integer, got \"\(text)\"") }
            return value
        }
        var c = Self()
        if let v = try positive(Variable.pollInterval) { c.pollInterval = .milliseconds(v) }
        if let v = try positive(Variable.backoffBase) { c.backoffBase = Double(v) / 1000 }
        if let v = try positive(Variable.backoffCap) { c.backoffCap = Double(v) / 1000 }
        if let v = try positive(Variable.maxAttempts) { c.maxAttempts = v }
        if let v = try positive(Variable.maxDeliveryAge) { c.maxDeliveryAge = Double(v) }
        if let v = try positive(Variable.requestTimeout) { c.requestTimeout = Double(v) / 1000 }
        if let v = try positive(Variable.lease) { c.lease = Double(v) / 1000 }
        if let v = try positive(Variable.maxInFlight) { c.maxInFlight = v }
        if let v = try positive(Variable.disableAfterFailedDeliveries) { c.disablePolicy.maxFailedDeliveries = v }
        if let v = try positive(Variable.disableAfterFailingSeconds) { c.disablePolicy.maxFailingDuration = Double(v) }
        guard c.lease > c.requestTimeout else {
            throw ConfigurationError(setting: Variable.lease, reason: "must be longer than \(Variable.requestTimeout)")
        }
        return c
    }

    /// When to retry after failed attempt number `attempt`, or nil when the delivery is out of tries.
    public func retryTime(afterAttempt attempt: Int, deliveryCreatedAt: Date, now: Date) -> Date? {
        retrySchedule.retryTime(afterAttempt: attempt, deliveryCreatedAt: deliveryCreatedAt, now: now)
    }
}

/// Delivers the outbox to webhook endpoints, at least once (docs/events.md#delivery-at-least-once). Each loop turns new outbox events into
/// deliveries, claims the due ones under a lease and sends each in its own task, so that a slow
/// endpoint holds only its own concurrency slots. Several processes may run one each.
public final class WebhookDispatcher: Sendable {
    public static let userAgent = "Lamba-Webhooks/1"
    static let excerptLimit = 1024

    let store: any Store
    let secrets: WebhookSecretBox
    public let configuration: WebhookDispatchConfiguration
    let logger: Logger
    let wakeup = Wakeup()
    let inFlight = Mutex(0)

    public init(store: any Store, masterKey: MasterKey, configuration: WebhookDispatchConfiguration, logger: Logger) {
        self.store = store
        self.secrets = WebhookSecretBox(masterKey: masterKey)
        self.configuration = configuration
        self.logger = logger
    }

    /// Asks the dispatcher to look at the outbox now instead of at its next poll.
    public func wake() {
        wakeup.signal()
    }

    /// Runs until the task is cancelled. Deliveries in flight then are handed back to the queue.
    public func run() async {
        var clientConfiguration = HTTPClient.Configuration()
        // A redirect could lead to a private target that the guard never saw.
        clientConfiguration.redirectConfiguration = .disallow
        let timeout = TimeAmount.milliseconds(Int64(configuration.requestTimeout * 1000))
        clientConfiguration.timeout = .init(connect: timeout, read: timeout)
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, configuration.maxInFlight)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                var claimedFull = false
                do {
                    let now = Date()
                    let batch = configuration.batchSize
                    while try await store.withTransaction({ tx in try tx.fanOutWebhookDeliveries(limit: batch, now: now) }) == batch {}
                    let free = configuration.maxInFlight - inFlight.withLock { $0 }
                    if free > 0 {
                        let lease = configuration.lease
                        let jobs = try await store.withTransaction { tx in try tx.claimWebhookDeliveries(limit: free, now: Date(), lease: lease) }
                        claimedFull = jobs.count == free
                        for job in jobs {
                            inFlight.withLock { $0 += 1 }
                            group.addTask {
                                await self.deliver(job, client: client)
                                self.inFlight.withLock { $0 -= 1 }
                                self.wakeup.signal()
                            }
                        }
                    }
                } catch {
                    logger.error("webhook dispatch failed", metadata: ["error": .string(String(describing: error))])
                }
                if !claimedFull { await wakeup.wait(timeout: configuration.pollInterval) }
            }
        }
        try? await client.shutdown()
    }

    /// One attempt of one delivery, then its outcome recorded in one transaction.
    func deliver(_ job: WebhookJob, client: HTTPClient) async {
        let attemptedAt = Date()
        let started = ContinuousClock.now
        var statusCode: Int?
        var excerpt: String?
        var failure: String?
        do {
            let url = try await WebhookTargetGuard.checkAtDelivery(job.url, allowPrivate: job.allowPrivateTargets)
            var signingSecrets = [try secrets.open(job.secretSealed, endpointID: job.endpointID)]
            if let previous = job.previousSecretSealed, let expiry = job.previousSecretExpiresAt, expiry > attemptedAt {
                signingSecrets.append(try secrets.open(previous, endpointID: job.endpointID))
            }
            let timestamp = Int(attemptedAt.timeIntervalSince1970)
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: Self.userAgent)
            request.headers.add(name: "webhook-id", value: job.eventID)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            request.headers.add(name: "webhook-signature", value: try StandardWebhooks.signatureHeader(
                secrets: signingSecrets, id: job.eventID, timestamp: timestamp, body: job.body))
            request.body = .bytes(ByteBuffer(bytes: job.body))
            let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.requestTimeout * 1000)))
            statusCode = Int(response.status.code)
            excerpt = try await Self.excerpt(of: response.body)
        } catch let error as WebhookTargetError {
            failure = "refused: \(error.reason)"
        } catch {
            if Task.isCancelled {
                await release(job)
                return
            }
            failure = Self.describe(error)
        }
        let latency = started.duration(to: .now)
        let milliseconds = latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000
        let record = WebhookAttemptRecord(attempt: job.attempt, attemptedAt: attemptedAt, statusCode: statusCode,
                                          latencyMilliseconds: milliseconds, responseExcerpt: excerpt, error: failure)
        let now = Date()
        let retryAt = record.succeeded ? nil : configuration.retryTime(afterAttempt: job.attempt, deliveryCreatedAt: job.deliveryCreatedAt, now: now)
        let outcome = WebhookAttemptOutcome(record: record, retryAt: retryAt)
        let policy = configuration.disablePolicy
        do {
            let disabled = try await store.withTransaction { tx in try tx.completeWebhookDelivery(job, outcome: outcome, policy: policy, now: now) }
            if disabled { logger.warning("webhook endpoint disabled", metadata: ["endpoint_id": .string(job.endpointID)]) }
        } catch {
            // The lease runs out and another claim retries: at least once, never lost.
            logger.error("webhook outcome not recorded", metadata: ["delivery_id": .string(job.deliveryID), "error": .string(String(describing: error))])
        }
    }

    /// Hands a delivery interrupted by shutdown back to the queue for an immediate retry, logged as such.
    private func release(_ job: WebhookJob) async {
        let record = WebhookAttemptRecord(attempt: job.attempt, attemptedAt: Date(), statusCode: nil, latencyMilliseconds: 0,
                                          responseExcerpt: nil, error: "interrupted by shutdown")
        let outcome = WebhookAttemptOutcome(record: record, retryAt: Date())
        _ = try? await store.withTransaction { tx in try tx.completeWebhookDelivery(job, outcome: outcome, policy: .never, now: Date()) }
    }

    /// At most 1 KiB of the response, cut at a character boundary.
    static func excerpt(of body: HTTPClientResponse.Body) async throws -> String? {
        var bytes: [UInt8] = []
        for try await chunk in body {
            bytes.append(contentsOf: chunk.readableBytesView.prefix(excerptLimit - bytes.count))
            if bytes.count >= excerptLimit { break }
        }
        guard !bytes.isEmpty else { return nil }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.utf8.count > excerptLimit { text.removeLast() }
        return text
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect timeout"
            case .readTimeout, .deadlineExceeded: return "timeout"
            case .remoteConnectionClosed: return "connection closed by the receiver"
            default: return "HTTP client error: \(error)"
            }
        }
        return String(describing: error).prefix(300).description
    }
}

/// A wake-up signal that is never lost: a signal with no one waiting is kept for the next wait.
final class Wakeup: Sendable {
    private struct State: ~Copyable {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    func wait(timeout: Duration) async {
        let timer = Task { [weak self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.signal()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }
}
