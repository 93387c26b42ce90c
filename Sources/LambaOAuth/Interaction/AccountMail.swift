public import Foundation
public import LambaModel

/// The mail Lamba sends people, in plain text and HTML, in the Project's name and kept to its
/// environment (a sandbox mail says so in its subject). Every value is escaped in the HTML part.
public enum AccountMail {
    public static func passwordReset(_ user: LambaUser, link: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(user, context, kind: "password_reset", at: date, subject: "Reset your \(context.project.name) password", lines: [
            "Someone asked to reset the password of your \(context.project.name) account (\(user.email)).",
            "To choose a new password, open this link within 30 minutes:",
        ], link: link, closing: "If it was not you, ignore this mail: your password stays as it is.")
    }

    public static func emailVerification(_ user: LambaUser, link: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(user, context, kind: "email_verification", at: date, subject: "Confirm your email for \(context.project.name)", lines: [
            "Confirm that \(user.email) is your address for \(context.project.name):",
        ], link: link, closing: "The link works once, for 24 hours. If you did not create this account, ignore this mail.")
    }

    public static func passwordChanged(_ user: LambaUser, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(user, context, kind: "password_changed", at: date, subject: "Your \(context.project.name) password was changed", lines: [
            "The password of your \(context.project.name) account (\(user.email)) was just changed with a reset link.",
            "Every device signed in with the old password was signed out.",
        ], link: nil, closing: "If it was not you, reset your password again at once and tell the team that runs \(context.project.name).")
    }

    static func compose(_ user: LambaUser, _ context: ProviderContext, kind: String, at date: Date, subject: String, lines: [String],
                        link: String?, closing: String) -> OutgoingMail {
        message(to: user.email, greeting: "Hello \(user.name),", signature: context.project.name, workspaceID: context.workspace.id,
                projectID: context.project.id, environment: context.environment, kind: kind, at: date, subject: subject, lines: lines,
                link: link, closing: closing)
    }

    /// Team and Project invites, with the link to the hosted acceptance page.
    public static func invite(_ invite: Invite, link: String, workspace: Workspace, project: Project?, at date: Date) -> OutgoingMail {
        let place = project.map { "the \($0.name) project of \(workspace.name)" } ?? "the \(workspace.name) team"
        return message(to: invite.email, greeting: "Hello,", signature: workspace.name, workspaceID: workspace.id, projectID: project?.id,
                       environment: nil, kind: "invite", at: date, subject: "You are invited to \(place)", lines: [
            "You are invited to join \(place) on Lamba.", "To accept, open this link within 7 days:",
        ], link: link, closing: "If you did not expect this invite, ignore this mail: nothing happens without you.")
    }

    static func message(to recipient: String, greeting: String, signature: String, workspaceID: String, projectID: String?,
                        environment: Environment?, kind: String, at date: Date, subject: String, lines: [String], link: String?,
                        closing: String) -> OutgoingMail {
        let subject = environment == .sandbox ? "[sandbox] " + subject : subject
        var text = greeting + "\n\n" + lines.joined(separator: "\n") + "\n\n"
        if let link { text += link + "\n\n" }
        text += closing + "\n\n— \(signature)\n"
        var html = "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;color:#1d1d1f;max-width:34rem\">"
            + "<p>\(HTML.escape(greeting))</p>" + lines.map { "<p>\(HTML.escape($0))</p>" }.joined()
        if let link {
            html += "<p><a href=\"\(HTML.escape(link))\" style=\"display:inline-block;padding:.6rem 1.1rem;background:#1d4ed8;color:#fff;"
                + "border-radius:.4rem;text-decoration:none\">Open the link</a></p><p style=\"color:#555;font-size:.9em\">"
                + "\(HTML.escape(link))</p>"
        }
        html += "<p>\(HTML.escape(closing))</p><p>— \(HTML.escape(signature))</p></body></html>"
        return OutgoingMail(workspaceID: workspaceID, projectID: projectID, environment: environment, kind: kind,
                            recipient: recipient, subject: subject, text: text, html: html, createdAt: date)
    }
}

/// "Forgot password", the reset link and email verification on the hosted pages
/// (docs/account-recovery.md): the rules are `AccountRecovery`'s; this composes their mail.
public struct AccountRecoveryInteraction: Sendable {
    let recovery: AccountRecovery
    let csrf: CSRFProtection
    let clock: WallClock

    init(store: any IdentityStore, csrf: CSRFProtection, clock: WallClock) {
        recovery = AccountRecovery(store: store, clock: clock)
        self.csrf = csrf
        self.clock = clock
    }

    static func recoveryContext(_ context: ProviderContext) -> AccountRecovery.Context {
        AccountRecovery.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment)
    }

    /// Always succeeds the same way for a well-formed request: whether a mail went out is not the
    /// requester's to know. - Throws: `OAuthError` for a bad CSRF token.
    public func requestReset(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?) async throws {
        try csrf.verify(cookie: csrfCookie, form: form)
        let email = try form.single("email") ?? ""
        let now = clock.now()
        try await recovery.requestPasswordReset(email: email, Self.recoveryContext(context)) { user, token in
            AccountMail.passwordReset(user, link: context.endpoint("/password/reset?token=") + token, context, at: now)
        }
    }

    public func resetLinkIsUsable(_ token: String) async throws -> Bool {
        try await recovery.resetLinkIsUsable(token)
    }

    public func reset(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?) async throws {
        try csrf.verify(cookie: csrfCookie, form: form)
        let token = try form.single("token") ?? ""
        let password = try form.single("password") ?? ""
        let now = clock.now()
        _ = try await recovery.resetPassword(token: token, newPassword: password) { user in AccountMail.passwordChanged(user, context, at: now) }
    }

    /// Sends the verification link of a newly registered (or still unverified) user.
    public func sendVerification(_ context: ProviderContext, userID: String) async throws {
        let now = clock.now()
        try await recovery.requestEmailVerification(userID: userID, Self.recoveryContext(context)) { user, token in
            AccountMail.emailVerification(user, link: context.endpoint("/email/verify?token=") + token, context, at: now)
        }
    }

    public func verify(form: OAuthParameters, csrfCookie: String?) async throws -> LambaUser {
        try csrf.verify(cookie: csrfCookie, form: form)
        return try await recovery.verifyEmail(token: try form.single("token") ?? "")
    }

    public func csrfToken(cookie: String) -> String { csrf.token(cookie: cookie) }
}
