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

/// The hosted pages as a person meets them (docs/hosted-pages.md): one stylesheet with dark mode
/// and a phone layout, forms that keep what was typed, "Not you?", pages in the language the
/// request asks for, and error pages in words.
@Suite("hosted pages over HTTP", .serialized)
struct HostedPagesHTTPTests {
    struct World: Sendable {
        let apiKey: String
        let projectID: String
        let client: OAuthClient
        static let email = "bea@example.com"
        static let password = "bea password 12"
        static let redirect = "http://127.0.0.1:7799/cb"
        static let issuerPath = "/p/shop/sandbox"
    }

    /// A public Project that allows sign-up, a third-party client (so consent is asked) and a member.
    static func world(_ dependencies: ServerDependencies) async throws -> World {
        let identity = SQLIdentityStore(store: dependencies.store)
        let workspaces = WorkspaceAdministration(store: identity)
        let boot = try await workspaces.bootstrap(email: "owner@example.com", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        let owner = try #require(try await workspaces.authenticate(apiKey: boot.apiKeySecret))
        let projects = ProjectAdministration(store: identity)
        let project = try await projects.createProject(owner, slug: "shop", name: "Shop", visibility: .public)
        var changes = ProjectAdministration.EnvironmentChanges()
        changes.allowRegister = true
        _ = try await projects.updateEnvironment(owner, projectID: project.id, environment: .sandbox, changes)
        var registration = ProjectAdministration.ClientRegistration(name: "Shop Web", type: .confidential, redirectURIs: [World.redirect])
        registration.firstParty = false
        let (client, _) = try await projects.createClient(owner, projectID: project.id, environment: .sandbox, registration)
        let user = LambaUser(email: World.email, emailVerified: true, name: "Bea", passwordHash: try PasswordHasher.hash(World.password))
        try await identity.write { tx in try tx.insert(user) }
        _ = try await MemberLifecycle(store: identity).admitExistingUser(owner, projectID: project.id, email: user.email, roles: ["member"])
        return World(apiKey: boot.apiKeySecret, projectID: project.id, client: client)
    }

    static func authorizeQuery(_ world: World, extra: [(String, String)] = []) -> String {
        OAuthParameters.encode([
            ("response_type", "code"), ("client_id", world.client.id), ("redirect_uri", World.redirect), ("scope", "openid email"),
            ("state", "st-1"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
        ] + extra)
    }

    /// `/authorize` → the page it sends the browser to.
    static func page(_ client: any TestClientProtocol, _ browser: inout Browser, _ query: String,
                     headers: HTTPFields = [:]) async throws -> TestResponse {
        let authorize = try await browser.get(client, World.issuerPath + "/authorize?" + query, headers: headers)
        #expect(authorize.status == .seeOther)
        return try await browser.get(client, try #require(authorize.headers[.location]), headers: headers)
    }

    /// The `href` of the element with this id, unescaped.
    static func href(_ html: String, id: String) -> String? {
        guard let range = html.range(of: "id=\"\(id)\" href=\"") else { return nil }
        let rest = html[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end]).replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Signs in on the login page and follows `/authorize` to the consent page.
    static func signInToConsent(_ client: any TestClientProtocol, _ browser: inout Browser, _ world: World, query: String) async throws -> TestResponse {
        let login = try await page(client, &browser, query)
        let signedIn = try await browser.post(client, World.issuerPath + "/login", [
            ("csrf_token", try #require(Browser.hidden(login.text, "csrf_token"))), ("authz", try #require(Browser.hidden(login.text, "authz"))),
            ("email", World.email), ("password", World.password),
        ])
        #expect(signedIn.status == .seeOther)
        let resumed = try await browser.get(client, try #require(signedIn.headers[.location]))
        let location = try #require(resumed.headers[.location])
        #expect(location.contains(World.issuerPath + "/consent?"))
        return try await browser.get(client, location)
    }

    // MARK: The stylesheet

    @Test("every hosted page carries the one stylesheet, with dark mode, a phone layout and primary and secondary buttons; no script is allowed",
          arguments: Backend.underTest)
    func stylesheet_darkModeAndMobile_noScript(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let login = try await Self.page(client, &browser, Self.authorizeQuery(world))
            let forgot = try await browser.get(client, World.issuerPath + "/password/forgot")
            let error = try await client.execute(uri: World.issuerPath + "/authorize?client_id=nope&redirect_uri=https%3A%2F%2Fx.example%2Fcb", method: .get)
            let signedOut = try await browser.get(client, World.issuerPath + "/logout")
            for response in [login, forgot, error, signedOut] {
                let html = response.text
                #expect(html.hasPrefix("<!DOCTYPE html>"))
                #expect(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
                #expect(html.contains("<style>:root{color-scheme:light dark;"))
                #expect(html.contains("@media (prefers-color-scheme:dark){:root{"), "dark mode")
                #expect(html.contains("@media (max-width:32rem){main{margin:0;"), "a phone layout")
                #expect(html.contains("button.secondary,.button.secondary{") && html.contains(":focus-visible{outline:3px solid"))
                #expect(html.contains(".error{background:var(--error-bg)") && html.contains(".notice{background:var(--notice-bg)"))
                // No script on these pages, and the policy forbids one: no script-src, default-src 'none'.
                #expect(!html.contains("<script"))
                let csp = try #require(response.headers[.contentSecurityPolicy])
                #expect(csp == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
            }
            #expect(login.text.contains("<button type=\"submit\" class=\"primary\">Sign in</button>"))
        }
    }

    // MARK: Forms that behave

    @Test("a wrong password shows the sign-in form again with the email kept and the password gone", arguments: Backend.underTest)
    func wrongPassword_keepsEmail_neverPassword(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let login = try await Self.page(client, &browser, Self.authorizeQuery(world))
            let authz = try #require(Browser.hidden(login.text, "authz"))
            let wrong = "not-the-password-8841"
            let again = try await browser.post(client, World.issuerPath + "/login", [
                ("csrf_token", try #require(Browser.hidden(login.text, "csrf_token"))), ("authz", authz), ("email", World.email), ("password", wrong),
            ])
            #expect(again.status == .badRequest)
            #expect(again.text.contains("<p class=\"error\" role=\"alert\">email or password is wrong</p>"))
            #expect(again.text.contains("name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"\(World.email)\""))
            #expect(again.text.contains("name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"), "the password field is empty")
            #expect(!again.text.contains(wrong))
            #expect(Browser.hidden(again.text, "authz") == authz, "the same authorization request")
        }
    }

    @Test("sign-in links to sign-up and sign-up back to sign-in, both for the same authorization request", arguments: Backend.underTest)
    func signUpAndSignInLinks_keepTheRequest(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let login = try await Self.page(client, &browser, Self.authorizeQuery(world))
            let authz = try #require(Browser.hidden(login.text, "authz"))
            let base = dependencies.configuration.publicBaseURL + World.issuerPath
            let signupURL = try #require(Self.href(login.text, id: "signup-link"))
            #expect(signupURL == base + "/signup?" + authz)
            let signup = try await browser.get(client, signupURL)
            #expect(signup.status == .ok && signup.text.contains("<h1>Join Shop</h1>"))
            #expect(Browser.hidden(signup.text, "authz") == authz)
            let signInURL = try #require(Self.href(signup.text, id: "signin-link"))
            #expect(signInURL == base + "/login?" + authz)
            let back = try await browser.get(client, signInURL)
            #expect(back.status == .ok && Browser.hidden(back.text, "authz") == authz)
        }
    }

    @Test("\"Not you?\" on the consent page ends the session and returns to the sign-in form for the same request", arguments: Backend.underTest)
    func notYou_endsSession_returnsToSignIn(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let consent = try await Self.signInToConsent(client, &browser, world, query: Self.authorizeQuery(world))
            #expect(consent.status == .ok)
            #expect(consent.text.contains("<span>Signed in as \(World.email) in Shop</span>"))
            #expect(consent.text.contains("action=\"\(dependencies.configuration.publicBaseURL + World.issuerPath)/not-you\""))
            #expect(consent.text.contains("<button type=\"submit\" form=\"not-you\" class=\"link\">Not you?</button>"))
            // The page's first form is still the consent form: scrapers and keyboards meet it first.
            let firstForm = try #require(consent.text.range(of: "<form method=\"post\" action=\""))
            #expect(consent.text[firstForm.upperBound...].hasPrefix(dependencies.configuration.publicBaseURL + World.issuerPath + "/consent\""))
            let authz = try #require(Browser.hidden(consent.text, "authz"))
            let sessionCookie = try #require(browser.cookies.first { $0.key.hasPrefix("lamba_session_") })

            // A forged form (no CSRF token) ends nothing.
            let forged = try await browser.post(client, World.issuerPath + "/not-you", [("authz", authz)])
            #expect(forged.status == .forbidden && forged.text.contains("The form expired before it was sent."))
            #expect(browser.cookies[sessionCookie.key] == sessionCookie.value)

            let notYou = try await browser.post(client, World.issuerPath + "/not-you", [
                ("csrf_token", try #require(Browser.hidden(consent.text, "csrf_token"))), ("authz", authz),
            ])
            #expect(notYou.status == .seeOther)
            #expect(notYou.headers[.location] == dependencies.configuration.publicBaseURL + World.issuerPath + "/login?" + authz)
            #expect(notYou.headers[values: .setCookie].contains { $0.hasPrefix(sessionCookie.key + "=;") && $0.contains("Max-Age=0") })
            #expect(browser.cookies[sessionCookie.key] == nil)
            let login = try await browser.get(client, try #require(notYou.headers[.location]))
            #expect(login.status == .ok && login.text.contains("<h1>Sign in to Shop</h1>") && Browser.hidden(login.text, "authz") == authz)

            // The session is over on the server too: its old cookie no longer passes /authorize.
            browser.cookies[sessionCookie.key] = sessionCookie.value
            let replay = try await browser.get(client, World.issuerPath + "/authorize?" + authz)
            #expect(replay.status == .seeOther)
            #expect(replay.headers[.location]?.hasPrefix(dependencies.configuration.publicBaseURL + World.issuerPath + "/login?") == true)
        }
    }

    // MARK: Languages

    @Test("ui_locales=de gives the German pages with <html lang=\"de\">; a German form error stays German", arguments: Backend.underTest)
    func uiLocalesGerman(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            // The first supported tag wins (OIDC Core §3.1.2.1); an English browser does not override it.
            let login = try await Self.page(client, &browser, Self.authorizeQuery(world, extra: [("ui_locales", "fr-CA de-CH en")]),
                                            headers: [.acceptLanguage: "en-US,en;q=0.9"])
            #expect(login.text.contains("<html lang=\"de\">"))
            #expect(login.text.contains("<h1>Bei Shop anmelden</h1>"))
            #expect(login.text.contains("<label for=\"password\">Passwort</label>"))
            #expect(login.text.contains(">Konto erstellen</a>"))
            let again = try await browser.post(client, World.issuerPath + "/login", [
                ("csrf_token", try #require(Browser.hidden(login.text, "csrf_token"))), ("authz", try #require(Browser.hidden(login.text, "authz"))),
                ("email", World.email), ("password", "wrong wrong wrong"),
            ], headers: [.acceptLanguage: "en-US,en;q=0.9"])
            #expect(again.status == .badRequest)
            #expect(again.text.contains("<html lang=\"de\">") && again.text.contains("E-Mail-Adresse oder Passwort ist falsch"))
        }
    }

    @Test("without ui_locales, Accept-Language chooses by quality; an unknown language falls back to English", arguments: Backend.underTest)
    func acceptLanguage_andFallback(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let german = try await Self.page(client, &browser, Self.authorizeQuery(world), headers: [.acceptLanguage: "fr-CH, en;q=0.5, de;q=0.8"])
            #expect(german.text.contains("<html lang=\"de\">") && german.text.contains("<h1>Bei Shop anmelden</h1>"))
            let english = try await Self.page(client, &browser, Self.authorizeQuery(world), headers: [.acceptLanguage: "de;q=0.1, en-GB"])
            #expect(english.text.contains("<html lang=\"en\">") && english.text.contains("<h1>Sign in to Shop</h1>"))
            let refused = try await Self.page(client, &browser, Self.authorizeQuery(world), headers: [.acceptLanguage: "de;q=0, fr"])
            #expect(refused.text.contains("<html lang=\"en\">"), "q=0 means not German")
            let unknown = try await Self.page(client, &browser, Self.authorizeQuery(world, extra: [("ui_locales", "xx tlh")]),
                                              headers: [.acceptLanguage: "sw, ja;q=0.9"])
            #expect(unknown.text.contains("<html lang=\"en\">") && unknown.text.contains("<h1>Sign in to Shop</h1>"))
            // The recovery pages outside any request follow the browser too.
            let forgot = try await browser.get(client, World.issuerPath + "/password/forgot", headers: [.acceptLanguage: "de-DE"])
            #expect(forgot.text.contains("<html lang=\"de\">") && forgot.text.contains("<h1>Passwort zurücksetzen</h1>"))
        }
    }

    @Test("discovery advertises exactly the languages of the hosted pages as ui_locales_supported", arguments: Backend.underTest)
    func discovery_uiLocalesSupported(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            _ = try await Self.world(dependencies)
            let discovery = try await client.execute(uri: World.issuerPath + "/.well-known/openid-configuration", method: .get)
            #expect(discovery.status == .ok)
            #expect(discovery.json?["ui_locales_supported"] == .array(["en", "de"]))
        }
    }

    // MARK: Error pages

    @Test("an error page says what happened in words, with the raw code only in a small developer line", arguments: Backend.underTest)
    func errorPage_wordsAndCode(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            let unknown = try await client.execute(uri: World.issuerPath + "/authorize?" + OAuthParameters.encode([
                ("response_type", "code"), ("client_id", "cl_nope"), ("redirect_uri", World.redirect),
            ]), method: .get)
            #expect(unknown.status == .badRequest && unknown.headers[.location] == nil)
            #expect(unknown.text.contains("<h1>This sign-in request cannot continue</h1>"))
            #expect(unknown.text.contains("<p class=\"error\" role=\"alert\">The application that sent you here is not known to this sign-in service"))
            #expect(unknown.text.contains("<p class=\"developer\">Error code: invalid_client<br>Unknown client_id.</p>"))

            let unregistered = try await client.execute(uri: World.issuerPath + "/authorize?" + OAuthParameters.encode([
                ("response_type", "code"), ("client_id", world.client.id), ("redirect_uri", "https://evil.example/cb"), ("ui_locales", "de"),
            ]), method: .get)
            #expect(unregistered.status == .badRequest && unregistered.headers[.location] == nil)
            #expect(unregistered.text.contains("<html lang=\"de\">"))
            #expect(unregistered.text.contains("Die Anwendung hat eine unvollständige oder ungültige Anmeldeanfrage gesendet."))
            #expect(unregistered.text.contains("Fehlercode: invalid_request"))
        }
    }

    // MARK: Branding

    static func putBranding(_ client: any TestClientProtocol, key: String, projectID: String, _ body: JSONObject) async throws -> TestResponse {
        try await client.execute(uri: "/console/v1/projects/\(projectID)/branding", method: .put,
                                 headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                                 body: ByteBuffer(string: JSON.encodeString(.object(body))))
    }

    @Test("branding: the login page shows the Project's name, logo and colour; a bad colour or an http logo is 400; another Workspace's key gets 404",
          arguments: Backend.underTest)
    func branding_shownValidatedAndTenantScoped(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let world = try await Self.world(dependencies)
            let set = try await Self.putBranding(client, key: world.apiKey, projectID: world.projectID, [
                "display_name": "Shop & Co", "logo_url": "https://cdn.shop.example/logo.png", "primary_color": "#FFCC00",
            ])
            #expect(set.status == .ok, "\(set.text)")
            #expect(set.json == ["display_name": "Shop & Co", "logo_url": "https://cdn.shop.example/logo.png", "primary_color": "#ffcc00"])
            let read = try await client.execute(uri: "/console/v1/projects/\(world.projectID)/branding", method: .get,
                                                headers: [.authorization: "Bearer \(world.apiKey)"])
            #expect(read.status == .ok && read.json == set.json)

            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let login = try await Self.page(client, &browser, Self.authorizeQuery(world))
            #expect(login.text.contains("<div class=\"brand\"><img src=\"https://cdn.shop.example/logo.png\" alt=\"\"><span>Shop &amp; Co</span></div>"))
            #expect(login.text.contains("<h1>Sign in to Shop &amp; Co</h1>"))
            // A light colour gets black text on its buttons.
            #expect(login.text.contains("--primary:#ffcc00;--on-primary:#000000;"))
            #expect(login.headers[.contentSecurityPolicy] == "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; img-src https://cdn.shop.example")

            for bad: JSONObject in [["primary_color": "red"], ["primary_color": "#ffcc00;}body{"], ["logo_url": "http://cdn.shop.example/logo.png"],
                                    ["logo_url": "https://cdn.shop.example/a\"onerror=x"]] {
                let refused = try await Self.putBranding(client, key: world.apiKey, projectID: world.projectID, bad)
                #expect(refused.status == .badRequest, "\(bad): \(refused.text)")
            }
            #expect(try await Self.putBranding(client, key: world.apiKey, projectID: world.projectID, [:]).json
                    == ["display_name": .null, "logo_url": .null, "primary_color": .null], "an empty body clears the branding")

            let other = try await WorkspaceAdministration(store: SQLIdentityStore(store: dependencies.store)).createWorkspace(
                email: "owner@other.example", password: nil, name: "Other", workspaceSlug: "other", workspaceName: "Other")
            let foreignRead = try await client.execute(uri: "/console/v1/projects/\(world.projectID)/branding", method: .get,
                                                       headers: [.authorization: "Bearer \(other.apiKeySecret)"])
            #expect(foreignRead.status == .notFound)
            let foreignWrite = try await Self.putBranding(client, key: other.apiKeySecret, projectID: world.projectID, ["primary_color": "#000000"])
            #expect(foreignWrite.status == .notFound)
        }
    }
}
