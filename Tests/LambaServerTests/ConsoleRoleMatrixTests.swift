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

/// One console caller of the role matrix: the roles it holds and how its requests authenticate.
struct MatrixCaller: Sendable {
    let label: String
    let workspaceRole: WorkspaceRole
    let projectConsoleRoles: [String: ProjectConsoleRole]
    /// Credentials for one request; `json` when it sends a body.
    let headers: @Sendable (_ json: Bool) -> HTTPFields

    /// What the caller holds where `projectID` is (Workspace-wide when nil).
    func capabilities(inProject projectID: String?) -> Set<ConsoleCapability> {
        var held = workspaceRole.capabilities
        if let projectID, let role = projectConsoleRoles[projectID] { held.formUnion(role.capabilities) }
        return held
    }

    func holdsSomewhere(_ capability: ConsoleCapability) -> Bool {
        workspaceRole.capabilities.contains(capability) || projectConsoleRoles.values.contains { $0.capabilities.contains(capability) }
    }
}

/// Makes the matrix's callers in Workspace A of the fixture. API keys of every Workspace role are
/// made here; a maker of console sessions (a person with a Workspace role and Project console roles)
/// conforms the same way and joins `ConsoleRoleMatrixTests.makers`.
protocol MatrixCallerMaker: Sendable {
    func callers(_ client: any TestClientProtocol, _ fixture: ConsoleFixture, _ dependencies: ServerDependencies) async throws -> [MatrixCaller]
}

/// One Workspace API key per Workspace role, created through the API with the owner's key.
struct APIKeyCallers: MatrixCallerMaker {
    func callers(_ client: any TestClientProtocol, _ fixture: ConsoleFixture, _ dependencies: ServerDependencies) async throws -> [MatrixCaller] {
        var callers: [MatrixCaller] = []
        for role in WorkspaceRole.allCases {
            let created = try await client.execute(uri: "/console/v1/api-keys", method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                   body: body(["name": .string("matrix \(role.rawValue)"), "role": .string(role.rawValue)]))
            #expect(created.status == .created, "\(role): \(created.text)")
            let secret = try #require(created.json?["secret"]?.stringValue)
            callers.append(MatrixCaller(label: "API key (\(role.rawValue))", workspaceRole: role, projectConsoleRoles: [:],
                                        headers: { json in bearer(secret, json: json) }))
        }
        return callers
    }
}

/// People signed in to the console through the console issuer's hosted pages, each a Team Member
/// of Workspace A with a Workspace role and, for the fixture's Project, a Project console role.
struct ConsoleSessionCallers: MatrixCallerMaker {
    /// Workspace roles that reach little, raised in the one Project by each Project console role, and
    /// a role with none: every way a Project console role can decide.
    static let people: [(WorkspaceRole, ProjectConsoleRole?)] = [
        (.viewer, .admin), (.billing, .developer), (.billing, .viewer), (.viewer, nil), (.developer, .admin),
    ]

    func callers(_ client: any TestClientProtocol, _ fixture: ConsoleFixture, _ dependencies: ServerDependencies) async throws -> [MatrixCaller] {
        let world = try await ConsoleWorld.make(dependencies)
        let project = try #require(fixture.ids["project_id"])
        var callers: [MatrixCaller] = []
        for (index, (workspaceRole, projectRole)) in Self.people.enumerated() {
            let person = try await world.person("matrix\(index)@a.example", name: "Matrix \(index)")
            let roles: [String: ProjectConsoleRole] = projectRole.map { [project: $0] } ?? [:]
            try await world.identity.write { tx in
                try tx.insert(TeamMember(workspaceID: fixture.a.workspace.id, userID: person.id, workspaceRole: workspaceRole, projectConsoleRoles: roles))
            }
            var browser = ConsoleBrowser(dependencies)
            _ = try await browser.signIn(client, email: person.email)
            let session = try await browser.api(client, .get, "/console/v1/session")
            #expect(session.json?["workspace_id"]?.stringValue == fixture.a.workspace.id, "\(session.text)")
            let cookies = browser.browser.cookieHeader
            let csrf = try #require(browser.csrf)
            let label = "console session (\(workspaceRole.rawValue)" + (projectRole.map { " + Project \($0.rawValue)" } ?? "") + ")"
            callers.append(MatrixCaller(label: label, workspaceRole: workspaceRole, projectConsoleRoles: roles, headers: { json in
                var headers = cookies
                headers[HTTPField.Name("X-Lamba-CSRF")!] = csrf
                if json { headers[.contentType] = "application/json" }
                return headers
            }))
        }
        return callers
    }
}

