import Foundation
import LambaJOSE
import LambaModel
import LambaPostgres
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Logging
import Testing

/// Delivery through a real receiver on 127.0.0.1 that checks Standard Webhooks signatures.
@Suite(.serialized) struct WebhookDeliveryTests {
    @Test(arguments: Backend.underTest) func everyEvent_arrivesOnce_signed_withTheEnvelope(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, _) = try await fixture.endpoint(receiver, "all")
        let ids = try await fixture.writeEvents(40)
        try await fixture.dispatching {
            try await eventually("40 deliveries") { receiver.acceptedIDs("all").isSuperset(of: ids) }
            try await eventually("41 outcomes recorded") {
                try await fixture.store.read { r in try r.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'succeeded'").int("n") } == 41
            }
        }
        // The endpoint also receives its own `webhook_endpoint.created`, a fact of the same environment.
        let received = receiver.deliveries("all")
        #expect(Set(received.map(\.id)) == Set(ids).union([try #require(received.first { !ids.contains($0.id) }?.id)]))
        #expect(received.count == 41)
        #expect(received.allSatisfy { $0.verified })
        let body = try #require(received.first { $0.id == ids[0] }).body
        let envelope = try JSON.decodeObject(body)
        #expect(envelope.names == ["type", "timestamp", "data"])
        #expect(envelope["type"] == "user.signed_in")
        let data = try #require(envelope["data"]?.objectValue)
        #expect(data["event_id"] == .string(ids[0]))
        #expect(data["project_id"] == .string(fixture.projectID))
        #expect(data["workspace_id"] == .string(fixture.caller.workspaceID))
        #expect(data["environment"] == "sandbox")
        #expect(data["n"] == 0)
        // The log holds one succeeded attempt per delivery, tied to the endpoint's Project.
        let log = try await fixture.webhooks.deliveries(fixture.caller, projectID: fixture.projectID, environment: .sandbox,
                                                        id: endpoint.id, state: nil, before: nil, limit: 100)
        #expect(log.filter { $0.eventType == "user.signed_in" }.count == 40)
        #expect(log.allSatisfy { $0.state == .succeeded && $0.attemptLog.count == 1 && $0.attemptLog[0].statusCode == 204 })
        #expect(log.allSatisfy { $0.projectID == fixture.projectID && $0.workspaceID == fixture.caller.workspaceID })
        await receiver.stop()
        await fixture.close()
    }

    /// Three dispatchers, each with its own store on one database, as three `lamba serve` processes
    /// run them: a delivery is claimed by one of them per attempt (`FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL, the write lock on SQLite), so each event reaches the receiver once per attempt.
    @Test(arguments: Backend.underTest) func severalDispatchers_oneDatabase_eachAttemptMadeOnce(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, _) = try await fixture.endpoint(receiver, "shared", concurrency: 16)
        // Every event fails its first try and succeeds on its second: exactly two requests per event.
        receiver.configure("shared") { $0.failFirst = 1 }
        let ids = try await fixture.writeEvents(60)
        var stores: [any Store] = [fixture.store]
        for _ in 0..<2 { stores.append(try await StoreFactory.open(fixture.database, poolSize: 2)) }
        var logger = Logger(label: "lamba-events-test")
        logger.logLevel = .critical
        let dispatchers = stores.map { store in
            let dispatcher = WebhookDispatcher(store: store, masterKey: fixture.masterKey, configuration: EventsFixture.fastDispatch(), logger: logger)
            return Task { await dispatcher.run() }
        }
        do {
            try await eventually(timeout: .seconds(60), "every event accepted") { receiver.acceptedIDs("shared").isSuperset(of: ids) }
            try await eventually(timeout: .seconds(30), "every delivery settled") {
                try await fixture.store.read { r in
                    try r.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND state <> 'succeeded'", [.text(endpoint.id)]).int("n")
                } == 0
            }
            // Long enough for a doubly claimed attempt to arrive: several poll intervals and backoffs.
            try await Task.sleep(for: .seconds(1))
        } catch {
            dispatchers.forEach { $0.cancel() }
            for task in dispatchers { await task.value }
            throw error
        }
        dispatchers.forEach { $0.cancel() }
        for task in dispatchers { await task.value }
        for store in stores.dropFirst() { await store.close() }

