import Foundation
import HTTPTypes
import Hummingbird
import LambaModel
import LambaOAuth

/// The hosted pages of account recovery under each issuer (docs/account-recovery.md):
/// `/password/forgot`, `/password/reset`, `/email/verify`, `/email/change`. A link from a mail opens a page with a
/// button; only the form's POST acts, so a mail scanner that fetches links uses nothing up.
struct AccountRecoveryRoutes: Sendable {
    let provider: OpenIDProvider

    func register(on issuer: RouterGroup<LambaRequestContext>) {
        let routes = self
        issuer.get("password/forgot") { request, context -> Response in try await routes.forgotPage(request, context) }
        issuer.post("password/forgot") { request, context -> Response in try await routes.forgot(request, context) }
        issuer.get("password/reset") { request, context -> Response in try await routes.resetPage(request, context) }
        issuer.post("password/reset") { request, context -> Response in try await routes.reset(request, context) }
        issuer.get("email/verify") { request, context -> Response in try await routes.verifyPage(request, context) }
        issuer.post("email/verify") { request, context -> Response in try await routes.verify(request, context) }
        issuer.get("email/change") { request, context -> Response in try await routes.changeEmailPage(request, context) }
        issuer.post("email/change") { request, context -> Response in try await routes.changeEmail(request, context) }
    }

    /// The page with the CSRF cookie set when the browser has none.
    func page(_ request: Request, _ context: LambaRequestContext, status: HTTPResponse.Status = .ok,
              _ body: (_ action: (String) -> String, _ csrf: String) -> String) throws -> Response {
        let ctx = try context.issuerContext()
        let pages = HostedPageRoutes(provider: provider)
        let (cookie, setCookie) = pages.csrf(request, ctx)
        return HostedPageRoutes.html(body({ ctx.endpoint($0) }, provider.accountRecovery.csrfToken(cookie: cookie)), status: status,
                                     cookies: setCookie.map { [$0] } ?? [])
    }

    func query(_ request: Request, _ name: String) -> String {
        ((try? OAuthParameters.decode(request.uri.query ?? "").single(name)) ?? nil) ?? ""
    }

    // MARK: Forgot password

    func forgotPage(_ request: Request, _ context: LambaRequestContext, error: String? = nil) async throws -> Response {
        let ctx = try context.issuerContext()
        let authz = request.uri.query ?? ""
        return try page(request, context, status: error == nil ? .ok : .badRequest) { action, csrf in
            AccountRecoveryPages.forgot(projectName: ctx.project.name, action: action("/password/forgot"), csrf: csrf, authz: authz,
                                        signIn: authz.isEmpty ? nil : action("/login?") + authz, error: error)
        }
    }

