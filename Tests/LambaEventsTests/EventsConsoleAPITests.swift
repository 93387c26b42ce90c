import Foundation
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import NIOHTTP1
import Testing

/// The console's events routes over a live server: permissions, tenancy, filters and pagination.
@Suite struct EventsConsoleAPITests {
    @Test(arguments: Backend.underTest) func audit_filtersAndCursorPagination_andViewerWithoutAuditReadIsForbidden(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let before = Date().addingTimeInterval(-1)
        try await fixture.writeEvents(7, type: "user.signed_in")
        try await fixture.writeEvents(3, type: "user.signed_out", environment: .production)
        let (_, viewerKey) = try await EventsFixture.addKey(fixture.store, workspaceID: fixture.caller.workspaceID, role: .viewer)
        let (_, developerKey) = try await EventsFixture.addKey(fixture.store, workspaceID: fixture.caller.workspaceID, role: .developer)
        try await fixture.serving { api in
            let key = fixture.ownerKey
            // Pages of 3, newest first, until the cursor runs out.
            var seen: [Int64] = []
            var cursor: String?
            repeat {
                let reply = try await api.call(.GET, "/console/v1/audit?type=user.signed_in&limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key)
                #expect(reply.status == 200)
                seen += reply.json["events"]?.arrayValue?.compactMap { $0.objectValue?["seq"]?.integerValue } ?? []
                cursor = reply.json["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen.count == 7 && seen == seen.sorted(by: >))

            let production = try await api.call(.GET, "/console/v1/projects/\(fixture.projectID)/audit?environment=production", key: key)
            #expect(production.json["events"]?.arrayValue?.count == 3)
            let byActor = try await api.call(.GET, "/console/v1/audit?actor=usr_test&since=\(EventsJSONTime.format(before))", key: key)
            #expect(byActor.json["events"]?.arrayValue?.count == 10)
            let future = try await api.call(.GET, "/console/v1/audit?since=\(EventsJSONTime.format(Date().addingTimeInterval(60)))", key: key)
            #expect(future.json["events"]?.arrayValue?.isEmpty == true)
            let developer = try await api.call(.GET, "/console/v1/audit?project_id=\(fixture.projectID)", key: developerKey)
            #expect(developer.status == 200)

            let viewer = try await api.call(.GET, "/console/v1/audit", key: viewerKey)
            #expect(viewer.status == 403)
            #expect(viewer.json["error"] == "forbidden")
            let viewerProject = try await api.call(.GET, "/console/v1/projects/\(fixture.projectID)/audit", key: viewerKey)
            #expect(viewerProject.status == 403)
            let anonymous = try await api.call(.GET, "/console/v1/audit", key: "lmb_sk_nope")
            #expect(anonymous.status == 401)
            let badTime = try await api.call(.GET, "/console/v1/audit?since=yesterday", key: key)
            #expect(badTime.status == 400 && badTime.json["field"] == "since")
        }
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func webhooks_crud_rotation_settings_andTenancy(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        let (_, foreignKey) = try await EventsFixture.makeWorkspace(fixture.store, slug: "rival")
        let (_, viewerKey) = try await EventsFixture.addKey(fixture.store, workspaceID: fixture.caller.workspaceID, role: .viewer)
        try await fixture.serving { api in
            let key = fixture.ownerKey
            let base = "/console/v1/projects/\(fixture.projectID)/environments/sandbox"
            let created = try await api.call(.POST, base + "/webhooks", key: key, body: [
                "url": "http://127.0.0.1:9/hook", "event_types": ["user.created", "user.created"], "description": "crm",
            ])
            #expect(created.status == 201)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["secret"]?.stringValue?.hasPrefix("whsec_") == true)
            #expect(created.json["event_types"] == ["user.created"])

            let listed = try await api.call(.GET, base + "/webhooks", key: viewerKey)
            #expect(listed.status == 200 && listed.json["endpoints"]?.arrayValue?.count == 1)
            #expect(listed.json["endpoints"]?.arrayValue?.first?.objectValue?["secret"] == nil)
            let viewerCreate = try await api.call(.POST, base + "/webhooks", key: viewerKey, body: ["url": "https://example.com/h"])
            #expect(viewerCreate.status == 403)

            let patched = try await api.call(.PATCH, base + "/webhooks/\(id)", key: key, body: ["max_concurrency": 2])
            #expect(patched.json["max_concurrency"] == 2)
            let rotated = try await api.call(.POST, base + "/webhooks/\(id)/rotate-secret", key: key, body: ["grace_period_seconds": 60])
            #expect(rotated.status == 200 && rotated.json["secret"] != created.json["secret"])
            #expect(rotated.json["previous_secret_expires_at"]?.stringValue != nil)
            let log = try await api.call(.GET, base + "/webhooks/\(id)/deliveries", key: key)
            #expect(log.status == 200 && log.json["deliveries"] == [])

            // Another Workspace's key sees neither the Project nor the endpoint.
            let foreign = try await api.call(.GET, base + "/webhooks/\(id)", key: foreignKey)
            #expect(foreign.status == 404)
            let foreignDelete = try await api.call(.DELETE, base + "/webhooks/\(id)", key: foreignKey)
            #expect(foreignDelete.status == 404)
            let foreignAudit = try await api.call(.GET, "/console/v1/projects/\(fixture.projectID)/audit", key: foreignKey)
            #expect(foreignAudit.status == 404)
            // The same id under the other environment does not exist either.
            let otherEnvironment = try await api.call(.GET, "/console/v1/projects/\(fixture.projectID)/environments/production/webhooks/\(id)", key: key)
            #expect(otherEnvironment.status == 404)

            let production = "/console/v1/projects/\(fixture.projectID)/environments/production"
            let refusedSetting = try await api.call(.PATCH, production + "/webhook-settings", key: key, body: ["allow_private_targets": true])
            #expect(refusedSetting.status == 409)
            let loopback = try await api.call(.POST, production + "/webhooks", key: key, body: ["url": "https://127.0.0.1/hook"])
            #expect(loopback.status == 400 && loopback.json["field"] == "url")
            let plainHTTP = try await api.call(.POST, production + "/webhooks", key: key, body: ["url": "http://example.com/hook"])
            #expect(plainHTTP.status == 400)
            let settings = try await api.call(.GET, base + "/webhook-settings", key: key)
            #expect(settings.json["allow_private_targets"] == true)

            let deleted = try await api.call(.DELETE, base + "/webhooks/\(id)", key: key)
            #expect(deleted.status == 204)
            let gone = try await api.call(.GET, base + "/webhooks/\(id)", key: key)
            #expect(gone.status == 404)

            // Each change wrote its own event.
            let audit = try await api.call(.GET, "/console/v1/projects/\(fixture.projectID)/audit?limit=50", key: key)
            let types = Set(audit.json["events"]?.arrayValue?.compactMap { $0.objectValue?["type"]?.stringValue } ?? [])
            #expect(types.isSuperset(of: ["webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.secret_rotated",
                                          "webhook_endpoint.deleted", "webhook_settings.updated"]))
        }
        await fixture.close()
    }

    @Test(arguments: Backend.underTest) func eventStream_answersAtOnce_orWaitsForTheNextEvent(backend: Backend) async throws {
        let fixture = try await EventsFixture.make(backend)
        try await fixture.writeEvents(2)
        try await fixture.serving { api in
            let first = try await api.call(.GET, "/console/v1/events/stream?after=0&project_id=\(fixture.projectID)", key: fixture.ownerKey)
            #expect(first.status == 200)
            let cursor = try #require(first.json["cursor"]?.integerValue)
            #expect(first.json["events"]?.arrayValue?.isEmpty == false)

            let started = ContinuousClock.now
            let writer = Task {
                try await Task.sleep(for: .milliseconds(500))
                return try await fixture.writeEvents(1, type: "user.late")
            }
            let waited = try await api.call(.GET, "/console/v1/events/stream?after=\(cursor)&wait=30&project_id=\(fixture.projectID)", key: fixture.ownerKey)
            let lateID = try await writer.value[0]
            // Answered when the event arrived, well before the 30 s wait ran out (however loaded the machine).
            #expect(ContinuousClock.now - started < .seconds(25))
            #expect(waited.json["events"]?.arrayValue?.first?.objectValue?["id"] == .string(lateID))

            let empty = try await api.call(.GET, "/console/v1/events/stream?after=\(cursor + 100)&wait=1", key: fixture.ownerKey)
            #expect(empty.json["events"] == [] && empty.json["cursor"] == .integer(cursor + 100))
            let tooLong = try await api.call(.GET, "/console/v1/events/stream?wait=31", key: fixture.ownerKey)
            #expect(tooLong.status == 400)
        }
        await fixture.close()
    }
}

enum EventsJSONTime {
    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}

/// The SSRF guard's refusals, one per range.
@Suite struct WebhookTargetGuardTests {
    @Test(arguments: [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::",
    ])
    func refusesNonPublicAddresses(_ literal: String) throws {
        let address = try #require(IPAddress(literal: literal))
        #expect(address.refusal != nil)
        let host = literal.contains(":") ? "[\(literal)]" : literal
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("https://\(host)/hook", allowPrivate: false) }
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1"])
    func acceptsPublicAddresses(_ literal: String) throws {
        #expect(try #require(IPAddress(literal: literal)).refusal == nil)
    }

