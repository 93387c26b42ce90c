import Foundation
import HTTPTypes
import Hummingbird
import LambaModel
import LambaOAuth

/// The hosted account page for passkeys, `{issuer}/account/passkeys` (docs/account-security.md#passkeys):
/// the signed-in browser's session cookie is the caller, every change is a CSRF-protected form,
/// and a change answers 303 back to the page (POST/redirect/GET).
struct PasskeyAccountRoutes: Sendable {
    let provider: OpenIDProvider
    let pages: HostedPageRoutes

    func register(on issuer: RouterGroup<LambaRequestContext>) {
        let routes = self
        issuer.get("account/passkeys") { request, context -> Response in try await routes.show(request, context) }
        issuer.post("account/passkeys") { request, context -> Response in try await routes.change(request, context) }
    }

    func show(_ request: Request, _ context: LambaRequestContext, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let ctx = try context.issuerContext()
        let (csrfValue, setCookie) = pages.csrf(request, ctx)
        let cookies = setCookie.map { [$0] } ?? []
        let page: HostedInteraction.PasskeyAccountPage?
        do {
            page = try await provider.interaction.passkeyAccountPage(ctx, sessionToken: Cookies.read(request, Cookies.sessionName(ctx)))
        } catch {
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        }
        guard let page else { return HostedPageRoutes.html(HostedPages.passkeysSignedOut(ctx.project.name), status: status, cookies: cookies) }
        let notice = (try? OAuthParameters.decode(request.uri.query ?? "").single("notice")) ?? nil
        let nonce = HostedPages.scriptNonce()
        let body = HostedPages.passkeyAccount(page, action: ctx.endpoint("/account/passkeys"), csrf: provider.interaction.csrfToken(cookie: csrfValue),
                                              nonce: nonce, notice: notice.flatMap { Self.notices.contains($0) ? $0 : nil }, error: error)
        return HostedPageRoutes.html(body, status: status, cookies: cookies, csp: HostedPages.contentSecurityPolicy(nonce: nonce))
    }

    /// Only these words come back through the query string: nothing a link could make the page say.
    static let notices = ["Passkey added.", "Passkey removed."]

    func change(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let form: OAuthParameters
        switch try await HostedPageRoutes.hostedForm(request, context) {
        case .form(let parameters): form = parameters
        case .refused(let page): return page
        }
        let result = await provider.interaction.changePasskeys(ctx, form: form, sessionToken: Cookies.read(request, Cookies.sessionName(ctx)),
                                                               csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie))
        switch result {
        case .changed(let notice):
            return HostedPageRoutes.redirect(ctx.endpoint("/account/passkeys?") + OAuthParameters.encode([("notice", notice)]))
        case .failed(let message):
            return try await show(request, context, error: message, status: .badRequest)
        case .signedOut:
            return HostedPageRoutes.html(HostedPages.passkeysSignedOut(ctx.project.name), status: .badRequest)
        }
    }
}

extension HostedPages {
    static func passkeysSignedOut(_ projectName: String) -> String {
        let t = HostedPageStrings.current
        return layout(t.passkeysTitle, """
            <h1>\(HTML.escape(t.passkeysSignInFirst))</h1>
            <p class="error" role="alert">\(HTML.escape(t.passkeysSignInFirstText(projectName)))</p>
            """)
    }
}