@Suite("console role matrix")
struct ConsoleRoleMatrixTests {
    static let makers: [any MatrixCallerMaker] = [APIKeyCallers(), ConsoleSessionCallers()]

    /// Routes whose allowed answer ends what the other callers stand on (every console session, the
    /// Workspace itself): the loop checks only their refusals, and each runs once, allowed, at the end.
    static let endsTheFixture: [String] = ["forceLogout", "deactivateWorkspace"]

    /// Ids of the right shapes that name nothing, so an allowed destructive route answers 404 and
    /// leaves the fixture as it was. GETs and the routes aiming below a Project use the real Project.
    static func absentIDs(_ route: ConsoleRoute, _ fixture: ConsoleFixture) -> [String: String] {
        var ids: [String: String] = [
            "project_id": EntityID.generate(.project), "environment": "sandbox", "client_id": EntityID.generate(.client),
            "role_name": "no-such-role", "member_id": EntityID.generate(.projectMember), "team_member_id": EntityID.generate(.teamMember),
            "api_key_id": EntityID.generate(.apiKey), "scope_id": EntityID.generate(.runtimeScope), "domain_id": EntityID.generate(.customDomain),
            "provider_id": EntityID.generate(.upstreamProvider), "endpoint_id": "whe_absent", "user_id": EntityID.generate(.user),
        ]
        let below = route.parameters.filter { $0 != "project_id" && $0 != "environment" }
        if route.method == .get || !below.isEmpty { ids["project_id"] = fixture.ids["project_id"] }
        return ids
    }

    /// The capability a route needs and where, as the table declares it.
    enum Expected { case allowed, forbidden, notFound }

    /// `existing`: the Project named is the fixture's (the absent ids name none).
    static func expected(_ route: ConsoleRoute, _ caller: MatrixCaller, projectID: String?, existing: Bool = true) -> Expected {
        switch route.access {
        case .anonymous, .signedIn:
            return .allowed
        case .workspace(let capability):
            return caller.capabilities(inProject: nil).contains(capability) ? .allowed : .forbidden
        case .anyOf(let capabilities):
            let held = caller.capabilities(inProject: nil)
            return capabilities.contains(where: { held.contains($0) }) ? .allowed : .forbidden
        case .anyProject(let capability):
            return caller.holdsSomewhere(capability) ? .allowed : .forbidden
        case .project(let capability):
            if caller.capabilities(inProject: projectID).contains(capability) { return .allowed }
            // Held elsewhere only: a Project that is not there, or that the caller cannot see, is not
            // found; one it can see is refused.
            guard caller.holdsSomewhere(capability) else { return .forbidden }
            return existing && caller.capabilities(inProject: projectID).contains(.projectRead) ? .forbidden : .notFound
        }
    }

    @Test("every route declares its capability; {project_id} routes are Project-scoped", arguments: [0])
    func table_declaresWhatEachRouteNeeds(_: Int) {
        for route in ConsoleRoutes.table {
            switch route.access {
            case .project(let capability):
                #expect(route.parameters.contains("project_id"), "\(route.operationID)")
                #expect(ConsoleCapability.projectScoped.contains(capability), "\(route.operationID): \(capability)")
            case .workspace, .anyProject, .anyOf:
                #expect(!route.parameters.contains("project_id"), "\(route.operationID) names a Project but is not Project-scoped")
            case .anonymous, .signedIn:
                #expect(!route.parameters.contains("project_id"), "\(route.operationID)")
            }
        }
    }

