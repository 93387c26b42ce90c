import Foundation
import HTTPTypes
public import Hummingbird
import LambaJOSE
import LambaModel
public import LambaOAuth
import LambaStore
internal import NIOCore

/// How a person signs in to the console (docs/console-access.md#signing-in): the console is a
/// first-party public client of the console issuer, and runs the authorization code flow with PKCE,
/// `state` and `nonce` against it like any relying party, only in-process. The hosted login, join
/// and register pages of that issuer are the ones every Project has; nothing here checks a password.
public struct ConsoleSignInRoutes: RouteGroup {
    let provider: OpenIDProvider
    let people: ConsoleAccessAdministration
    let authentication: ConsoleAuthentication
    let installation: InstallationSetup
    let members: MemberLifecycle
    /// Key of the short-lived cookies that carry a pending sign-in and a sign-in link's CSRF token.
    let cookieKey: [UInt8]

    static let pendingCookie = "lamba_console_signin"
    static let linkCookie = "lamba_console_link"
    static let pendingLifetime = 600

    public init(provider: OpenIDProvider, dependencies: ServerDependencies) {
        let identity = DomainIdentityStore(store: dependencies.store)
        self.provider = provider
        people = ConsoleAccessAdministration(store: identity, clock: provider.configuration.clock)
        authentication = ConsoleAuthentication(workspaces: WorkspaceAdministration(store: identity), people: people, masterKey: dependencies.masterKey)
        installation = InstallationSetup(store: identity)
        members = MemberLifecycle(store: identity, clock: provider.configuration.clock)
        cookieKey = Digest.hmac(.sha256, key: Array(dependencies.masterKey.encoded.utf8), data: Array("lamba console sign-in v1".utf8))
    }

    var base: String { provider.configuration.publicBaseURL }
    var secure: Bool { provider.configuration.secureCookies }

    public func register(on router: Router<LambaRequestContext>) {
        router.get("/") { request, _ -> Response in
            // A browser goes to the console; anything else learns where things are.
            if request.headers[values: .accept].contains(where: { $0.contains("text/html") }) { return HostedPageRoutes.redirect("/console") }
            return .json(["service": "lamba", "version": .string(LambaVersion.current), "console": .string(base + "/console"),
                          "console_api": .string(base + "/console/v1/openapi.json"), "health": .string(base + "/healthz")])
        }
        router.get("/console") { request, _ -> Response in try await home(request) }
        router.get("/console/sign-in") { request, _ -> Response in try await signIn(request) }
        router.get("/console/callback") { request, _ -> Response in try await callback(request) }
        router.post("/console/sign-out") { request, context -> Response in try await signOut(request, context) }
        router.get("/console/signed-out") { _, _ -> Response in
            HostedPageRoutes.html(HostedPages.layout("Signed out", "<h1>Signed out of the console</h1><p><a href=\"/console/sign-in\">Sign in again</a></p>"))
        }
        router.get("/console/sign-in-link") { request, _ -> Response in try await linkPage(request, error: nil) }
        router.post("/console/sign-in-link") { request, context -> Response in try await redeemLink(request, context) }
        registerInviteAcceptance(on: router)
    }

    // MARK: The authorization code flow, as the console's relying party

    func consoleContext() async throws -> ProviderContext {
        try await provider.context(slug: Installation.consoleProjectSlug, environment: Environment.production.rawValue)
    }

    /// Starts the flow: `state`, `nonce` and the PKCE verifier ride in a MAC'd, HttpOnly cookie for
    /// ten minutes (RFC 6749 §10.12, RFC 7636, OIDC Core §3.1.2.1).
    func signIn(_ request: Request) async throws -> Response {
        let ctx = try await consoleContext()
        guard let installation = try await people.store.read({ tx in try tx.installation() }) else { throw APIError.notFound }
        let state = try SecureRandom.token(byteCount: 24), nonce = try SecureRandom.token(byteCount: 24), verifier = try SecureRandom.token(byteCount: 32)
        let pending = [state, nonce, verifier].joined(separator: ".")
        let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        var parameters: [(String, String)] = [
            ("response_type", "code"), ("client_id", installation.consoleClientID), ("redirect_uri", InstallationSetup.consoleRedirectURI(publicBaseURL: base)),
            ("scope", "openid profile email"), ("state", state), ("nonce", nonce), ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ]
        if let hint = try OAuthParameters.decode(request.uri.query ?? "").single("login_hint"), hint.utf8.count <= 320 { parameters.append(("login_hint", hint)) }
        return HostedPageRoutes.redirect(ctx.endpoint("/authorize?") + OAuthParameters.encode(parameters),
                                         cookies: [cookie(Self.pendingCookie, pending + "." + mac(pending), maxAge: Self.pendingLifetime)])
    }