    func forgot(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        guard case .form(let form) = try await HostedPageRoutes.hostedForm(request, context) else {
            return HostedPageRoutes.html(HostedPages.error(.invalidRequest("send the form as a form")), status: .unsupportedMediaType)
        }
        do {
            try await provider.accountRecovery.requestReset(ctx, form: form, csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
        } catch let error as OAuthError {
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        }
        let authz = ((try? form.single("authz")) ?? nil) ?? ""
        // The same page whether or not the address has an account (docs/account-recovery.md#no-account-oracle).
        return HostedPageRoutes.html(AccountRecoveryPages.checkInbox(projectName: ctx.project.name,
                                                                     signIn: authz.isEmpty ? nil : ctx.endpoint("/login?") + authz))
    }

    // MARK: Reset

    func resetPage(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let token = query(request, "token")
        guard try await provider.accountRecovery.resetLinkIsUsable(token) else {
            return HostedPageRoutes.html(AccountRecoveryPages.deadLink(projectName: ctx.project.name, forgot: ctx.endpoint("/password/forgot")),
                                         status: .badRequest)
        }
        return try page(request, context) { action, csrf in
            AccountRecoveryPages.reset(projectName: ctx.project.name, action: action("/password/reset"), csrf: csrf, token: token, error: nil)
        }
    }

    func reset(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        guard case .form(let form) = try await HostedPageRoutes.hostedForm(request, context) else {
            return HostedPageRoutes.html(HostedPages.error(.invalidRequest("send the form as a form")), status: .unsupportedMediaType)
        }
        do {
            try await provider.accountRecovery.reset(ctx, form: form, csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
            return HostedPageRoutes.html(AccountRecoveryPages.passwordChanged(projectName: ctx.project.name))
        } catch let error as OAuthError {
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        } catch DomainError.invalid(_, let reason) {
            let token = ((try? form.single("token")) ?? nil) ?? ""
            return try page(request, context, status: .badRequest) { action, csrf in
                AccountRecoveryPages.reset(projectName: ctx.project.name, action: action("/password/reset"), csrf: csrf, token: token,
                                           error: HostedPageStrings.current.resetInvalidPassword(reason))
            }
        } catch is DomainError {
            return HostedPageRoutes.html(AccountRecoveryPages.deadLink(projectName: ctx.project.name, forgot: ctx.endpoint("/password/forgot")),
                                         status: .badRequest)
        }
    }

    // MARK: Email verification

    func verifyPage(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let token = query(request, "token")
        return try page(request, context) { action, csrf in
            AccountRecoveryPages.verify(projectName: ctx.project.name, action: action("/email/verify"), csrf: csrf, token: token)
        }
    }

    func verify(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        guard case .form(let form) = try await HostedPageRoutes.hostedForm(request, context) else {
            return HostedPageRoutes.html(HostedPages.error(.invalidRequest("send the form as a form")), status: .unsupportedMediaType)
        }
        do {
            let user = try await provider.accountRecovery.verify(form: form, csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
            return HostedPageRoutes.html(AccountRecoveryPages.verified(projectName: ctx.project.name, email: user.email))
        } catch let error as OAuthError {
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        } catch is DomainError {
            return HostedPageRoutes.html(AccountRecoveryPages.deadLink(projectName: ctx.project.name, forgot: nil), status: .badRequest)
        }
    }
}

extension AccountRecoveryRoutes {
    // MARK: Email change (docs/account-recovery.md#email-change)

    func changeEmailPage(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let token = query(request, "token")
        guard let pending = try await provider.accountRecovery.pendingEmailChange(ctx, token: token) else {
            return HostedPageRoutes.html(AccountRecoveryPages.deadLink(projectName: ctx.project.name, forgot: nil), status: .badRequest)
        }
        return try page(request, context) { action, csrf in
            AccountRecoveryPages.changeEmail(projectName: ctx.project.name, newEmail: pending.newEmail, action: action("/email/change"), csrf: csrf,
                                             token: token)
        }
    }

    func changeEmail(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        guard case .form(let form) = try await HostedPageRoutes.hostedForm(request, context) else {
            return HostedPageRoutes.html(HostedPages.error(.invalidRequest("send the form as a form")), status: .unsupportedMediaType)
        }
        do {
            let user = try await provider.accountRecovery.confirmEmailChange(ctx, form: form, csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
            return HostedPageRoutes.html(AccountRecoveryPages.emailChanged(projectName: ctx.project.name, email: user.email))
        } catch let error as OAuthError {
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        } catch DomainError.conflict(let reason) {
            return HostedPageRoutes.html(AccountRecoveryPages.emailTaken(reason), status: .conflict)
        } catch is DomainError {
            return HostedPageRoutes.html(AccountRecoveryPages.deadLink(projectName: ctx.project.name, forgot: nil), status: .badRequest)
        }
    }
}

/// The pages themselves, in the hosted pages' layout and language.
enum AccountRecoveryPages {
    static func forgot(projectName: String, action: String, csrf: String, authz: String, signIn: String?, error: String?) -> String {
        let t = HostedPageStrings.current
        var body = """
            <h1>\(HTML.escape(t.forgotTitle))</h1>
            <p class="muted">\(HTML.escape(t.forgotText(projectName)))</p>
            \(HostedPages.message(error))
            <form method="post" action="\(HTML.escape(action))">
            \(HostedPages.hidden("csrf_token", csrf))\(HostedPages.hidden("authz", authz))
            <label for="email">\(HTML.escape(t.email))</label><input id="email" name="email" type="email" autocomplete="username" required>
            <button type="submit" class="primary">\(HTML.escape(t.forgotButton))</button>
            </form>
            """
        if let signIn { body += "<p><a href=\"\(HTML.escape(signIn))\">\(HTML.escape(t.backToSignIn))</a></p>" }
        return HostedPages.layout(t.forgotTitle, body)
    }

    static func checkInbox(projectName: String, signIn: String?) -> String {
        let t = HostedPageStrings.current
        var body = """
            <h1>\(HTML.escape(t.checkInboxTitle))</h1>
            <p>\(HTML.escape(t.checkInboxText(projectName)))</p>
            """
        if let signIn { body += "<p><a href=\"\(HTML.escape(signIn))\">\(HTML.escape(t.backToSignIn))</a></p>" }
        return HostedPages.layout(t.checkInboxTitle, body)
    }

    static func reset(projectName: String, action: String, csrf: String, token: String, error: String?) -> String {
        let t = HostedPageStrings.current
        return HostedPages.layout(t.resetTitle, """
            <h1>\(HTML.escape(t.resetTitle))</h1>
            <p class="muted">\(HTML.escape(t.resetText(projectName)))</p>
            \(HostedPages.message(error))
            <form method="post" action="\(HTML.escape(action))">
            \(HostedPages.hidden("csrf_token", csrf))\(HostedPages.hidden("token", token))
            <label for="password">\(HTML.escape(t.resetPasswordLabel))</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required>
            <button type="submit" class="primary">\(HTML.escape(t.resetButton))</button>
            </form>
            """)
    }

    static func passwordChanged(projectName: String) -> String {
        let t = HostedPageStrings.current
        return HostedPages.layout(t.passwordChangedTitle, """
            <h1>\(HTML.escape(t.passwordChangedHeading))</h1>
            <p>\(HTML.escape(t.passwordChangedText(projectName)))</p>
            """)
    }

    static func verify(projectName: String, action: String, csrf: String, token: String) -> String {
        let t = HostedPageStrings.current
        return HostedPages.layout(t.verifyTitle, """
            <h1>\(HTML.escape(t.verifyTitle))</h1>
            <p class="muted">\(HTML.escape(t.forYourAccount(projectName)))</p>
            <form method="post" action="\(HTML.escape(action))">
            \(HostedPages.hidden("csrf_token", csrf))\(HostedPages.hidden("token", token))
            <button type="submit" class="primary">\(HTML.escape(t.verifyButton))</button>
            </form>
            """)
    }

    static func verified(projectName: String, email: String) -> String {
        let t = HostedPageStrings.current
        return HostedPages.layout(t.verifiedTitle, """
            <h1>\(HTML.escape(t.verifiedTitle))</h1>
            <p>\(HTML.escape(t.verifiedText(email, projectName)))</p>
            """)
    }

    static func changeEmail(projectName: String, newEmail: String, action: String, csrf: String, token: String) -> String {
        HostedPages.layout("Confirm your new email", """
            <h1>Confirm your new email</h1>
            <p class="muted">\(HTML.escape(newEmail)) becomes the email of your \(HTML.escape(projectName)) account.</p>
            <form method="post" action="\(HTML.escape(action))">
            \(HostedPages.hidden("csrf_token", csrf))\(HostedPages.hidden("token", token))
            <button type="submit">Change my email</button>
            </form>
            """)
    }

    static func emailChanged(projectName: String, email: String) -> String {
        HostedPages.layout("Email changed", """
            <h1>Email changed</h1>
            <p>\(HTML.escape(email)) is now the email of your \(HTML.escape(projectName)) account. You can close this window.</p>
            """)
    }

    static func emailTaken(_ reason: String) -> String {
        HostedPages.layout("Email not changed", """
            <h1>Your email was not changed</h1>
            <p class="error">\(HTML.escape(reason)).</p>
            """)
    }

    static func deadLink(projectName: String, forgot: String?) -> String {
        let t = HostedPageStrings.current
        var body = """
            <h1>\(HTML.escape(t.deadLinkHeading))</h1>
            <p class="error">\(HTML.escape(t.deadLinkText))</p>
            """
        if let forgot { body += "<p><a href=\"\(HTML.escape(forgot))\">\(HTML.escape(t.deadLinkAgain))</a></p>" }
        return HostedPages.layout(t.deadLinkTitle, body)
    }
}