        let received = receiver.deliveries("shared")
        for id in ids {
            #expect(received.filter { $0.id == id }.count == 2, "\(id): one failed and one accepted request")
        }
        let attempts = try await fixture.store.read { r in
            try r.query("SELECT delivery_id, COUNT(*) AS n FROM webhook_delivery_attempts WHERE endpoint_id = $1 GROUP BY delivery_id",
                        [.text(endpoint.id)]).map { try $0.int("n") }
        }
        #expect(attempts.count == ids.count + 1, "a delivery per event, and the endpoint's own created event")
        #expect(attempts.allSatisfy { $0 == 2 }, "two attempts logged per delivery: \(attempts)")
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func receiverDown_thenBack_everythingArrives_byteIdentical(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        try await fixture.endpoint(receiver, "flaky")
        receiver.configure("flaky") { $0.down = true }
        let ids = try await fixture.writeEvents(25)
        try await fixture.dispatching {
            try await eventually("several failed tries") { receiver.deliveries("flaky").count >= 60 }
            receiver.configure("flaky") { $0.down = false }
            try await eventually("all 25 after recovery") { receiver.acceptedIDs("flaky").isSuperset(of: ids) }
        }
        for id in ids {
            let bodies = Set(receiver.deliveries("flaky").filter { $0.id == id }.map(\.body))
            #expect(bodies.count == 1, "every attempt of \(id) carries the same bytes")
        }
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func slowReceiver_doesNotHoldUpOtherEndpoints(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        try await fixture.endpoint(receiver, "slow", concurrency: 1)
        try await fixture.endpoint(receiver, "fast")
        // The slow receiver answers after 20 s: the fast endpoint must get everything before that
        // first answer, an order that holds however loaded the machine is.
        receiver.configure("slow") { $0.delay = .seconds(20) }
        let ids = try await fixture.writeEvents(20)
        try await fixture.dispatching {
            try await eventually(timeout: .seconds(15), "the fast endpoint to get everything") { receiver.acceptedIDs("fast").isSuperset(of: ids) }
        }
        #expect(receiver.deliveries("slow").isEmpty, "the fast endpoint finished while the slow one's first request was still open")
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func rotation_signsWithBothSecretsDuringGrace_thenOnlyTheNew(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, oldSecret) = try await fixture.endpoint(receiver, "rot")
        let (_, newSecret) = try await fixture.webhooks.rotateSecret(fixture.caller, projectID: fixture.projectID, environment: .sandbox,
                                                                     id: endpoint.id, grace: 3600)
        #expect(newSecret != oldSecret && newSecret.hasPrefix("whsec_"))
        receiver.configure("rot") { $0.secrets = [oldSecret, newSecret] }
        let firstIDs = try await fixture.writeEvents(3)
        try await fixture.dispatching {
            try await eventually("3 deliveries verified with both secrets") { receiver.acceptedIDs("rot").isSuperset(of: firstIDs) }
        }
        #expect(receiver.deliveries("rot").allSatisfy { $0.signature.split(separator: " ").count == 2 })
        // Grace over: only the new secret signs.
        let (_, newest) = try await fixture.webhooks.rotateSecret(fixture.caller, projectID: fixture.projectID, environment: .sandbox,
                                                                  id: endpoint.id, grace: 0)
        receiver.configure("rot") { $0.secrets = [newest] }
        let lastID = try await fixture.writeEvents(1)[0]
        try await fixture.dispatching {
            try await eventually("the fourth delivery") { receiver.acceptedIDs("rot").contains(lastID) }
        }
        let last = try #require(receiver.deliveries("rot").last { $0.id == lastID })
        #expect(last.signature.split(separator: " ").count == 1)
        #expect(!StandardWebhooks.verify(secret: newSecret, id: last.id, timestamp: last.timestamp, body: last.body, header: last.signature))
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func failureStreak_disablesEndpoint_withAnEvent_andEnableResumes(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, _) = try await fixture.endpoint(receiver, "dead")
        receiver.configure("dead") { $0.failFirst = 1000 }
        var configuration = EventsFixture.fastDispatch()
        configuration.maxAttempts = 2
        configuration.disablePolicy = WebhookDisablePolicy(maxFailedDeliveries: 3, maxFailingDuration: 3600)
        try await fixture.writeEvents(3)
        try await fixture.dispatching(configuration) {
            try await eventually("the endpoint to be disabled") {
                try await fixture.webhooks.endpoint(fixture.caller, projectID: fixture.projectID, environment: .sandbox, id: endpoint.id).status == .disabled
            }
        }
        let events = try await fixture.store.read { r in try r.events(after: 0, limit: 1000) }
        let disabled = try #require(events.last { $0.event.type == "webhook_endpoint.disabled" })
        #expect(disabled.event.projectID == fixture.projectID && disabled.event.actor == "system")
        // Enabled again and with a healthy receiver, new events flow.
        receiver.configure("dead") { $0.failFirst = 0 }
        _ = try await fixture.webhooks.enableEndpoint(fixture.caller, projectID: fixture.projectID, environment: .sandbox, id: endpoint.id)
        let ids = try await fixture.writeEvents(2)
        try await fixture.dispatching {
            try await eventually("deliveries after enable") { receiver.acceptedIDs("dead").isSuperset(of: ids) }
        }
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func replay_ofOneEventAndOfARange_sendsTheOriginalBytes(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, _) = try await fixture.endpoint(receiver, "replay")
        let start = Date().addingTimeInterval(-1)
        let ids = try await fixture.writeEvents(5)
        try await fixture.dispatching {
            func copies() -> Int { receiver.deliveries("replay").filter { ids.contains($0.id) }.count }
            try await eventually("first deliveries") { copies() == 5 }
            let one = try await fixture.webhooks.replay(fixture.caller, projectID: fixture.projectID, environment: .sandbox, id: endpoint.id,
                                                        eventID: ids[2], since: nil, until: nil)
            #expect(one == 1)
            try await eventually("the replay of one") { copies() == 6 }
            let range = try await fixture.webhooks.replay(fixture.caller, projectID: fixture.projectID, environment: .sandbox, id: endpoint.id,
                                                          eventID: nil, since: start, until: Date().addingTimeInterval(1))
            #expect(range >= 5)
            try await eventually("the range replay") { copies() == 11 }
        }
        for id in ids {
            let copies = receiver.deliveries("replay").filter { $0.id == id }
            #expect(copies.count >= 2 && Set(copies.map(\.body)).count == 1)
        }
        await receiver.stop()
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func ssrfGuard_atDelivery_refusesPrivateTargetsWithoutTheSandboxSetting(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let receiver = try await Receiver.start()
        let (endpoint, _) = try await fixture.endpoint(receiver, "guarded")
        try await fixture.webhooks.setAllowPrivateTargets(fixture.caller, projectID: fixture.projectID, environment: .sandbox, false)
        var configuration = EventsFixture.fastDispatch()
        configuration.maxAttempts = 1
        try await fixture.writeEvents(1)
        try await fixture.dispatching(configuration) {
            try await eventually("the refused attempt to be logged") {
                let log = try await fixture.webhooks.deliveries(fixture.caller, projectID: fixture.projectID, environment: .sandbox,
                                                                id: endpoint.id, state: .failedPermanently, before: nil, limit: 10)
                return log.first?.attemptLog.first?.error?.hasPrefix("refused:") == true
            }
        }
        #expect(receiver.deliveries("guarded").isEmpty)
        await receiver.stop()
        await fixture.close()
    }
}
