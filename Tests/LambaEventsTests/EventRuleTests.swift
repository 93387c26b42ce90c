import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// The events domain's pure rules (docs/events.md), without a store or a server.
@Suite struct EventRuleTests {
    /// xorshift64*, seeded: the jitter is random but the test repeatable.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
    }

    static func endpoint(environment: LambaModel.Environment = .sandbox, eventTypes: [String] = [], startAfterSeq: Int64 = 10) -> WebhookEndpointRecord {
        WebhookEndpointRecord(id: "whe_1", workspaceID: "wsp_1", projectID: "prj_1", environment: environment, url: "https://example.com/h",
                              description: "", eventTypes: eventTypes, secretSealed: "sealed", maxConcurrency: 4, startAfterSeq: startAfterSeq,
                              createdAt: Date(timeIntervalSince1970: 0))
    }

    /// docs/events.md#retries
    @Test func retrySchedule_backsOffExponentially_upToTheCap_andGivesUp() {
        let schedule = WebhookRetrySchedule()
        #expect(schedule.ceiling(afterAttempt: 1) == 5)
        #expect(schedule.ceiling(afterAttempt: 2) == 10)
        #expect(schedule.ceiling(afterAttempt: 20) == 3600)
        let created = Date(timeIntervalSince1970: 1_000_000)
        var generator = SeededGenerator()
        for attempt in [1, 2, 10, 39] {
            let retry = schedule.retryTime(afterAttempt: attempt, deliveryCreatedAt: created, now: created, using: &generator)
            let wait = retry.map { $0.timeIntervalSince(created) }
            #expect(wait.map { (0...schedule.ceiling(afterAttempt: attempt)).contains($0) } == true)
        }
        #expect(schedule.retryTime(afterAttempt: 40, deliveryCreatedAt: created, now: created, using: &generator) == nil)
        let late = created.addingTimeInterval(24 * 3600 + 1)
        #expect(schedule.retryTime(afterAttempt: 1, deliveryCreatedAt: created, now: late, using: &generator) == nil)
    }

    /// docs/events.md#disable-after-failures
    @Test func disablePolicy_countsPermanentFailures_andDisablesAtTheLimit() {
        let policy = WebhookDisablePolicy(maxFailedDeliveries: 2, maxFailingDuration: 3600)
        var endpoint = Self.endpoint()
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect(policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: false, attemptedAt: start, now: start) == .failing)
        #expect(endpoint.failureStreak == 0 && endpoint.failingSince == start)
        #expect(policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: true, attemptedAt: start, now: start) == .failing)
        #expect(policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: true, attemptedAt: start, now: start)
                == .disable(reason: "2 consecutive deliveries failed"))
        #expect(endpoint.failureStreak == 2)
        let event = endpoint.disabledEvent(reason: "2 consecutive deliveries failed", at: start)
        #expect(event.type == .webhookEndpointDisabled && event.actor == "system" && event.data["failure_streak"] == .integer(2))
    }

    @Test func disablePolicy_disablesAfterFailingTooLong_andASuccessClearsTheStreak() {
        let policy = WebhookDisablePolicy(maxFailedDeliveries: 50, maxFailingDuration: 3600)
        var endpoint = Self.endpoint()
        let start = Date(timeIntervalSince1970: 1_000_000)
        _ = policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: true, attemptedAt: start, now: start)
        #expect(policy.apply(to: &endpoint, succeeded: true, deliveryFailedPermanently: false, attemptedAt: start, now: start) == .recovered)
        #expect(endpoint.failureStreak == 0 && endpoint.failingSince == nil)
        #expect(policy.apply(to: &endpoint, succeeded: true, deliveryFailedPermanently: false, attemptedAt: start, now: start) == .unchanged)
        _ = policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: false, attemptedAt: start, now: start)
        let later = start.addingTimeInterval(3600)
        #expect(policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: false, attemptedAt: later, now: later)
                == .disable(reason: "every attempt failed for 3600 seconds"))
        endpoint.status = .disabled
        #expect(policy.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: true, attemptedAt: later, now: later) == .failing)
        #expect(WebhookDisablePolicy.never.apply(to: &endpoint, succeeded: false, deliveryFailedPermanently: false, attemptedAt: later,
                                                 now: later.addingTimeInterval(1e9)) == .failing)
    }

    /// docs/events.md#fan-out
    @Test func fanOut_sendsLaterSubscribedEventsOfTheEnvironment_andProjectWideOnes() {
        let endpoint = Self.endpoint(environment: .sandbox, eventTypes: ["user.created"], startAfterSeq: 10)
        #expect(endpoint.receives(eventSeq: 11, type: "user.created", environment: "sandbox"))
        #expect(endpoint.receives(eventSeq: 11, type: "user.created", environment: nil))
        #expect(!endpoint.receives(eventSeq: 10, type: "user.created", environment: "sandbox"))
        #expect(!endpoint.receives(eventSeq: 11, type: "user.created", environment: "production"))
        #expect(!endpoint.receives(eventSeq: 11, type: "project.created", environment: "sandbox"))
    }

    /// docs/events.md#private-address-refusal
    @Test func privateTargets_onlyInSandbox() throws {
        #expect(WebhookTargetGuard.privateTargetsPermitted(in: .sandbox))
        #expect(!WebhookTargetGuard.privateTargetsPermitted(in: .production))
        #expect(throws: DomainError.refused("private webhook targets are only allowed in sandbox")) {
            try WebhookEndpointRules.checkPrivateTargetsSetting(true, environment: .production)
        }
        try WebhookEndpointRules.checkPrivateTargetsSetting(false, environment: .production)
    }

    /// docs/events.md#payload
    @Test func payload_carriesContextThenData() {
        let body = WebhookPayload.body(type: "user.created", occurredAt: "2026-01-02T03:04:05.678Z", eventID: "evt_1", actor: "usr_1",
                                       workspaceID: "wsp_1", projectID: nil, environment: nil, sessionID: nil, data: #"{"event_id":"x","n":1}"#)
        let decoded = try? JSON.decode(String(decoding: body, as: UTF8.self), limits: JSONLimits(maxBytes: 1 << 16, maxDepth: 8))
        guard case .object(let object)? = decoded, case .object(let data)? = object["data"] else {
            Issue.record("not an object: \(String(decoding: body, as: UTF8.self))")
            return
        }
        #expect(object["type"] == .string("user.created") && object["timestamp"] == .string("2026-01-02T03:04:05.678Z"))
        #expect(data["event_id"] == .string("evt_1") && data["n"] == .integer(1) && data["workspace_id"] == .string("wsp_1"))
        #expect(data["project_id"] == nil)
    }
}