    /// The redirect back: checks `state` and `iss` (RFC 9207), redeems the code at the issuer's token
    /// endpoint, verifies the ID token, and starts the console session on its `sid`.
    func callback(_ request: Request) async throws -> Response {
        let query = try OAuthParameters.decode(request.uri.query ?? "")
        try query.rejectDuplicates()
        let clear = cookie(Self.pendingCookie, "", maxAge: 0)
        guard let sealed = Cookies.read(request, Self.pendingCookie), let pending = unsealed(sealed) else {
            return failure("This sign-in expired or was started elsewhere.", clear)
        }
        let parts = pending.split(separator: ".").map(String.init)
        guard parts.count == 3, let state = try query.single("state"), constantTimeEquals(Array(state.utf8), Array(parts[0].utf8)) else {
            return failure("This sign-in does not match the one this browser started.", clear)
        }
        let ctx = try await consoleContext()
        guard try query.single("iss") == ctx.issuer else { return failure("The answer came from another issuer.", clear) }
        if let error = try query.single("error") {
            let description = (try query.single("error_description")) ?? error
            return failure(error == "access_denied" ? "Access was denied: \(description)" : description, clear)
        }
        guard let code = try query.single("code"), let installation = try await people.store.read({ tx in try tx.installation() }) else {
            return failure("The answer carried no code.", clear)
        }
        let exchange = EndpointRequest(method: "POST", parameters: OAuthParameters([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", InstallationSetup.consoleRedirectURI(publicBaseURL: base)),
            ("client_id", installation.consoleClientID), ("code_verifier", parts[2]),
        ]))
        let answer = await provider.token.handle(exchange, ctx, isForm: true)
        guard answer.status == 200, let body = try? JSON.decodeObject(answer.body, limits: .jose), let idToken = body["id_token"]?.stringValue else {
            return failure("The console issuer refused the code.", clear)
        }
        let verified: VerifiedJWT
        do {
            verified = try JWT.verify(idToken, with: try await provider.keys.verifier(projectID: ctx.project.id, environment: ctx.environment),
                                      validation: JWTValidation(issuer: ctx.issuer, audience: installation.consoleClientID, requiredClaims: ["sub", "nonce", "sid"]))
        } catch {
            return failure("The ID token did not verify.", clear)
        }
        guard let nonce = verified.claims["nonce"]?.stringValue, constantTimeEquals(Array(nonce.utf8), Array(parts[1].utf8)),
            let sub = verified.claims.subject, let sid = verified.claims["sid"]?.stringValue
        else { return failure("The ID token is not for this sign-in.", clear) }
        let (session, secret) = try await people.startSession(userID: sub, runtimeScopeID: sid)
        return HostedPageRoutes.redirect("/console", cookies: [clear, cookie(ConsoleAuthentication.sessionCookie, secret,
                                                                             maxAge: Int(session.expiresAt.timeIntervalSince(session.createdAt)))])
    }

    /// The landing page of a signed-in person: who they are, their Workspaces, and sign-out.
    func home(_ request: Request) async throws -> Response {
        guard let token = Cookies.read(request, ConsoleAuthentication.sessionCookie), let person = try await people.signedIn(token: token) else {
            return HostedPageRoutes.redirect("/console/sign-in")
        }
        let memberships = try await people.workspaces(person)
        let rows = memberships.map { m in
            "<li>\(HTML.escape(m.workspace.name)) <span class=\"muted\">\(HTML.escape(m.workspace.slug)) · \(m.member.workspaceRole.rawValue)"
                + (m.workspace.status == .active ? "" : " · deactivated") + (m.workspace.id == person.session.workspaceID ? " · current" : "") + "</span></li>"
        }.joined()
        let body = """
            <h1>Lamba console</h1>
            <p>Signed in as \(HTML.escape(person.user.name)) (\(HTML.escape(person.user.email)))\(person.isAdministrator ? ", administrator" : "").</p>
            <h2>Workspaces</h2>
            \(rows.isEmpty ? "<p class=\"muted\">You are not a Team Member of any Workspace yet.</p>" : "<ul>\(rows)</ul>")
            <p class="muted">The console API is at <code>/console/v1</code> (<a href="/console/v1/openapi.json">OpenAPI</a>); this session authenticates it.</p>
            <form method="post" action="/console/sign-out">\(HostedPages.hidden("csrf_token", authentication.csrfToken(sessionID: person.session.id)))
            <button type="submit">Sign out</button></form>
            """
        return HostedPageRoutes.html(HostedPages.layout("Lamba console", body))
    }

    func signOut(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let clear = cookie(ConsoleAuthentication.sessionCookie, "", maxAge: 0)
        guard let token = Cookies.read(request, ConsoleAuthentication.sessionCookie), let person = try await people.signedIn(token: token) else {
            return HostedPageRoutes.redirect("/console/signed-out", cookies: [clear])
        }
        let (form, _) = try await OpenIDProviderRoutes.form(request, context)
        guard let sent = try form.single("csrf_token"),
            constantTimeEquals(Array(sent.utf8), Array(authentication.csrfToken(sessionID: person.session.id).utf8))
        else { return HostedPageRoutes.html(HostedPages.layout("Sign out", HostedPages.message("The form expired; go back and try again.")), status: .forbidden) }
        try await people.signOut(person)
        return HostedPageRoutes.redirect("/console/signed-out", cookies: [clear])
    }

