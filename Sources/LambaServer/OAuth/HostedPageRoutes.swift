import Foundation
import HTTPTypes
import Hummingbird
import LambaJOSE
import LambaModel
import LambaOAuth
internal import NIOCore

/// The authorize endpoint's HTTP side and the hosted pages (login, signup, join, consent,
/// account chooser, logout). Pages are HTML, CSRF-protected, never framed.
struct HostedPageRoutes: Sendable {
    let provider: OpenIDProvider

    enum Page: String, Sendable {
        case login
        case signup
        case join
        case consent
        case selectAccount = "select-account"
        case secondFactor = "second-factor"
    }

    /// `default-src 'none'`: the pages need no script; framing is refused (with X-Frame-Options).
    static let contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"

    static func html(_ body: String, status: HTTPResponse.Status = .ok, cookies: [String] = [], csp: String = contentSecurityPolicy) -> Response {
        var csp = csp
        // A branded page shows its logo: images from that one https origin, nothing else (docs/hosted-pages.md#branding).
        if let origin = HostedPageBrandingMiddleware.current?.logoURL.flatMap(ProjectBranding.logoOrigin) { csp += "; img-src " + origin }
        var fields: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .contentSecurityPolicy: csp]
        for cookie in cookies { fields.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var fields: HTTPFields = [.location: location, .cacheControl: "no-store"]
        for cookie in cookies { fields.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: fields)
    }

    // MARK: Authorize

    func authorize(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let parameters: OAuthParameters
        do {
            if request.method == .post {
                let (form, isForm) = try await OpenIDProviderRoutes.form(request, context)
                guard isForm else { return Self.html(HostedPages.error(.invalidRequest("send the authorization request as a form")), status: .badRequest) }
                parameters = form
            } else {
                parameters = try OAuthParameters.decode(request.uri.query ?? "")
            }
        } catch let error as OAuthError {
            return Self.html(HostedPages.error(error), status: .badRequest)
        }
        let session = Cookies.read(request, Cookies.sessionName(ctx))
        switch await provider.authorization.handle(EndpointRequest(method: request.method.rawValue, parameters: parameters), ctx, sessionToken: session) {
        case .errorPage(let error):
            return Self.html(HostedPages.error(error), status: Self.errorPageStatus(error))
        case .redirect(let response):
            return Self.authorizationResponse(response)
        case .interaction(let interaction):
            let page: Page = switch interaction.kind {
            case .login: .login
            case .consent: .consent
            case .selectAccount: .selectAccount
            case .join: .join
            case .secondFactor: .secondFactor
            }
            return Self.redirect(ctx.endpoint("/\(page.rawValue)?") + interaction.resumeQuery)
        }
    }

