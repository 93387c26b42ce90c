import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaPasswords
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// A person's way into the console (docs/console-access.md), over HTTP: the console issuer's own
/// hosted pages, console sessions, many Workspaces, and what never crosses between console and
/// runtime access.
struct ConsoleWorld: Sendable {
    let dependencies: ServerDependencies
    let identity: DomainIdentityStore
    let installation: Installation

    static let password = "console password 1"

    static func make(_ dependencies: ServerDependencies, creation: WorkspaceCreationPolicy = .inviteOnly) async throws -> ConsoleWorld {
        let identity = DomainIdentityStore(store: dependencies.store)
        var installation = try await InstallationSetup(store: identity).ensure(publicBaseURL: dependencies.configuration.publicBaseURL)
        installation = try await ConsoleAccessAdministration(store: identity).setWorkspaceCreation(creation, actor: "test")
        return ConsoleWorld(dependencies: dependencies, identity: identity, installation: installation)
    }

    /// A person with a password, and nothing else.
    func person(_ email: String, name: String = "Someone") async throws -> LambaUser {
        let user = LambaUser(email: email, emailVerified: true, name: name, passwordHash: try PasswordHasher.hash(Self.password))
        try await identity.write { tx in try tx.insert(user) }
        return user
    }

    func teamMember(_ user: LambaUser, of workspace: Workspace, role: WorkspaceRole) async throws -> TeamMember {
        let member = TeamMember(workspaceID: workspace.id, userID: user.id, workspaceRole: role)
        try await identity.write { tx in try tx.insert(member) }
        return member
    }
}

/// A browser signed in (or signing in) to the console.
struct ConsoleBrowser {
    var browser: Browser
    var csrf: String?

    init(_ dependencies: ServerDependencies) {
        browser = Browser(base: dependencies.configuration.publicBaseURL)
    }

    /// Runs the console's sign-in: the console issuer's authorize, its login page (and join page on
    /// a first visit), the code back to `/console/callback`, until `/console`.
    mutating func signIn(_ client: any TestClientProtocol, email: String, password: String = ConsoleWorld.password) async throws -> TestResponse {
        var response = try await browser.get(client, "/console/sign-in")
        for _ in 0..<12 {
            if response.status == .seeOther, let location = response.headers[.location] {
                if browser.path(location) == "/console" { break }
                response = try await browser.get(client, location)
                continue
            }
            let html = response.text
            guard response.status == .ok || response.status == .badRequest, let action = Self.formAction(html) else { return response }
            var form: [(String, String)] = []
            for name in ["csrf_token", "authz"] { if let value = Browser.hidden(html, name) { form.append((name, value)) } }
            if html.contains("name=\"password\"") { form += [("email", email), ("password", password)] }
            response = try await browser.post(client, action, form)
        }
        response = try await browser.get(client, "/console")
        if let session = try await api(client, .get, "/console/v1/session").json { csrf = session["csrf_token"]?.stringValue }
        return response
    }

    static func formAction(_ html: String) -> String? {
        guard let range = html.range(of: "<form method=\"post\" action=\"") else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]).replacingOccurrences(of: "&amp;", with: "&") }
    }

    /// A console API call with the session cookie (and its CSRF token on unsafe methods).
    mutating func api(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ body: JSONObject? = nil,
                      csrf sendCSRF: Bool = true, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = browser.cookieHeader
        if sendCSRF, let csrf, ![.get, .head].contains(method) { headers[HTTPField.Name("X-Lamba-CSRF")!] = csrf }
        if body != nil { headers[.contentType] = "application/json" }
        for field in extra { headers.append(field) }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(bytes: JSON.encode($0)) })
        browser.absorb(response)
        return response
    }
}

