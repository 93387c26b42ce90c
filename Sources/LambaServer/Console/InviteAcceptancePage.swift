import Foundation
import HTTPTypes
import Hummingbird
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore

/// The hosted page an invite mail links to (docs/account-recovery.md#invites-by-email):
/// `/console/invites/accept?token=…`. The invitee gives their email and password (and a name when
/// they are new); the same rule as `POST /console/v1/invites/accept` decides. Opening the link
/// alone accepts nothing.
extension ConsoleSignInRoutes {
    static let inviteCookie = "lamba_invite_form"

    func registerInviteAcceptance(on router: Router<LambaRequestContext>) {
        // The invite page speaks the browser's language (docs/hosted-pages.md#languages).
        router.get("/console/invites/accept") { request, _ -> Response in
            let token = try OAuthParameters.decode(request.uri.query ?? "").single("token") ?? ""
            return await HostedPageLanguageMiddleware.speaking(request, authz: "") { invitePage(token: token, error: nil) }
        }
        router.post("/console/invites/accept") { request, context -> Response in
            try await HostedPageLanguageMiddleware.speaking(request, authz: "") { try await acceptInvite(request, context) }
        }
    }

    func invitePage(token: String, error: String?, email: String = "") -> Response {
        let csrf = formToken(cookie: Self.inviteCookie)
        let t = HostedPageStrings.current
        let body = """
            <h1>\(HTML.escape(t.inviteTitle))</h1>
            <p class="muted">\(HTML.escape(t.inviteText))</p>
            \(HostedPages.message(error))
            <form method="post" action="/console/invites/accept">
            \(HostedPages.hidden("token", token))\(csrf.field)
            <label for="email">\(HTML.escape(t.email))</label><input id="email" name="email" type="email" autocomplete="username" required value="\(HTML.escape(email))">
            <label for="password">\(HTML.escape(t.password))</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <label for="name">\(HTML.escape(t.inviteName))</label><input id="name" name="name" autocomplete="name">
            <button type="submit" class="primary">\(HTML.escape(t.inviteButton))</button>
            </form>
            """
        return HostedPageRoutes.html(HostedPages.layout(t.inviteTitle, body), status: error == nil ? .ok : .badRequest,
                                     cookies: [csrf.cookie])
    }

    func acceptInvite(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let (form, isForm) = try await OpenIDProviderRoutes.form(request, context)
        guard isForm else { throw APIError.invalidRequest("send the form as application/x-www-form-urlencoded") }
        try form.rejectDuplicates()
        let token = try form.single("token") ?? ""
        let email = try form.single("email") ?? ""
        guard try formTokenMatches(request, form, cookie: Self.inviteCookie) else {
            return invitePage(token: token, error: HostedPageStrings.current.inviteFormExpired, email: email)
        }
        do {
            let name = try form.single("name").flatMap { $0.isEmpty ? nil : $0 }
            let (invite, _) = try await members.acceptInvite(token: token, email: email, password: try form.single("password") ?? "", name: name)
            let t = HostedPageStrings.current
            let next = invite.kind == .team
                ? "<p>\(HTML.escape(t.inviteTeam)) <a href=\"/console/sign-in\">\(HTML.escape(t.inviteConsoleSignIn))</a></p>"
                : "<p>\(HTML.escape(t.inviteProject))</p>"
            return HostedPageRoutes.html(HostedPages.layout(t.inviteAcceptedTitle, "<h1>\(HTML.escape(t.inviteAcceptedTitle))</h1>" + next))
        } catch let error as DomainError {
            return invitePage(token: token, error: error.description, email: email)
        }
    }
}
