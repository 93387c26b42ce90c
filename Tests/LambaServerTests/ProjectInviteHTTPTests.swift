import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaPasswords
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// `POST /console/v1/projects/{id}/members` by email is an invite: it says nothing about whether
/// the email has an account and attaches no one (docs/access-model.md#invites-not-lookups).
@Suite("project invites by email over HTTP")
struct ProjectInviteHTTPTests {
    /// The members an answer may differ in between two invites: their ids, the email typed, the
    /// one-time token and the times.
    static let varying: Set<String> = ["id", "email", "token", "created_at", "expires_at"]

    /// The raw body with the values of the varying members blanked out, everything else as sent.
    static func blanked(_ response: TestResponse) throws -> String {
        var text = response.text
        let object = try #require(response.json)
        for name in varying {
            guard let value = object[name]?.stringValue else { continue }
            text = text.replacingOccurrences(of: JSON.encodeString(.string(value)), with: "\"…\"")
        }
        return text
    }

    @Test("a known and an unknown email answer byte for byte alike apart from ids, the email, the token and the times", arguments: Backend.underTest)
    func addByEmail_knownAndUnknownAnswerAlike(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let path = "/console/v1/projects/\(fixture.ids["project_id"]!)/members"
            // owner@b.example has an account (the other Workspace's owner); absent@b.example has none. Same length.
            let known = try await client.execute(uri: path, method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                 body: body(["email": "owner@b.example"]))
            let unknown = try await client.execute(uri: path, method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                   body: body(["email": "absnt@b.example"]))
            #expect(known.status == .created && unknown.status == .created)
            #expect(known.body.readableBytes == unknown.body.readableBytes, "\(known.text)\n\(unknown.text)")
            #expect(known.headers[.contentType] == "application/json" && unknown.headers[.contentType] == "application/json")
            #expect(try Self.blanked(known) == Self.blanked(unknown))
            #expect(try Self.blanked(known) == #"{"id":"…","kind":"project","email":"…","project_id":"\#(fixture.ids["project_id"]!)","workspace_role":null,"project_console_roles":{},"project_role":"viewer","status":"pending","created_at":"…","expires_at":"…","accepted_at":null,"token":"…"}"#)
            #expect(known.json?["email"] == "owner@b.example" && unknown.json?["email"] == "absnt@b.example")
        }
    }

    @Test("no membership and no profile before acceptance; the invited person accepting makes the member", arguments: Backend.underTest)
    func addByEmail_membershipOnlyAfterAcceptance(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let project = fixture.ids["project_id"]!
            let identity = SQLIdentityStore(store: dependencies.store)
            let person = LambaUser(email: "pat@elsewhere.example", name: "Pat Private",
                                   passwordHash: try PasswordHasher.hash("long enough password"))
            try await identity.write { tx in try tx.insert(person) }
            let invited = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .post, headers: bearer(key),
                                                   body: body(["email": "Pat@Elsewhere.example", "roles": ["editor"]]))
            #expect(invited.status == .created && invited.json?["project_role"] == "editor" && invited.json?["status"] == "pending")
            #expect(!invited.text.contains(person.id) && !invited.text.contains("Pat Private"))
            let token = try #require(invited.json?["token"]?.stringValue)
            let inviteID = try #require(invited.json?["id"]?.stringValue)

            let members = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .get, headers: bearer(key, json: false))
            #expect(members.status == .ok && !members.text.contains(person.id) && !members.text.contains("Pat Private"))
            #expect(members.json?["data"]?.arrayValue?.count == 1, "only the fixture's member")
            let invites = try await client.execute(uri: "/console/v1/projects/\(project)/invites", method: .get, headers: bearer(key, json: false))
            #expect(invites.status == .ok && !invites.text.contains(person.id) && !invites.text.contains("Pat Private"))
            let listed = try #require(invites.json?["data"]?.arrayValue)
            #expect(listed.count == 1)
            #expect(listed[0].objectValue?["id"]?.stringValue == inviteID && listed[0].objectValue?["email"] == "pat@elsewhere.example")
            #expect(listed[0].objectValue?["status"] == "pending" && listed[0].objectValue?["token"] == nil && listed[0].objectValue?["user"] == nil)
            #expect(try await identity.read { tx in try tx.projectMember(projectID: project, userID: person.id) } == nil)

            let accepted = try await client.execute(uri: "/console/v1/invites/accept", method: .post, headers: jsonHeaders(),
                                                    body: body(["token": .string(token), "email": "pat@elsewhere.example", "password": "long enough password"]))
            #expect(accepted.status == .ok, "\(accepted.text)")
            #expect(accepted.json?["user"]?.objectValue?["id"]?.stringValue == person.id)
            let after = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .get, headers: bearer(key, json: false))
            let member = try #require(after.json?["data"]?.arrayValue?.first { $0.objectValue?["user"]?.objectValue?["id"]?.stringValue == person.id })
            #expect(member.objectValue?["roles"] == ["editor"] && member.objectValue?["joined_via"] == "invite")
            let closed = try await client.execute(uri: "/console/v1/projects/\(project)/invites", method: .get, headers: bearer(key, json: false))
            #expect(closed.json?["data"]?.arrayValue?.first?.objectValue?["status"] == "accepted")
        }
    }

    @Test("another Workspace neither lists nor accepts the invite", arguments: Backend.underTest)
    func otherWorkspace_cannotSeeOrAccept(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let project = fixture.ids["project_id"]!
            let invited = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                   body: body(["email": "pat@elsewhere.example"]))
            let token = try #require(invited.json?["token"]?.stringValue)
            let listed = try await client.execute(uri: "/console/v1/projects/\(project)/invites", method: .get,
                                                  headers: bearer(fixture.b.apiKeySecret, json: false))
            #expect(listed.status == .notFound)
            #expect(listed.json == ["error": "not_found", "error_description": "no such resource"])
            // B's owner holds the token but not the invited email.
            let identity = SQLIdentityStore(store: dependencies.store)
            try await identity.write { tx in
                guard var owner = try tx.user(id: fixture.b.user.id) else { return }
                owner.passwordHash = try PasswordHasher.hash("long enough password")
                try tx.update(owner)
            }
            let stolen = try await client.execute(uri: "/console/v1/invites/accept", method: .post, headers: jsonHeaders(),
                                                  body: body(["token": .string(token), "email": "owner@b.example", "password": "long enough password"]))
            #expect(stolen.status == .conflict)
            #expect(stolen.json?["error"] == "refused" && stolen.json?["error_description"] == "the invite was sent to another email address")
            let members = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .get,
                                                   headers: bearer(fixture.a.apiKeySecret, json: false))
            #expect(members.json?["data"]?.arrayValue?.count == 1)
        }
    }
}