    @Test func registration_requiresHTTPS_andRefusesLocalNames_unlessSandboxAllows() throws {
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("http://example.com/hook", allowPrivate: false) }
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("https://localhost/hook", allowPrivate: false) }
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("https://user:pw@example.com/hook", allowPrivate: false) }
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("ftp://example.com/hook", allowPrivate: true) }
        #expect(throws: WebhookTargetError.self) { try WebhookTargetGuard.validate("hook", allowPrivate: true) }
        _ = try WebhookTargetGuard.validate("https://example.com/hook", allowPrivate: false)
        _ = try WebhookTargetGuard.validate("http://127.0.0.1:8080/hook", allowPrivate: true)
    }

    @Test func delivery_refusesUnresolvableNames_andNamesThatReachLoopback() async throws {
        await #expect(throws: WebhookTargetError.self) { try await WebhookTargetGuard.checkAtDelivery("https://lamba-test.invalid/h", allowPrivate: false) }
        let resolved = try await WebhookTargetGuard.resolve("localhost")
        #expect(resolved.allSatisfy { $0.refusal != nil })
    }
}

/// Standard Webhooks signatures against the specification's published example.
@Suite struct StandardWebhooksTests {
    @Test func signature_matchesTheSpecificationExample() throws {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = try StandardWebhooks.signature(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(StandardWebhooks.verify(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body,
                                        header: "v1,bm90LXRoaXM= " + signature))
        #expect(!StandardWebhooks.verify(secret: secret, id: "msg_other", timestamp: 1614265330, body: body, header: signature))
    }
}