    // MARK: One-time sign-in links

    /// The link's page: choose a password (required when the person has none) and continue. A
    /// double-submit cookie binds the form to this browser, so a link cannot be spent in another's.
    func linkPage(_ request: Request, error: String?, token override: String? = nil) async throws -> Response {
        let token = try override ?? OAuthParameters.decode(request.uri.query ?? "").single("token") ?? ""
        guard let user = try await people.signInLinkUser(token: token) else {
            return HostedPageRoutes.html(HostedPages.layout("Sign-in link", """
                <h1>This sign-in link cannot be used</h1>\(HostedPages.message("It was used already, it expired, or it is not a link of this installation."))\
                <p>Ask for a new one: <code>lamba admin sign-in-link --email you@example.com</code>.</p>
                """), status: .badRequest)
        }
        let csrf = formToken(cookie: Self.linkCookie)
        let body = """
            <h1>Sign in to the Lamba console</h1>
            <p>as \(HTML.escape(user.email))</p>
            \(HostedPages.message(error))
            <form method="post" action="/console/sign-in-link">
            \(HostedPages.hidden("token", token))\(csrf.field)
            <label for="password">\(user.passwordHash == nil ? "Choose a password" : "New password (leave empty to keep yours)")</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" \(user.passwordHash == nil ? "required" : "")>
            <button type="submit">Continue</button></form>
            """
        return HostedPageRoutes.html(HostedPages.layout("Sign in to the Lamba console", body), status: error == nil ? .ok : .badRequest,
                                     cookies: [csrf.cookie])
    }

    /// Spends the link, then signs the person in at the console issuer (its identity session, and
    /// the console's runtime scope), and runs the console's own sign-in, which now passes silently.
    func redeemLink(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let (form, isForm) = try await OpenIDProviderRoutes.form(request, context)
        guard isForm else { throw APIError.invalidRequest("send the form as application/x-www-form-urlencoded") }
        try form.rejectDuplicates()
        let token = try form.single("token") ?? ""
        guard try formTokenMatches(request, form, cookie: Self.linkCookie) else {
            return try await linkPage(request, error: "The form expired; try again.", token: token)
        }
        let password = try form.single("password").flatMap { $0.isEmpty ? nil : $0 }
        let user: LambaUser
        do {
            user = try await people.redeemSignInLink(token: token, newPassword: password)
        } catch let error as DomainError {
            return try await linkPage(request, error: error.description, token: token)
        }
        let ctx = try await consoleContext()
        guard let installation = try await people.store.read({ tx in try tx.installation() }) else { throw APIError.notFound }
        let session = try await provider.interaction.startSession(ctx, provenUser: user, amr: ["otp"], clientID: installation.consoleClientID)
        let issuerCookie = "lamba_session_\(ctx.workspace.id)=\(session); Path=/; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
            + "; Max-Age=\(ctx.workspace.securityPosture.sessionMaxAgeSeconds)"
        return HostedPageRoutes.redirect("/console/sign-in", cookies: [cookie(Self.linkCookie, "", maxAge: 0), issuerCookie])
    }

    // MARK: Cookies and pages

    /// `Path=/console; HttpOnly; SameSite=Lax`, `Secure` behind https.
    func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/console; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "") + "; Max-Age=\(maxAge)"
    }

    func mac(_ value: String) -> String { Base64URL.encode(Digest.hmac(.sha256, key: cookieKey, data: Array(value.utf8))) }

    /// A double-submit token for a form page: the hidden field to put in the form, and the cookie
    /// that binds it to this browser.
    func formToken(cookie name: String) -> (field: String, cookie: String) {
        let value = OpaqueSecret.generate().value
        return (HostedPages.hidden("csrf_token", mac(value)), cookie(name, value, maxAge: Self.pendingLifetime))
    }

    /// Whether the form carries the token its page set in cookie `name` (compared in constant time).
    func formTokenMatches(_ request: Request, _ form: OAuthParameters, cookie name: String) throws -> Bool {
        guard let value = Cookies.read(request, name), let sent = try form.single("csrf_token") else { return false }
        return constantTimeEquals(Array(sent.utf8), Array(mac(value).utf8))
    }

    func unsealed(_ sealed: String) -> String? {
        guard sealed.utf8.count <= 512, let dot = sealed.lastIndex(of: ".") else { return nil }
        let value = String(sealed[..<dot])
        guard constantTimeEquals(Array(sealed[sealed.index(after: dot)...].utf8), Array(mac(value).utf8)) else { return nil }
        return value
    }

    func failure(_ message: String, _ cookie: String) -> Response {
        HostedPageRoutes.html(HostedPages.layout("Console sign-in", """
            <h1>Console sign-in did not finish</h1>\(HostedPages.message(message))<p><a href="/console/sign-in">Start again</a></p>
            """), status: .badRequest, cookies: [cookie])
    }
}
