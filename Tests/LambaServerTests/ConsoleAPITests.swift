import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// Two Workspaces on one server: `a` holds one of everything, `b` is the other tenant.
struct ConsoleFixture: Sendable {
    let a: WorkspaceAdministration.Bootstrap
    let b: WorkspaceAdministration.Bootstrap
    let ids: [String: String]

    static func make(_ dependencies: ServerDependencies) async throws -> ConsoleFixture {
        let identity = SQLIdentityStore(store: dependencies.store)
        let workspaces = WorkspaceAdministration(store: identity)
        let projects = ProjectAdministration(store: identity)
        let members = MemberLifecycle(store: identity)
        let a = try await workspaces.bootstrap(email: "owner@a.example", password: nil, name: "A", workspaceSlug: "tenant-a", workspaceName: "A")
        let b = try await workspaces.createWorkspace(email: "owner@b.example", password: nil, name: "B", workspaceSlug: "tenant-b", workspaceName: "B")
        guard let owner = try await workspaces.authenticate(apiKey: a.apiKeySecret) else { throw SetupFailure() }
        let project = try await projects.createProject(owner, slug: "a-portal", name: "Portal", visibility: .private)
        let (client, _) = try await projects.createClient(owner, projectID: project.id, environment: .sandbox,
                                                          .init(name: "web", type: .confidential, redirectURIs: ["https://a.example/cb"]))
        _ = try await projects.createRole(owner, projectID: project.id, name: "editor", description: "", permissions: ["docs:*"])
        let user = LambaUser(email: "member@a.example", name: "Member")
        try await identity.write { tx in try tx.insert(user) }
        let member = try await members.admitExistingUser(owner, projectID: project.id, email: user.email, roles: nil)
        let team = try await members.teamMembers(owner)
        let (key, _) = try await workspaces.createAPIKey(owner, name: "ci", role: .developer)
        let domain = try await CustomDomainAdministration(store: identity, fetcher: HTTPDomainProofFetcher(http: ServerUpstreamHTTPClient()))
            .addDomain(owner, domain: "fixture.a.example")
        // The member signed in: a session and a runtime scope, so that the scope's id is a real one.
        let scopeID = try await identity.write { tx in
            let now = Date()
            let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: a.workspace.id, userID: user.id,
                                          tokenHash: OpaqueSecret.generate().hash, authTime: now, amr: ["pwd"], createdAt: now,
                                          expiresAt: now.addingTimeInterval(3600), revokedAt: nil, revokeReason: nil)
            try tx.insert(session)
            let scope = RuntimeScope(id: EntityID.generate(.runtimeScope), sessionID: session.id, userID: user.id, workspaceID: a.workspace.id,
                                     projectID: project.id, environment: .sandbox, applicationID: client.id, authTime: now, createdAt: now,
                                     revokedAt: nil, revokeReason: nil)
            try tx.insert(scope)
            return scope.id
        }
        return ConsoleFixture(a: a, b: b, ids: [
            "project_id": project.id, "environment": "sandbox", "client_id": client.id, "role_name": "editor", "member_id": member.id,
            "team_member_id": team[0].member.id, "api_key_id": key.id, "user_id": user.id, "scope_id": scopeID,
            "domain_id": domain.id,
        ])
    }

    struct SetupFailure: Error {}
}

func bearer(_ key: String, json: Bool = true) -> HTTPFields {
    var fields: HTTPFields = [.authorization: "Bearer \(key)"]
    if json { fields[.contentType] = "application/json" }
    return fields
}

func body(_ object: JSONObject) -> ByteBuffer { ByteBuffer(bytes: JSON.encode(object)) }

func fill(_ route: ConsoleRoute, _ ids: [String: String]) -> String {
    var path = route.path
    for name in route.parameters { path = path.replacingOccurrences(of: "{\(name)}", with: ids[name] ?? "x") }
    return path
}

