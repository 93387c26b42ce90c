import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// Audit names people (docs/events.md#attribution): a console action records the acting Lamba User
/// and their console session, or the API key and who created it, over a real server.
@Suite("event attribution over HTTP", .serialized)
struct EventAttributionHTTPTests {
    @Test("a console session's actions name the person and the session; an API key's name the key and the person who created it", arguments: Backend.underTest)
    func attribution_namesPersonSessionAndKeyCreator(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .open)
            let person = try await world.person("ada@example.com", name: "Ada")
            var browser = ConsoleBrowser(dependencies)
            _ = try await browser.signIn(client, email: "ada@example.com")
            let session = try #require(try await browser.api(client, .get, "/console/v1/session").json?["id"]?.stringValue)
            let workspace = try #require(try await browser.api(client, .post, "/console/v1/workspaces", ["slug": "ada-co", "name": "Ada Co"]).json?["id"]?.stringValue)
            let project = try #require(try await browser.api(client, .post, "/console/v1/projects", ["slug": "ada-app", "name": "Ada App"]).json?["id"]?.stringValue)
            let created = try await browser.api(client, .post, "/console/v1/api-keys", ["name": "deploys", "role": "admin"])
            #expect(created.status == .created, "\(created.text)")
            let keyID = try #require(created.json?["id"]?.stringValue)
            let secret = try #require(created.json?["secret"]?.stringValue)
            let role = try await client.execute(uri: "/console/v1/projects/\(project)/roles", method: .post, headers: bearer(secret),
                                                body: body(["name": "editor", "description": "Edits", "permissions": ["docs:write"]]))
            #expect(role.status == .created, "\(role.text)")

            func audit(_ query: String) async throws -> [JSONObject] {
                let page = try await client.execute(uri: "/console/v1/audit?" + query, method: .get, headers: bearer(secret, json: false))
                #expect(page.status == .ok, "\(query): \(page.text)")
                return page.json?["events"]?.arrayValue?.compactMap(\.objectValue) ?? []
            }
            let byPerson = try await audit("actor_type=user")
            let types = Set(byPerson.compactMap { $0["type"]?.stringValue })
            #expect(types.isSuperset(of: ["workspace.created", "project.created", "api_key.created"]), "\(types)")
            for event in byPerson {
                #expect(event["actor"]?.stringValue == person.id && event["workspace_id"]?.stringValue == workspace)
                #expect(event["actor_detail"] == .object(["type": "user", "console_session_id": .string(session), "created_by": .null]), "\(event)")
            }
            let projectEvent = try #require(byPerson.first { $0["type"] == "project.created" })
            #expect(projectEvent["project_id"]?.stringValue == project)

            let byKey = try await audit("actor_type=api_key")
            #expect(byKey.map { $0["type"] } == ["role.created"])
            #expect(byKey.first?["actor"]?.stringValue == keyID && byKey.first?["project_id"]?.stringValue == project)
            #expect(byKey.first?["actor_detail"] == .object(["type": "api_key", "console_session_id": .null, "created_by": .string(person.id)]))

            #expect(try await audit("console_session_id=" + session).count == byPerson.count)
            #expect(try await audit("console_session_id=cses_unknown").isEmpty)
            let bad = try await client.execute(uri: "/console/v1/audit?actor_type=robot", method: .get, headers: bearer(secret, json: false))
            #expect(bad.status == .badRequest && bad.json?["field"] == "actor_type")
        }
    }

    @Test("events an action causes carry its attribution: a role change's runtime_scope.revoked names the operator's key", arguments: Backend.underTest)
    func attribution_followsTheCausedEvents(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            _ = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let change = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/members/\(setup.memberID)", method: .patch,
                                                  headers: bearer(setup.apiKey), body: body(["roles": ["viewer"]]))
            #expect(change.status == .ok)
            let page = try await client.execute(uri: "/console/v1/audit?type=runtime_scope.revoked", method: .get, headers: bearer(setup.apiKey, json: false))
            let revoked = try #require(page.json?["events"]?.arrayValue?.first?.objectValue, "\(page.text)")
            #expect(revoked["actor"]?.stringValue?.hasPrefix("key_") == true)
            #expect(revoked["actor_detail"]?.objectValue?["type"] == "api_key")
            // A runtime sign-in is the user's own, through no console session.
            let created = try await client.execute(uri: "/console/v1/audit?type=runtime_scope.created", method: .get, headers: bearer(setup.apiKey, json: false))
            let scope = try #require(created.json?["events"]?.arrayValue?.first?.objectValue, "\(created.text)")
            #expect(scope["actor_detail"]?.objectValue?["console_session_id"] == .null)
        }
    }

    @Test("a Project console role reads the Workspace-wide audit log and stream of its Projects only", arguments: Backend.underTest)
    func audit_projectConsoleRoleSeesItsProjectsOnly(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let project = try #require(fixture.ids["project_id"])
            let other = try await client.execute(uri: "/console/v1/projects", method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                 body: body(["slug": "a-other", "name": "Other"]))
            let otherID = try #require(other.json?["id"]?.stringValue)
            let world = try await ConsoleWorld.make(dependencies)
            let person = try await world.person("auditor@a.example")
            try await world.identity.write { tx in
                try tx.insert(TeamMember(workspaceID: fixture.a.workspace.id, userID: person.id, workspaceRole: .billing,
                                         projectConsoleRoles: [project: .developer]))
            }
            var browser = ConsoleBrowser(dependencies)
            _ = try await browser.signIn(client, email: person.email)
            for path in ["/console/v1/audit?limit=200", "/console/v1/events/stream?limit=200"] {
                let page = try await browser.api(client, .get, path)
                #expect(page.status == .ok, "\(path): \(page.text)")
                let events = (page.json?["events"]?.arrayValue ?? []).compactMap { $0.objectValue }
                #expect(!events.isEmpty && events.allSatisfy { $0["project_id"]?.stringValue == project }, "\(path)")
                #expect(!page.text.contains(otherID), "\(path)")
            }
            // The owner's key reads them all, the other Project's creation included.
            let all = try await client.execute(uri: "/console/v1/audit?limit=200", method: .get, headers: bearer(fixture.a.apiKeySecret, json: false))
            #expect(all.text.contains(otherID))
            // A billing role without Project console roles reads nothing.
            let billing = try await world.person("billing@a.example")
            try await world.identity.write { tx in
                try tx.insert(TeamMember(workspaceID: fixture.a.workspace.id, userID: billing.id, workspaceRole: .billing))
            }
            var refused = ConsoleBrowser(dependencies)
            _ = try await refused.signIn(client, email: billing.email)
            #expect(try await refused.api(client, .get, "/console/v1/audit").status == .forbidden)
        }
    }
}