    /// Query and fragment: a 303 to the client; form_post: the auto-submitting form.
    static func authorizationResponse(_ response: AuthorizationResponse) -> Response {
        if let location = response.location { return redirect(location) }
        return html(response.formPostHTML, csp: "default-src 'none'; script-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
    }

    // MARK: Pages

    /// The CSRF cookie of the browser, or a new one to set.
    func csrf(_ request: Request, _ ctx: ProviderContext) -> (value: String, setCookie: String?) {
        if let existing = Cookies.read(request, OpenIDProviderRoutes.csrfCookie), existing.utf8.count >= 32, existing.utf8.count <= 128 {
            return (existing, nil)
        }
        let value = HostedInteraction.newCSRFCookie()
        return (value, Cookies.set(OpenIDProviderRoutes.csrfCookie, value, secure: provider.configuration.secureCookies))
    }

    func show(_ page: Page, _ request: Request, _ context: LambaRequestContext, error: String? = nil, authzOverride: String? = nil,
              status: HTTPResponse.Status = .ok, typed: [String: String] = [:]) async throws -> Response {
        let ctx = try context.issuerContext()
        let authz = authzOverride ?? (request.uri.query ?? "")
        let (csrfValue, setCookie) = csrf(request, ctx)
        let token = provider.interaction.csrfToken(cookie: csrfValue)
        let action = ctx.endpoint("/" + page.rawValue)
        let sessionToken = Cookies.read(request, Cookies.sessionName(ctx))
        let info: HostedInteraction.PageInfo
        // The second step loads its factor state with the page data; without a session it is the login page's turn.
        var step: HostedInteraction.SecondFactorPage?
        do {
            if page == .secondFactor {
                step = try await provider.interaction.secondFactorPage(ctx, authz: authz, sessionToken: sessionToken)
                guard let step else { return Self.redirect(ctx.endpoint("/login?") + authz) }
                info = step.info
            } else {
                info = try await provider.interaction.page(ctx, authz: authz, sessionToken: sessionToken)
            }
        } catch {
            return Self.html(HostedPages.error(error), status: .badRequest)
        }
        let body: String
        var csp = Self.contentSecurityPolicy
        let notYou = info.user == nil ? nil : HostedPages.NotYou(action: ctx.endpoint("/not-you"), authz: authz, csrf: token)
        switch page {
        case .login:
            // Passkey sign-in, where the environment offers it: the page's one script, under a nonce.
            var passkey: String?
            if ctx.settings.authMethods.contains(.passkey), let ceremony = try provider.passkeys.beginAuthentication(ctx) {
                let nonce = HostedPages.scriptNonce()
                passkey = HostedPages.passkeySignIn(ceremony, action: action, authz: authz, csrf: token, nonce: nonce)
                csp = HostedPages.contentSecurityPolicy(nonce: nonce)
            }
            let passwordEnabled = ctx.settings.authMethods.contains(.password)
            body = HostedPages.login(info, action: action, authz: authz, csrf: token, error: error,
                                     signupURL: info.allowRegister ? ctx.endpoint("/signup?") + authz : nil,
                                     forgotURL: passwordEnabled ? ctx.endpoint("/password/forgot?") + authz : nil,
                                     providerLinks: info.providers.map { ($0.name, ctx.endpoint("/providers/\($0.id)/login?") + authz) },
                                     typedEmail: typed["email"], passwordEnabled: passwordEnabled, passkey: passkey)
        case .signup:
            body = HostedPages.signup(info, action: action, authz: authz, csrf: token, error: error, signInURL: ctx.endpoint("/login?") + authz,
                                      form: typed, passwordEnabled: ctx.settings.authMethods.contains(.password))
        case .join:
            body = HostedPages.join(info, action: action, authz: authz, csrf: token, error: error, notYou: notYou)
        case .consent:
            body = HostedPages.consent(info, action: action, authz: authz, csrf: token, error: error, notYou: notYou)
        case .selectAccount:
            body = HostedPages.selectAccount(info, action: action, authz: authz, csrf: token, error: error)
        case .secondFactor:
            body = HostedPages.secondFactor(info, enrolment: step?.enrolment, action: action, authz: authz, csrf: token, error: error, notYou: notYou)
        }
        return Self.html(body, status: status, cookies: setCookie.map { [$0] } ?? [], csp: csp)
    }

    /// A hosted page's form body, or the error page that answers a body that is not a form.
    enum HostedForm {
        case form(OAuthParameters)
        case refused(Response)
    }

    static func hostedForm(_ request: Request, _ context: LambaRequestContext) async throws -> HostedForm {
        do {
            let (parameters, isForm) = try await OpenIDProviderRoutes.form(request, context)
            guard isForm else { return .refused(html(HostedPages.error(.invalidRequest("send the form as a form")), status: .unsupportedMediaType)) }
            return .form(parameters)
        } catch let error as OAuthError {
            return .refused(html(HostedPages.error(error), status: .badRequest))
        }
    }

    func submit(_ page: Page, _ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let form: OAuthParameters
        switch try await Self.hostedForm(request, context) {
        case .form(let parameters): form = parameters
        case .refused(let page): return page
        }
        let csrfCookie = Cookies.read(request, OpenIDProviderRoutes.csrfCookie)
        let session = Cookies.read(request, Cookies.sessionName(ctx))
        let interaction = provider.interaction
        let result: HostedInteraction.Result = switch page {
        case .login: await interaction.login(ctx, form: form, csrfCookie: csrfCookie)
        case .signup: await interaction.signup(ctx, form: form, csrfCookie: csrfCookie)
        case .join: await interaction.join(ctx, form: form, sessionToken: session, csrfCookie: csrfCookie)
        case .consent: await interaction.consent(ctx, form: form, sessionToken: session, csrfCookie: csrfCookie)
        case .selectAccount: await interaction.selectAccount(ctx, form: form, sessionToken: session, csrfCookie: csrfCookie)
        case .secondFactor: await interaction.secondFactor(ctx, form: form, sessionToken: session, csrfCookie: csrfCookie)
        }
        switch result {
        case .resume(let location, let sessionToken):
            let cookies = sessionToken.map {
                [Cookies.set(Cookies.sessionName(ctx), $0, secure: provider.configuration.secureCookies,
                             maxAge: ctx.workspace.securityPosture.sessionMaxAgeSeconds)]
            } ?? []
            return Self.redirect(location, cookies: cookies)
        case .respond(let response):
            return Self.authorizationResponse(response)
        case .recoveryCodes(let codes, let location):
            return Self.html(HostedPages.recoveryCodes(codes, continueURL: location))
        case .passkeySignUp(let ceremony, let email):
            // The form's CSRF token was checked and stays valid for the cookie it is bound to.
            let authz = (try? form.single("authz")) ?? nil ?? ""
            let nonce = HostedPages.scriptNonce()
            let csrf = (try? form.single("csrf_token")) ?? nil ?? ""
            return try await HostedPageLanguageMiddleware.speaking(request, authz: authz) {
                let page = HostedPages.passkeySignUp(ceremony, email: email, projectName: ctx.project.name, action: ctx.endpoint("/signup"),
                                                     authz: authz, csrf: csrf, nonce: nonce, otherEmailURL: ctx.endpoint("/signup?") + authz)
                return Self.html(page, csp: HostedPages.contentSecurityPolicy(nonce: nonce))
            }
        case .failed(let message):
            let authz = (try? form.single("authz")) ?? nil
            // Never the password: only what is safe to show again.
            var typed: [String: String] = [:]
            for name in ["email", "name"] { if let value = (try? form.single(name)) ?? nil, value.utf8.count <= 320 { typed[name] = value } }
            // The form's own authorization request says the language (ui_locales), as its page did.
            return try await HostedPageLanguageMiddleware.speaking(request, authz: authz ?? "") {
                try await show(page, request, context, error: message, authzOverride: authz ?? "", status: .badRequest, typed: typed)
            }
        case .errorPage(let error):
            return Self.html(HostedPages.error(error), status: Self.errorPageStatus(error))
        }
    }

    /// An HTML error page is shown to a person, not to an HTTP client that could answer a challenge:
    /// it is never a 401, which would require `WWW-Authenticate` (RFC 9110 §15.5.2).
    static func errorPageStatus(_ error: OAuthError) -> HTTPResponse.Status {
        error.status == 401 ? .badRequest : HTTPResponse.Status(code: error.status)
    }

    // MARK: Not you?

    /// `POST {issuer}/not-you` (docs/hosted-pages.md#not-you): the signed-in session ends, its
    /// cookie is cleared, and the same authorization request starts again at the sign-in form.
    func notYou(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let form: OAuthParameters
        switch try await Self.hostedForm(request, context) {
        case .form(let parameters): form = parameters
        case .refused(let page): return page
        }
        let result = await provider.interaction.notYou(ctx, form: form, sessionToken: Cookies.read(request, Cookies.sessionName(ctx)),
                                                       csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
        switch result {
        case .resume(let location, _):
            let clear = Cookies.set(Cookies.sessionName(ctx), "", secure: provider.configuration.secureCookies, maxAge: 0)
            return Self.redirect(location, cookies: [clear])
        case .errorPage(let error):
            return Self.html(HostedPages.error(error), status: Self.errorPageStatus(error))
        case .failed(let message):
            return Self.html(HostedPages.error(OAuthError(.accessDenied, message)), status: .forbidden)
        case .respond(let response):
            return Self.authorizationResponse(response)
        case .recoveryCodes, .passkeySignUp:
            return Self.html(HostedPages.error(.invalidRequest("unexpected step")), status: .badRequest)
        }
    }

    // MARK: Logout

    func logout(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let parameters: OAuthParameters
        do {
            parameters = try await OpenIDProviderRoutes.parameters(request, context)
        } catch let error as OAuthError {
            return Self.html(HostedPages.error(error), status: .badRequest)
        }
        let session = Cookies.read(request, Cookies.sessionName(ctx))
        if request.method == .post, parameters.contains("csrf_token") {
            do {
                let result = try await provider.logout.confirm(parameters, ctx, sessionToken: session,
                                                               csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
                let clear = Cookies.set(Cookies.sessionName(ctx), "", secure: provider.configuration.secureCookies, maxAge: 0)
                switch result {
                case .redirect(let location): return Self.redirect(location, cookies: [clear])
                case .signedOut: return Self.html(HostedPages.signedOut(), cookies: [clear])
                }
            } catch {
                return Self.html(HostedPages.error(error), status: Self.errorPageStatus(error))
            }
        }
        // GET (or a POST from the RP without our CSRF token): confirm first.
        do {
            let validated = try await provider.logout.validate(parameters, ctx)
            let (csrfValue, setCookie) = csrf(request, ctx)
            let page = HostedPages.logout(action: ctx.endpoint("/logout"), parameters: parameters.removing(["csrf_token"]),
                                          csrf: provider.interaction.csrfToken(cookie: csrfValue), clientName: validated.clientName)
            return Self.html(page, cookies: setCookie.map { [$0] } ?? [])
        } catch {
            return Self.html(HostedPages.error(error), status: .badRequest)
        }
    }
}
