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
        router.get("/console/invites/accept") { request, _ -> Response in
            let token = try OAuthParameters.decode(request.uri.query ?? "").single("token") ?? ""
            return invitePage(token: token, error: nil)
        }
        router.post("/console/invites/accept") { request, context -> Response in try await acceptInvite(request, context) }
    }

    func invitePage(token: String, error: String?, email: String = "") -> Response {
        let csrf = formToken(cookie: Self.inviteCookie)
        let body = """
            <h1>Accept your invite</h1>
            <p class="muted">Sign in with the account of the invited email, or create one with a name and a password.</p>
            \(HostedPages.message(error))
            <form method="post" action="/console/invites/accept">
            \(HostedPages.hidden("token", token))\(csrf.field)
            <label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="\(HTML.escape(email))">
            <label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <label for="name">Your name (only for a new account)</label><input id="name" name="name" autocomplete="name">
            <button type="submit">Accept the invite</button>
            </form>
            """
        return HostedPageRoutes.html(HostedPages.layout("Accept your invite", body), status: error == nil ? .ok : .badRequest,
                                     cookies: [csrf.cookie])
    }

    func acceptInvite(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let (form, isForm) = try await OpenIDProviderRoutes.form(request, context)
        guard isForm else { throw APIError.invalidRequest("send the form as application/x-www-form-urlencoded") }
        try form.rejectDuplicates()
        let token = try form.single("token") ?? ""
        let email = try form.single("email") ?? ""
        guard try formTokenMatches(request, form, cookie: Self.inviteCookie) else {
            return invitePage(token: token, error: "The form expired; try again.", email: email)
        }
        do {
            let name = try form.single("name").flatMap { $0.isEmpty ? nil : $0 }
            let (invite, _) = try await members.acceptInvite(token: token, email: email, password: try form.single("password") ?? "", name: name)
            let next = invite.kind == .team
                ? "<p>You are on the team now. <a href=\"/console/sign-in\">Sign in to the console</a></p>"
                : "<p>You are a member of the project now. Go back to its application and sign in.</p>"
            return HostedPageRoutes.html(HostedPages.layout("Invite accepted", "<h1>Invite accepted</h1>" + next))
        } catch let error as DomainError {
            return invitePage(token: token, error: error.description, email: email)
        }
    }
}