@Suite("Console sign-in for people")
struct ConsoleSignInHTTPTests {
    @Test("A one-time sign-in link lets the administrator choose a password and signs them in through the console issuer; it works once", arguments: Backend.underTest)
    func signInLink_signsTheAdministratorInOnce(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies)
            let admin = try await InstallationSetup(store: world.identity).addAdministrator(email: "root@example.com", name: "Root")
            let (_, token) = try await ConsoleAccessAdministration(store: world.identity).issueSignInLink(email: admin.email, actor: "test")
            var console = ConsoleBrowser(dependencies)
            var response = try await console.browser.get(client, "/console/sign-in-link?token=" + token)
            #expect(response.status == .ok)
            let html = response.text
            // Too short a password is refused on the page, and the link stays unspent.
            response = try await console.browser.post(client, "/console/sign-in-link", [
                ("token", token), ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("password", "short"),
            ])
            #expect(response.status == .badRequest)
            let retry = try #require(Browser.hidden(response.text, "csrf_token"))
            response = try await console.browser.post(client, "/console/sign-in-link", [("token", token), ("csrf_token", retry), ("password", "root password 1")])
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/console/sign-in")
            // With the console issuer's session in place, the console's own sign-in passes without a form.
            response = try await console.browser.get(client, "/console/sign-in")
            let authorize = try #require(response.headers[.location])
            #expect(authorize.hasPrefix(InstallationSetup.consoleIssuer(publicBaseURL: dependencies.configuration.publicBaseURL) + "/authorize?"))
            #expect(authorize.contains("code_challenge_method=S256") && authorize.contains("nonce=") && authorize.contains("state="))
            response = try await console.browser.get(client, authorize)
            let callback = try #require(response.headers[.location])
            #expect(console.browser.path(callback).hasPrefix("/console/callback?code="))
            #expect(callback.contains("iss="))
            response = try await console.browser.get(client, callback)
            #expect(response.headers[.location] == "/console")
            let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("lamba_console=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/console"))
            #expect(!cookie.contains("Secure"), "the test server's public URL is http")
            let session = try #require(try await console.api(client, .get, "/console/v1/session").json)
            #expect(session["user"]?.objectValue?["email"] == "root@example.com")
            #expect(session["installation_administrator"] == true)

            // The link is spent: a second use signs no one in.
            var other = ConsoleBrowser(dependencies)
            response = try await other.browser.get(client, "/console/sign-in-link?token=" + token)
            #expect(response.status == .badRequest)
            #expect(try await other.api(client, .get, "/console/v1/session").status == .unauthorized)
        }
    }

    @Test("Console sessions: CSRF on unsafe requests, sign-out ends the session and the console issuer's session under it", arguments: Backend.underTest)
    func consoleSession_csrfAndSignOut(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .open)
            _ = try await world.person("ada@example.com", name: "Ada")
            var ada = ConsoleBrowser(dependencies)
            let landing = try await ada.signIn(client, email: "ada@example.com")
            #expect(landing.status == .ok)
            #expect(landing.text.contains("Signed in as Ada"))
            // A first console visit joins the console Project, which is runtime access to the console product only.
            #expect(try await ada.api(client, .get, "/console/v1/workspaces").json?["data"]?.arrayValue?.isEmpty == true)

            // Without its CSRF token an unsafe request with the cookie is refused, and nothing is made.
            var response = try await ada.api(client, .post, "/console/v1/workspaces", ["slug": "ada-labs", "name": "Ada Labs"], csrf: false)
            #expect(response.status == .forbidden)
            #expect(try await ada.api(client, .get, "/console/v1/workspaces").json?["data"]?.arrayValue?.isEmpty == true)
            response = try await ada.api(client, .post, "/console/v1/workspaces", ["slug": "ada-labs", "name": "Ada Labs"])
            #expect(response.status == .created)
            let workspaceID = try #require(response.json?["id"]?.stringValue)
            #expect(try await ada.api(client, .get, "/console/v1/workspace").json?["id"] == .string(workspaceID))
            response = try await ada.api(client, .post, "/console/v1/projects", ["slug": "ada-app", "name": "Ada App"])
            #expect(response.status == .created)

            // Audit names the person and the console session.
            let sessionID = try #require(try await ada.api(client, .get, "/console/v1/session").json?["id"]?.stringValue)
            let created = try await world.identity.read { tx in try tx.user(email: "ada@example.com") }
            let events = try await dependencies.store.read { reader in
                try reader.query("SELECT actor FROM events WHERE workspace_id = $1 AND type = 'project.created'", [.text(workspaceID)]).map { try $0.string("actor") }
            }
            #expect(events == [try #require(created).id])
            _ = sessionID

            // Sign-out: the cookie stops working, and the next sign-in asks for the password again.
            response = try await ada.api(client, .delete, "/console/v1/session")
            #expect(response.status == .noContent)
            #expect(try await ada.api(client, .get, "/console/v1/session").status == .unauthorized)
            response = try await ada.browser.get(client, "/console/sign-in")
            response = try await ada.browser.get(client, try #require(response.headers[.location]))
            #expect(response.headers[.location]?.contains("/login?") == true, "a fresh sign-in is asked for")
        }
    }

    @Test("One Lamba User as Team Member and Project Member: neither membership implies the other", arguments: Backend.underTest)
    func teamAndProjectMembership_neitherImpliesTheOther(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies)
            let seeded = try await seed(dependencies)   // Workspace acme, Project shop (public, sandbox client), a buyer who is its member
            let acme = try #require(try await world.identity.read { tx in try tx.workspace(slug: "acme") })
            let shop = try #require(try await world.identity.read { tx in try tx.project(slug: "shop") })
            // The buyer is a Project Member of shop; make them a Team Member (viewer) of acme as well.
            let buyer = try #require(try await world.identity.read { tx in try tx.user(email: seeded.email) })
            try await world.identity.write { tx in
                var user = buyer
                user.passwordHash = try PasswordHasher.hash(ConsoleWorld.password)
                try tx.update(user)
            }
            _ = try await world.teamMember(buyer, of: acme, role: .viewer)
            // A second person: a Team Member (developer) of acme, and no Project Member anywhere.
            let dev = try await world.person("dev@example.com", name: "Dev")
            _ = try await world.teamMember(dev, of: acme, role: .developer)

            // Team membership gives no runtime access: dev's sign-in at shop's issuer is refused.
            var runtime = Browser(base: dependencies.configuration.publicBaseURL)
            let query = OAuthParameters.encode([
                ("response_type", "code"), ("client_id", seeded.client.id), ("redirect_uri", SeededProject.redirect), ("scope", "openid"),
                ("state", "s"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
            ])
            var response = try await runtime.get(client, "/p/shop/sandbox/authorize?" + query)
            response = try await runtime.get(client, try #require(response.headers[.location]))
            let html = response.text
            response = try await runtime.post(client, try #require(ConsoleBrowser.formAction(html)), [
                ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
                ("email", "dev@example.com"), ("password", ConsoleWorld.password),
            ])
            response = try await runtime.get(client, try #require(response.headers[.location]))
            // shop is public with join off: a non-member is denied, with the Workspace role beside the point.
            let denied = try #require(response.headers[.location])
            #expect(denied.hasPrefix(SeededProject.redirect) && denied.contains("error=access_denied"), "\(denied)")
            // …and that runtime session cookie is no console session.
            var runtimeAsConsole = ConsoleBrowser(dependencies)
            runtimeAsConsole.browser.cookies = runtime.cookies
            #expect(try await runtimeAsConsole.api(client, .get, "/console/v1/session").status == .unauthorized)

            // Console access of the Team Member works through the console, with the Workspace role's capabilities.
            var devConsole = ConsoleBrowser(dependencies)
            _ = try await devConsole.signIn(client, email: "dev@example.com")
            #expect(try await devConsole.api(client, .get, "/console/v1/projects").status == .ok)
            // Signing in to the console entered no runtime scope of shop.
            let devScopes = try await dependencies.store.read { reader in
                try reader.queryOne("SELECT COUNT(*) AS n FROM runtime_scopes WHERE user_id = $1 AND project_id = $2", [.text(dev.id), .text(shop.id)]).int("n")
            }
            #expect(devScopes == 0)

            // The buyer's Project roles give no console capability: as an acme viewer they read, and may not change, shop.
            var buyerConsole = ConsoleBrowser(dependencies)
            _ = try await buyerConsole.signIn(client, email: seeded.email)
            #expect(try await buyerConsole.api(client, .get, "/console/v1/projects/\(shop.id)").status == .ok)
            response = try await buyerConsole.api(client, .patch, "/console/v1/projects/\(shop.id)", ["name": "Mine now"])
            #expect(response.status == .forbidden)
            // Removed from the team, the buyer keeps their runtime membership, and loses the console of acme.
            try await world.identity.write { tx in
                let member = try #require(try tx.teamMember(workspaceID: acme.id, userID: buyer.id))
                try tx.deleteTeamMember(id: member.id)
            }
            #expect(try await buyerConsole.api(client, .get, "/console/v1/projects").status == .notFound)
            let stillMember = try await world.identity.read { tx in try tx.projectMember(projectID: shop.id, userID: buyer.id)?.status }
            #expect(stillMember == .active)
        }
    }

    @Test("A second Workspace's owner cannot see or change anything of the first", arguments: Backend.underTest)
    func secondWorkspaceOwner_cannotReachTheFirst(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .open)
            _ = try await world.person("first@example.com")
            _ = try await world.person("second@example.com")
            var first = ConsoleBrowser(dependencies), second = ConsoleBrowser(dependencies)
            _ = try await first.signIn(client, email: "first@example.com")
            _ = try await second.signIn(client, email: "second@example.com")
            let firstWorkspace = try #require(try await first.api(client, .post, "/console/v1/workspaces", ["slug": "first-co", "name": "First"]).json?["id"]?.stringValue)
            let project = try #require(try await first.api(client, .post, "/console/v1/projects", ["slug": "first-app", "name": "First App"]).json?["id"]?.stringValue)
            #expect(try await second.api(client, .post, "/console/v1/workspaces", ["slug": "second-co", "name": "Second"]).status == .created)

            let header: HTTPFields = [HTTPField.Name("Lamba-Workspace")!: firstWorkspace]
            for (method, path, body) in [
                (HTTPRequest.Method.get, "/console/v1/workspace", nil), (.get, "/console/v1/projects", nil),
                (.patch, "/console/v1/workspace", ["name": "Taken"] as JSONObject), (.post, "/console/v1/workspace/deactivate", nil),
            ] as [(HTTPRequest.Method, String, JSONObject?)] {
                let response = try await second.api(client, method, path, body, headers: header)
                #expect(response.status == .notFound, "\(method) \(path) as the other Workspace: \(response.status)")
            }
            // In its own Workspace, the first one's Project is simply not there.
            #expect(try await second.api(client, .get, "/console/v1/projects/\(project)").status == .notFound)
            #expect(try await second.api(client, .patch, "/console/v1/projects/\(project)", ["name": "Taken"]).status == .notFound)
            #expect(try await second.api(client, .put, "/console/v1/session/workspace", ["workspace_id": .string(firstWorkspace)]).status == .notFound)
            #expect(try await second.api(client, .post, "/console/v1/workspaces/\(firstWorkspace)/reactivate").status == .notFound)
            let name = try await world.identity.read { tx in try tx.workspace(id: firstWorkspace)?.name }
            #expect(name == "First")
        }
    }

    @Test("Who may create Workspaces follows the installation's setting", arguments: Backend.underTest)
    func workspaceCreation_followsTheInstallationsSetting(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .administrators)
            _ = try await world.person("newcomer@example.com")
            var newcomer = ConsoleBrowser(dependencies)
            _ = try await newcomer.signIn(client, email: "newcomer@example.com")
            #expect(try await newcomer.api(client, .post, "/console/v1/workspaces", ["slug": "nope-co", "name": "Nope"]).status == .forbidden)
            #expect(try await newcomer.api(client, .patch, "/console/v1/installation", ["workspace_creation": "open"]).status == .forbidden)
            _ = try await ConsoleAccessAdministration(store: world.identity).setWorkspaceCreation(.inviteOnly, actor: "test")
            #expect(try await newcomer.api(client, .post, "/console/v1/workspaces", ["slug": "nope-co", "name": "Nope"]).status == .forbidden)
            // Invited somewhere, they may.
            let boot = try await WorkspaceAdministration(store: world.identity).createWorkspace(
                email: "host@example.com", password: nil, name: "Host", workspaceSlug: "host-co", workspaceName: "Host")
            let user = try #require(try await world.identity.read { tx in try tx.user(email: "newcomer@example.com") })
            _ = try await world.teamMember(user, of: boot.workspace, role: .viewer)
            #expect(try await newcomer.api(client, .post, "/console/v1/workspaces", ["slug": "yes-co", "name": "Yes"]).status == .created)
            // Registration at the console issuer is offered only when creation is open.
            let settings = try await world.identity.read { tx in
                try tx.environmentSettings(projectID: world.installation.consoleProjectID, environment: .production)
            }
            #expect(settings?.allowRegister == false)
        }
    }

    @Test("Deactivating a Workspace ends the console sessions in it; its owner reactivates it, and what ended stays ended", arguments: Backend.underTest)
    func deactivation_endsConsoleSessions_andReactivationRestoresTheWorkspaceOnly(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .open)
            _ = try await world.person("owner@example.org")
            let viewer = try await world.person("viewer@example.org")
            var owner = ConsoleBrowser(dependencies)
            _ = try await owner.signIn(client, email: "owner@example.org")
            let workspaceID = try #require(try await owner.api(client, .post, "/console/v1/workspaces", ["slug": "short-lived", "name": "Short"]).json?["id"]?.stringValue)
            let workspace = try #require(try await world.identity.read { tx in try tx.workspace(id: workspaceID) })
            _ = try await world.teamMember(viewer, of: workspace, role: .viewer)
            var watcher = ConsoleBrowser(dependencies)
            _ = try await watcher.signIn(client, email: "viewer@example.org")
            #expect(try await watcher.api(client, .get, "/console/v1/workspace").status == .ok)
            // A viewer may not; the owner may.
            #expect(try await watcher.api(client, .post, "/console/v1/workspace/deactivate").status == .forbidden)
            #expect(try await owner.api(client, .post, "/console/v1/workspace/deactivate").status == .noContent)
            #expect(try await owner.api(client, .get, "/console/v1/session").status == .unauthorized)
            #expect(try await watcher.api(client, .get, "/console/v1/session").status == .unauthorized)
            let ended = try await dependencies.store.read { reader in
                try reader.queryOne("SELECT COUNT(*) AS n FROM events WHERE type = 'console_session.ended' AND workspace_id = $1", [.text(workspaceID)]).int("n")
            }
            #expect(ended == 2)

            var again = ConsoleBrowser(dependencies)
            _ = try await again.signIn(client, email: "owner@example.org")
            #expect(try await again.api(client, .get, "/console/v1/workspace", headers: [HTTPField.Name("Lamba-Workspace")!: workspaceID]).status == .notFound)
            let listed = try await again.api(client, .get, "/console/v1/workspaces").json?["data"]?.arrayValue?.first?.objectValue?["workspace"]?.objectValue
            #expect(listed?["status"] == "deactivated")
            #expect(try await again.api(client, .post, "/console/v1/workspaces/\(workspaceID)/reactivate").json?["status"] == "active")
            #expect(try await again.api(client, .get, "/console/v1/workspace", headers: [HTTPField.Name("Lamba-Workspace")!: workspaceID]).status == .ok)
            // The viewer's ended session did not come back.
            #expect(try await watcher.api(client, .get, "/console/v1/session").status == .unauthorized)
        }
    }

    @Test("Forced logout of a Team Member ends their console sessions in the Workspace until they sign in again", arguments: Backend.underTest)
    func forcedLogoutOfATeamMember(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies, creation: .open)
            _ = try await world.person("lead@example.org")
            let member = try await world.person("member@example.org")
            var lead = ConsoleBrowser(dependencies)
            _ = try await lead.signIn(client, email: "lead@example.org")
            let workspaceID = try #require(try await lead.api(client, .post, "/console/v1/workspaces", ["slug": "team-co", "name": "Team"]).json?["id"]?.stringValue)
            let workspace = try #require(try await world.identity.read { tx in try tx.workspace(id: workspaceID) })
            let teamMember = try await world.teamMember(member, of: workspace, role: .developer)
            var memberConsole = ConsoleBrowser(dependencies)
            _ = try await memberConsole.signIn(client, email: "member@example.org")
            #expect(try await memberConsole.api(client, .get, "/console/v1/projects").status == .ok)
            // A developer may not force anyone out.
            #expect(try await memberConsole.api(client, .post, "/console/v1/team/\(teamMember.id)/force-logout").status == .forbidden)
            let response = try await lead.api(client, .post, "/console/v1/team/\(teamMember.id)/force-logout")
            #expect(response.json?["console_sessions_ended"] == 1)
            #expect(try await memberConsole.api(client, .get, "/console/v1/projects").status == .unauthorized)
            var back = ConsoleBrowser(dependencies)
            _ = try await back.signIn(client, email: "member@example.org")
            #expect(try await back.api(client, .get, "/console/v1/projects").status == .ok)
            // The lead's own session was untouched.
            #expect(try await lead.api(client, .get, "/console/v1/projects").status == .ok)
        }
    }

    @Test("Console sessions end after their idle and absolute lifetimes", arguments: Backend.underTest)
    func consoleSession_idleAndAbsoluteLifetimes(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await ConsoleWorld.make(dependencies)
            _ = try await world.person("clock@example.org")
            var person = ConsoleBrowser(dependencies)
            _ = try await person.signIn(client, email: "clock@example.org")
            let token = try #require(person.browser.cookies["lamba_console"])
            let start = Date()
            func at(_ offset: TimeInterval) -> ConsoleAccessAdministration {
                ConsoleAccessAdministration(store: world.identity, clock: WallClock { start.addingTimeInterval(offset) })
            }
            #expect(try await at(3 * 3600).signedIn(token: token) == nil, "idle for three hours")
            // Used every ninety minutes it lives on, up to its absolute lifetime.
            for hour in stride(from: 1.5, through: 10.5, by: 1.5) {
                #expect(try await at(hour * 3600).signedIn(token: token) != nil, "used at \(hour) h")
            }
            #expect(try await at(12 * 3600 + 60).signedIn(token: token) == nil, "past twelve hours")
        }
    }

    @Test("GET / says where the console is; a browser is sent there")
    func root_pointsAtTheConsole() async throws {
        try await withServer { client, dependencies in
            let json = try await client.execute(uri: "/", method: .get)
            #expect(json.status == .ok)
            #expect(json.json?["console"] == .string(dependencies.configuration.publicBaseURL + "/console"))
            let browser = try await client.execute(uri: "/", method: .get, headers: [.accept: "text/html,application/xhtml+xml"])
            #expect(browser.status == .seeOther)
            #expect(browser.headers[.location] == "/console")
        }
    }
}