/// Store errors are translated where they arise: a unique violation of a domain write is a conflict
/// at the store boundary; the raw store keeps its typed error for code that handles it itself.
@Suite struct StoreBoundaryErrorTests {
    @Test(arguments: Backend.underTest)
    func uniqueViolation_ofADomainWrite_isAConflict_andTheRawStoreKeepsItsError(backend: Backend) async throws {
        let store = try await TestDatabases.openStore(backend, prefix: "boundary")
        let workspace = Workspace(slug: "taken-\(UUID().uuidString.prefix(8).lowercased())", name: "Taken")
        try await SQLIdentityStore(store: store).write { tx in try tx.insert(workspace) }
        let twin = Workspace(slug: workspace.slug, name: "Twin")
        await #expect(throws: DomainError.conflict("the resource exists already")) {
            try await DomainIdentityStore(store: store).write { tx in try tx.insert(twin) }
        }
        await #expect(throws: DomainError.conflict("the resource exists already")) {
            try await store.withDomainTransaction { tx in try SQLIdentityRecords(reader: tx, transaction: tx).insert(twin) }
        }
        let raw = await #expect(throws: StoreError.self) {
            try await SQLIdentityStore(store: store).write { tx in try tx.insert(twin) }
        }
        guard case .uniqueViolation? = raw else {
            Issue.record("expected uniqueViolation, got \(String(describing: raw))")
            await store.close()
            return
        }
        await store.close()
    }
}