    @Test("role matrix: for every route, every Workspace role's API key and console sessions with Project console roles, 403 exactly when the roles lack the route's capability", arguments: Backend.underTest)
    func everyRole_onEveryRoute(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            var refused = 0, allowed = 0
            var callers: [MatrixCaller] = []
            for maker in Self.makers { callers += try await maker.callers(client, fixture, dependencies) }
            for caller in callers {
                    for route in ConsoleRoutes.table where route.access.needsWorkspaceCaller {
                        let ids = Self.absentIDs(route, fixture)
                        let existing = ids["project_id"] == fixture.ids["project_id"]
                        let expected = Self.expected(route, caller, projectID: ids["project_id"], existing: existing)
                        if Self.endsTheFixture.contains(route.operationID), expected == .allowed { continue }
                        let sample = sampleBody(route, ids)
                        let response = try await client.execute(uri: fill(route, ids), method: route.method, headers: caller.headers(sample != nil),
                                                                body: sample.map(body))
                        let what = "\(caller.label) \(route.method) \(route.path): \(response.status) \(response.text)"
                        switch expected {
                        case .forbidden:
                            #expect(response.status == .forbidden, "\(what)")
                            #expect(response.json?["error"] == "forbidden", "\(what)")
                            refused += 1
                        case .notFound:
                            #expect(response.status == .notFound && response.json?["error"] == "not_found", "\(what)")
                        case .allowed:
                            #expect(response.status != .unauthorized && response.status != .forbidden && response.status.code < 500, "\(what)")
                            allowed += 1
                        }
                    }
            }
            // Last, each fixture-ending route once, allowed: the forced logout, then the deactivation.
            for operationID in Self.endsTheFixture {
                let route = try #require(ConsoleRoutes.table.first { $0.operationID == operationID })
                let caller = try #require(callers.last { Self.expected(route, $0, projectID: nil) == .allowed })
                let response = try await client.execute(uri: fill(route, Self.absentIDs(route, fixture)), method: route.method, headers: caller.headers(false))
                #expect(response.status.code < 300, "\(caller.label) \(route.path): \(response.status) \(response.text)")
            }
            #expect(refused > 50 && allowed > 100, "refused \(refused), allowed \(allowed)")
        }
    }

    @Test("a refused caller is refused before its input is read: a malformed body still answers 403", arguments: Backend.underTest)
    func refusal_comesBeforeTheBody(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let callers = try await APIKeyCallers().callers(client, fixture, dependencies)
            let billing = try #require(callers.first { $0.workspaceRole == .billing })
            let project = fixture.ids["project_id"]!
            for (path, raw) in [("/console/v1/projects", #"{"slug":"#), ("/console/v1/projects/\(project)/roles", #"["not an object"]"#),
                                ("/console/v1/team/invites", #"{"email":42}"#)] {
                let response = try await client.execute(uri: path, method: .post, headers: billing.headers(true), body: ByteBuffer(string: raw))
                #expect(response.status == .forbidden && response.json?["error"] == "forbidden", "\(path): \(response.text)")
            }
            let query = try await client.execute(uri: "/console/v1/audit?limit=nope&limit=2", method: .get, headers: billing.headers(false))
            #expect(query.status == .forbidden, "\(query.text)")
        }
    }

    @Test("with the owner's key, every id of the other Workspace answers 404 on every route", arguments: Backend.underTest)
    func owner_seesNothingOfAnotherWorkspace(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            // Workspace B's own things, named through B's owner key.
            let bKey = fixture.b.apiKeySecret
            let made = try await client.execute(uri: "/console/v1/projects", method: .post, headers: bearer(bKey),
                                                body: body(["slug": "b-portal", "name": "B Portal"]))
            #expect(made.status == .created, "\(made.text)")
            let bProject = try #require(made.json?["id"]?.stringValue)
            let madeClient = try await client.execute(uri: "/console/v1/projects/\(bProject)/environments/sandbox/clients", method: .post,
                                                      headers: bearer(bKey), body: body(["client_name": "b", "client_type": "public",
                                                                                         "redirect_uris": ["https://b.example/cb"]]))
            let team = try await client.execute(uri: "/console/v1/team", method: .get, headers: bearer(bKey, json: false))
            let keys = try await client.execute(uri: "/console/v1/api-keys", method: .get, headers: bearer(bKey, json: false))
            let domain = try await client.execute(uri: "/console/v1/workspace/domains", method: .post, headers: bearer(bKey),
                                                  body: body(["domain": "fixture.b.example"]))
            let hook = try await client.execute(uri: "/console/v1/projects/\(bProject)/environments/sandbox/webhooks", method: .post,
                                                headers: bearer(bKey), body: body(["url": "https://hooks.b.example/in"]))
            var foreign = fixture.ids
            foreign["project_id"] = bProject
            foreign["client_id"] = try #require(madeClient.json?["client_id"]?.stringValue ?? madeClient.json?["id"]?.stringValue)
            foreign["team_member_id"] = try #require(team.json?["data"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
            foreign["api_key_id"] = try #require(keys.json?["data"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
            foreign["domain_id"] = try #require(domain.json?["id"]?.stringValue)
            foreign["endpoint_id"] = try #require(hook.json?["id"]?.stringValue)
            foreign["role_name"] = "member"
            var checked = 0
            for route in ConsoleRoutes.table where route.access.needsWorkspaceCaller && !route.parameters.isEmpty {
                let sample = sampleBody(route, foreign)
                let response = try await client.execute(uri: fill(route, foreign), method: route.method,
                                                        headers: bearer(fixture.a.apiKeySecret, json: sample != nil), body: sample.map(body))
                #expect(response.status == .notFound && response.json?["error"] == "not_found",
                        "\(route.method) \(route.path): \(response.status) \(response.text)")
                checked += 1
            }
            #expect(checked >= 40)
            // B's things are all still there.
            let still = try await client.execute(uri: "/console/v1/projects/\(bProject)", method: .get, headers: bearer(bKey, json: false))
            #expect(still.json?["status"] == "active")
        }
    }
}