/// A body each operation accepts, so that a refusal is about the ids, not the input.
func sampleBody(_ route: ConsoleRoute, _ ids: [String: String]) -> JSONObject? {
    guard route.request != nil else { return nil }
    switch route.operationID {
    case "createAPIKey": return ["name": "k", "role": "viewer"]
    case "createProject": return ["slug": "fresh-one", "name": "Fresh"]
    case "createClient": return ["client_name": "c", "client_type": "public", "redirect_uris": ["https://c.example/cb"]]
    case "createProvider": return ["name": "P", "issuer": "https://idp.example.com", "client_id": "c", "client_secret": "s"]
    case "createRole": return ["name": "writer", "permissions": ["docs:write"]]
    case "addProjectMember": return ["email": "member@a.example"]
    case "changeProjectMemberRoles": return ["roles": ["viewer"]]
    case "inviteProjectMember": return ["email": "x@b.example"]
    case "inviteTeamMember": return ["email": "x@b.example", "workspace_role": "viewer"]
    case "promoteToTeamMember": return ["user_id": .string(ids["user_id"] ?? ""), "workspace_role": "viewer"]
    case "acceptInvite": return ["token": "lmb_inv_nope", "email": "x@b.example", "password": "long enough password"]
    case "updateTeamMember": return ["workspace_role": "developer"]
    case "createWebhookEndpoint": return ["url": "https://hooks.example/in"]
    case "replayWebhookEvents": return ["event_id": "evt_nope"]
    case "updateWebhookSettings": return ["allow_private_targets": false]
    default: return [:]
    }
}

