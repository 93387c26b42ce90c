import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// No lockout by one call (docs/access-model.md#owner-credentials), over HTTP.
@Suite("owner credentials over HTTP")
struct OwnerCredentialHTTPTests {
    @Test("revoking the last active owner API key is 409 and the key keeps working", arguments: Backend.underTest)
    func lastOwnerKey_revocationIsRefused(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let refused = try await client.execute(uri: "/console/v1/api-keys/\(fixture.a.apiKey.id)", method: .delete, headers: bearer(key, json: false))
            #expect(refused.status == .conflict)
            #expect(refused.json == ["error": "refused",
                                     "error_description": "this is the workspace's last active owner API key: create another owner key before revoking it"])
            let still = try await client.execute(uri: "/console/v1/workspace", method: .get, headers: bearer(key, json: false))
            #expect(still.status == .ok)
            let created = try await client.execute(uri: "/console/v1/api-keys", method: .post, headers: bearer(key),
                                                   body: body(["name": "second owner", "role": "owner"]))
            #expect(created.status == .created)
            let revoked = try await client.execute(uri: "/console/v1/api-keys/\(fixture.a.apiKey.id)", method: .delete, headers: bearer(key, json: false))
            #expect(revoked.status == .noContent)
        }
    }

    @Test("demoting or removing the last owner Team Member is 409", arguments: Backend.underTest)
    func lastOwnerTeamMember_isKept(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let owner = fixture.ids["team_member_id"]!
            let expected: JSONObject = ["error": "refused", "error_description": "this is the workspace's last owner Team Member: make another member owner first"]
            let demoted = try await client.execute(uri: "/console/v1/team/\(owner)", method: .patch, headers: bearer(key),
                                                   body: body(["workspace_role": "admin"]))
            #expect(demoted.status == .conflict && demoted.json == expected)
            let removed = try await client.execute(uri: "/console/v1/team/\(owner)", method: .delete, headers: bearer(key, json: false))
            #expect(removed.status == .conflict && removed.json == expected)
            let team = try await client.execute(uri: "/console/v1/team", method: .get, headers: bearer(key, json: false))
            #expect(team.json?["data"]?.arrayValue?.first?.objectValue?["workspace_role"] == "owner")
        }
    }
}