/// `docs/access-model.md#console-capabilities`, rendered from the route table and the role tables.
@Suite("console capabilities document")
struct ConsoleCapabilitiesDocumentTests {
    static let begin = "<!-- console-capabilities:begin (generated from ConsoleRoutes.table; LAMBA_WRITE_DOCS=1 swift test --filter ConsoleCapabilitiesDocumentTests rewrites it) -->"
    static let end = "<!-- console-capabilities:end -->"

    static var document: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/access-model.md")
    }

    static func roles<Role: RawRepresentable & CaseIterable>(_: Role.Type, holding: (Role) -> Bool) -> String where Role.RawValue == String {
        let names = Role.allCases.filter(holding).map { "`\($0.rawValue)`" }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    /// One row per route: what it needs, and which roles hold that.
    static func rendered() -> String {
        var lines = [
            "| method | path | needs | Workspace roles | Project console roles |",
            "| --- | --- | --- | --- | --- |",
        ]
        for route in ConsoleRoutes.table {
            let needs: String, workspace: String, project: String
            switch route.access {
            case .anonymous:
                (needs, workspace, project) = ("no credentials", "anyone", "anyone")
            case .signedIn:
                (needs, workspace, project) = ("a signed-in console session", "anyone signed in", "anyone signed in")
            case .workspace(let c):
                needs = "`\(c.rawValue)` in the Workspace"
                workspace = roles(WorkspaceRole.self) { $0.capabilities.contains(c) }
                project = "none (Workspace-wide)"
            case .project(let c):
                needs = "`\(c.rawValue)` in that Project"
                workspace = roles(WorkspaceRole.self) { $0.capabilities.contains(c) }
                project = roles(ProjectConsoleRole.self) { $0.capabilities.contains(c) }
            case .anyProject(let c):
                needs = "`\(c.rawValue)` in some Project; the answer holds what the caller's roles show"
                workspace = roles(WorkspaceRole.self) { $0.capabilities.contains(c) }
                project = roles(ProjectConsoleRole.self) { $0.capabilities.contains(c) }
            case .anyOf(let cs):
                needs = "per field: " + cs.map { "`\($0.rawValue)`" }.joined(separator: " or ")
                workspace = roles(WorkspaceRole.self) { role in cs.contains { role.capabilities.contains($0) } }
                project = "none (Workspace-wide)"
            }
            lines.append("| \(route.method.rawValue) | `\(route.path)` | \(needs) | \(workspace) | \(project) |")
        }
        return lines.joined(separator: "\n")
    }

    @Test("docs/access-model.md lists every console route with the capability it needs and the roles holding it", arguments: [0])
    func document_matchesTheTable(_: Int) throws {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        let fresh = Self.rendered()
        guard let start = text.range(of: Self.begin), let stop = text.range(of: Self.end, range: start.upperBound..<text.endIndex) else {
            Issue.record("docs/access-model.md has no section between \(Self.begin) and \(Self.end); it should hold:\n\(fresh)")
            return
        }
        let current = text[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        if current == fresh { return }
        if ProcessInfo.processInfo.environment["LAMBA_WRITE_DOCS"] == "1" {
            try text.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: "\n" + fresh + "\n")
                .write(to: Self.document, atomically: true, encoding: .utf8)
            return
        }
        Issue.record("docs/access-model.md's console capabilities differ from the route table; run with LAMBA_WRITE_DOCS=1, or paste:\n\(fresh)")
    }
}