@Suite("console API")
struct ConsoleAPITests {
    @Test("Tenant isolation: with one Workspace's API key, every id of another Workspace answers 404, for every route", arguments: Backend.underTest)
    func rule8_foreignIdsAnswer404OnEveryRoute(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            var checked = 0
            for route in ConsoleRoutes.table {
                guard route.access.needsWorkspaceCaller else { continue }
                let foreignInBody = route.operationID == "promoteToTeamMember"
                guard !route.parameters.isEmpty || foreignInBody else { continue }
                let response = try await client.execute(
                    uri: fill(route, fixture.ids), method: route.method, headers: bearer(fixture.b.apiKeySecret),
                    body: sampleBody(route, fixture.ids).map(body))
                #expect(response.status == .notFound, "\(route.method) \(route.path) answered \(response.status)")
                #expect(response.json?["error"] == "not_found", "\(route.operationID)")
                checked += 1
            }
            #expect(checked >= 20)
            // Nor do Project console roles in another Workspace's Project get through.
            let invite = try await client.execute(
                uri: "/console/v1/team/invites", method: .post, headers: bearer(fixture.b.apiKeySecret),
                body: body(["email": "op@b.example", "workspace_role": "viewer",
                            "project_console_roles": .object([fixture.ids["project_id"]!: "admin"])]))
            #expect(invite.status == .notFound)
            // And A's resources are all still there, untouched.
            let project = try await client.execute(uri: "/console/v1/projects/\(fixture.ids["project_id"]!)", method: .get,
                                                   headers: bearer(fixture.a.apiKeySecret, json: false))
            #expect(project.json?["status"] == "active")
            let roles = try await client.execute(uri: "/console/v1/projects/\(fixture.ids["project_id"]!)/roles", method: .get,
                                                 headers: bearer(fixture.a.apiKeySecret, json: false))
            #expect(roles.json?["data"]?.arrayValue?.count == 4)
        }
    }

    @Test("Input validation: bad slugs, unknown roles, oversized or malformed JSON get a 4xx with a machine-readable body, never a 500", arguments: Backend.underTest)
    func rule10_inputsAreValidated(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 2048) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let project = fixture.ids["project_id"]!
            func post(_ path: String, _ raw: String, contentType: String = "application/json") async throws -> TestResponse {
                var headers = bearer(key)
                headers[.contentType] = contentType
                return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: raw))
            }
            let cases: [(String, String, String, HTTPResponse.Status, String, String?)] = [
                ("bad slug", "/console/v1/projects", #"{"slug":"Bad Slug","name":"x"}"#, .badRequest, "invalid_request", "slug"),
                ("reserved slug", "/console/v1/projects", #"{"slug":"console","name":"x"}"#, .badRequest, "invalid_request", "slug"),
                ("unknown role", "/console/v1/projects/\(project)/members", #"{"email":"member@a.example","roles":["owner"]}"#, .badRequest, "invalid_request", "roles"),
                ("unknown invite role", "/console/v1/projects/\(project)/invites", #"{"email":"n@a.example","role":"billing"}"#, .badRequest, "invalid_request", "roles"),
                ("unknown workspace role", "/console/v1/team/invites", #"{"email":"n@a.example","workspace_role":"root"}"#, .badRequest, "invalid_request", "workspace_role"),
                ("bad role name", "/console/v1/projects/\(project)/roles", #"{"name":"Bad Name","permissions":["a:b"]}"#, .badRequest, "invalid_request", "name"),
                ("bad permission", "/console/v1/projects/\(project)/roles", #"{"name":"ok-role","permissions":["nocolon"]}"#, .badRequest, "invalid_request", "permissions"),
                ("unknown member", "/console/v1/projects", #"{"slug":"fine-slug","name":"x","owner":"me"}"#, .badRequest, "invalid_request", "owner"),
                ("missing member", "/console/v1/projects", #"{"name":"x"}"#, .badRequest, "invalid_request", "slug"),
                ("wrong type", "/console/v1/projects", #"{"slug":42,"name":"x"}"#, .badRequest, "invalid_request", "slug"),
                ("malformed JSON", "/console/v1/projects", #"{"slug":"#, .badRequest, "invalid_request", nil),
                ("not an object", "/console/v1/projects", #"["slug"]"#, .badRequest, "invalid_request", nil),
                ("duplicate members", "/console/v1/projects", #"{"slug":"one-slug","slug":"two-slug","name":"x"}"#, .badRequest, "invalid_request", nil),
                ("bad redirect URI", "/console/v1/projects/\(project)/environments/sandbox/clients",
                 #"{"client_name":"c","client_type":"public","redirect_uris":["http://evil.example/cb"]}"#, .badRequest, "invalid_request", "redirect_uris"),
                ("oversized body", "/console/v1/projects", #"{"slug":"big-one","name":""# + String(repeating: "x", count: 4096) + #""}"#,
                 .contentTooLarge, "payload_too_large", nil),
            ]
            for (label, path, raw, status, code, field) in cases {
                let response = try await post(path, raw)
                #expect(response.status == status, "\(label): \(response.status) \(response.text)")
                #expect(response.json?["error"]?.stringValue == code, "\(label)")
                #expect(response.json?["error_description"]?.stringValue?.isEmpty == false, "\(label)")
                if let field { #expect(response.json?["field"]?.stringValue == field, "\(label): \(response.text)") }
            }
            let wrongType = try await post("/console/v1/projects", #"{"slug":"a-b-c","name":"x"}"#, contentType: "text/plain")
            #expect(wrongType.status == .unsupportedMediaType && wrongType.json?["error"] == "unsupported_media_type")
            let form = try await post("/console/v1/projects", "slug=abc&name=x", contentType: "application/x-www-form-urlencoded")
            #expect(form.status == .unsupportedMediaType)
            // Unknown environments and malformed ids are simply not found.
            let environment = try await client.execute(uri: "/console/v1/projects/\(project)/environments/staging", method: .get,
                                                       headers: bearer(key, json: false))
            #expect(environment.status == .notFound && environment.json?["error"] == "not_found")
            let badID = try await client.execute(uri: "/console/v1/projects/prj_%00'--", method: .get, headers: bearer(key, json: false))
            #expect(badID.status == .notFound)
        }
    }

    @Test("permission table: a viewer key reads but cannot create; no key or a revoked key is 401 with WWW-Authenticate", arguments: Backend.underTest)
    func permissionTable_isEnforcedOnEveryCall(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let created = try await client.execute(uri: "/console/v1/api-keys", method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                   body: body(["name": "read only", "role": "viewer"]))
            #expect(created.status == .created)
            let viewerKey = try #require(created.json?["secret"]?.stringValue)
            let viewerID = try #require(created.json?["id"]?.stringValue)

            let list = try await client.execute(uri: "/console/v1/projects", method: .get, headers: bearer(viewerKey, json: false))
            #expect(list.status == .ok && list.json?["data"]?.arrayValue?.count == 1)
            let create = try await client.execute(uri: "/console/v1/projects", method: .post, headers: bearer(viewerKey),
                                                  body: body(["slug": "viewer-made", "name": "No"]))
            #expect(create.status == .forbidden && create.json?["error"] == "forbidden")
            let keys = try await client.execute(uri: "/console/v1/api-keys", method: .get, headers: bearer(viewerKey, json: false))
            #expect(keys.status == .forbidden)
            let deleteRole = try await client.execute(uri: "/console/v1/projects/\(fixture.ids["project_id"]!)/roles/editor", method: .delete,
                                                      headers: bearer(viewerKey, json: false))
            #expect(deleteRole.status == .forbidden)

            let anonymous = try await client.execute(uri: "/console/v1/projects", method: .get)
            #expect(anonymous.status == .unauthorized && anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(anonymous.json?["error"] == "invalid_token")
            let revoke = try await client.execute(uri: "/console/v1/api-keys/\(viewerID)", method: .delete, headers: bearer(fixture.a.apiKeySecret, json: false))
            #expect(revoke.status == .noContent)
            let revoked = try await client.execute(uri: "/console/v1/projects", method: .get, headers: bearer(viewerKey, json: false))
            #expect(revoked.status == .unauthorized)
        }
    }

    @Test("the OpenAPI document lists exactly the routes the server answers", arguments: Backend.underTest)
    func openAPIDocument_matchesTheRoutes(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, _ in
            let response = try await client.execute(uri: "/console/v1/openapi.json", method: .get)
            #expect(response.status == .ok)
            let document = try #require(response.json)
            #expect(document["openapi"] == "3.1.0")
            let paths = try #require(document["paths"]?.objectValue)
            var documented: Set<String> = []
            for (path, item) in paths where !path.hasPrefix("/p/") {
                for (method, _) in item.objectValue ?? [:] { documented.insert("\(method.uppercased()) \(path)") }
            }
            let table = Set(ConsoleRoutes.table.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == table)
            #expect(document["x-lamba-permissions"]?.objectValue?["workspace_roles"]?.objectValue?["viewer"] != nil)
            // Each operation names its capability, from the same table that the server enforces.
            for route in ConsoleRoutes.table {
                let operation = paths[route.path]?.objectValue?[route.method.rawValue.lowercased()]?.objectValue
                switch route.access {
                case .workspace(let c), .project(let c), .anyProject(let c):
                    #expect(operation?["x-lamba-capability"]?.stringValue == c.rawValue, "\(route.operationID)")
                case .anyOf(let cs):
                    #expect(operation?["x-lamba-capability"]?.stringValue == cs.map(\.rawValue).joined(separator: " | "), "\(route.operationID)")
                case .anonymous, .signedIn:
                    #expect(operation?["x-lamba-capability"] == nil, "\(route.operationID)")
                }
            }
            // The runtime APIs a product calls, under the issuer, with their own credentials.
            let runtime = [("/p/{project_slug}/{environment}/access/check", "post", "clientSecretBasic"),
                           ("/p/{project_slug}/{environment}/me", "get", "accessToken"),
                           ("/p/{project_slug}/{environment}/me/authorization", "get", "accessToken"),
                           ("/p/{project_slug}/{environment}/me/authorization", "post", "accessToken")]
            for (path, method, scheme) in runtime {
                let operation = paths[path]?.objectValue?[method]?.objectValue
                #expect(operation?["security"]?.arrayValue?.first?.objectValue?[scheme] != nil, "\(path)")
                #expect(operation?["responses"]?.objectValue?["401"] != nil, "\(path)")
            }
            let schemes = document["components"]?.objectValue?["securitySchemes"]?.objectValue
            #expect(schemes?["clientSecretBasic"]?.objectValue?["scheme"] == "basic" && schemes?["accessToken"]?.objectValue?["scheme"] == "bearer")
            // Every documented operation is registered: without credentials it is a 401, not a 404 or 405.
            for route in ConsoleRoutes.table {
                guard route.access.needsWorkspaceCaller else { continue }
                let ids = ["project_id": "prj_AAAAAAAAAAAAAAAAAAAAAA", "environment": "sandbox"]
                let answer = try await client.execute(uri: fill(route, ids), method: route.method)
                #expect(answer.status == .unauthorized, "\(route.method) \(route.path): \(answer.status)")
            }
        }
    }

    @Test("Environment isolation over HTTP: a client fetched under the other environment's path is 404", arguments: Backend.underTest)
    func rule9_clientUnderTheOtherEnvironmentIsNotFound(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let base = "/console/v1/projects/\(fixture.ids["project_id"]!)/environments"
            let clientID = fixture.ids["client_id"]!
            let own = try await client.execute(uri: "\(base)/sandbox/clients/\(clientID)", method: .get, headers: bearer(key, json: false))
            #expect(own.status == .ok && own.json?["environment"] == "sandbox" && own.json?["client_secret"] == nil)
            for (method, suffix) in [(HTTPRequest.Method.get, ""), (.delete, ""), (.post, "/rotate-secret")] {
                let other = try await client.execute(uri: "\(base)/production/clients/\(clientID)\(suffix)", method: method, headers: bearer(key, json: false))
                #expect(other.status == .notFound, "\(method) \(suffix)")
            }
            let shared = try await client.execute(uri: "\(base)/production/clients", method: .post, headers: bearer(key),
                                                  body: body(["client_name": "copy", "client_type": "confidential", "redirect_uris": ["https://a.example/cb"]]))
            #expect(shared.status == .badRequest && shared.json?["field"] == "redirect_uris")
            let created = try await client.execute(uri: "\(base)/production/clients", method: .post, headers: bearer(key),
                                                   body: body(["client_name": "prod", "client_type": "confidential", "redirect_uris": ["https://prod.a.example/cb"]]))
            #expect(created.status == .created && created.json?["client_secret"]?.stringValue?.hasPrefix("lmb_cs_") == true)
            let listed = try await client.execute(uri: "\(base)/sandbox/clients", method: .get, headers: bearer(key, json: false))
            #expect(listed.json?["data"]?.arrayValue?.count == 1)
        }
    }

    @Test("the member lifecycle over HTTP: invite, accept, role change, promote, removal, with their default roles", arguments: Backend.underTest)
    func memberLifecycle_overHTTP(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let key = fixture.a.apiKeySecret
            let project = fixture.ids["project_id"]!
            let invite = try await client.execute(uri: "/console/v1/projects/\(project)/invites", method: .post, headers: bearer(key),
                                                  body: body(["email": "new@a.example"]))
            #expect(invite.status == .created && invite.json?["project_role"] == "viewer")
            let token = try #require(invite.json?["token"]?.stringValue)
            let accepted = try await client.execute(uri: "/console/v1/invites/accept", method: .post, headers: [.contentType: "application/json"],
                                                    body: body(["token": .string(token), "email": "new@a.example", "password": "long enough password", "name": "New"]))
            #expect(accepted.status == .ok, "\(accepted.text)")
            let userID = try #require(accepted.json?["user"]?.objectValue?["id"]?.stringValue)
            let members = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .get, headers: bearer(key, json: false))
            let joined = try #require(members.json?["data"]?.arrayValue?.first { $0.objectValue?["user"]?.objectValue?["id"]?.stringValue == userID }?.objectValue)
            #expect(joined["roles"] == ["viewer"])
            let memberID = try #require(joined["id"]?.stringValue)
            let changed = try await client.execute(uri: "/console/v1/projects/\(project)/members/\(memberID)", method: .patch, headers: bearer(key),
                                                   body: body(["roles": ["editor"]]))
            #expect(changed.status == .ok && changed.json?["roles"] == ["editor"])
            let promoted = try await client.execute(uri: "/console/v1/team/promote", method: .post, headers: bearer(key),
                                                    body: body(["user_id": .string(userID), "workspace_role": "developer"]))
            #expect(promoted.status == .created && promoted.json?["workspace_role"] == "developer")
            let after = try await client.execute(uri: "/console/v1/projects/\(project)/members/\(memberID)", method: .get, headers: bearer(key, json: false))
            #expect(after.json?["roles"] == ["editor"], "promotion assigns no Project role")
            let builtIn = try await client.execute(uri: "/console/v1/projects/\(project)/roles/viewer", method: .delete, headers: bearer(key, json: false))
            #expect(builtIn.status == .conflict && builtIn.json?["error"] == "refused")
            let removed = try await client.execute(uri: "/console/v1/projects/\(project)/members/\(memberID)", method: .delete, headers: bearer(key, json: false))
            #expect(removed.status == .noContent)
            let team = try await client.execute(uri: "/console/v1/team", method: .get, headers: bearer(key, json: false))
            #expect(team.json?["data"]?.arrayValue?.count == 2, "removal from the Project keeps console access")
            // Plan limit: the free plan holds 3 Projects.
            for slug in ["p-two", "p-three"] {
                _ = try await client.execute(uri: "/console/v1/projects", method: .post, headers: bearer(key), body: body(["slug": .string(slug), "name": "P"]))
            }
            let over = try await client.execute(uri: "/console/v1/projects", method: .post, headers: bearer(key), body: body(["slug": "p-four", "name": "P"]))
            #expect(over.status == .conflict && over.json?["error"] == "plan_limit_exceeded" && over.json?["maximum"] == 3)
        }
    }
}
