public import Foundation
public import LambaModel

/// The mail Lamba sends people, in plain text and HTML, in the Project's name and kept to its
/// environment (a sandbox mail says so in its subject). Each kind renders from its template
/// (`MailTemplate`, docs/account-recovery.md#mail-templates), which escapes every value in the HTML part.
public enum AccountMail {
    public static func passwordReset(_ user: LambaUser, link: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(.passwordReset, user, context, at: date, ["link": link])
    }

    public static func emailVerification(_ user: LambaUser, link: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(.emailVerification, user, context, at: date, ["link": link])
    }

    /// After a reset or a change of the password: every device was signed out.
    public static func passwordChanged(_ user: LambaUser, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(.passwordChanged, user, context, at: date, [:])
    }

    /// The link that applies an email change, to the new address (docs/account-recovery.md#email-change).
    public static func emailChange(_ user: LambaUser, newEmail: String, link: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(.emailChange, user, context, at: date, ["link": link, "new_email": newEmail], to: newEmail)
    }

    /// The notice to the old address that a change was asked for; it carries no link.
    public static func emailChangeNotice(_ user: LambaUser, newEmail: String, _ context: ProviderContext, at date: Date) -> OutgoingMail {
        compose(.emailChangeNotice, user, context, at: date, ["new_email": newEmail])
    }

    static func compose(_ kind: MailKind, _ user: LambaUser, _ context: ProviderContext, at date: Date, _ values: [String: String],
                        to recipient: String? = nil) -> OutgoingMail {
        let common = ["name": user.name, "email": user.email, "project": context.project.name, "signature": context.project.name]
        return message(kind, to: recipient ?? user.email, values.merging(common) { mine, _ in mine }, workspaceID: context.workspace.id,
                       projectID: context.project.id, environment: context.environment, at: date)
    }

    /// Team and Project invites, with the link to the hosted acceptance page.
    public static func invite(_ invite: Invite, link: String, workspace: Workspace, project: Project?, at date: Date) -> OutgoingMail {
        let place = project.map { "the \($0.name) project of \(workspace.name)" } ?? "the \(workspace.name) team"
        return message(.invite, to: invite.email, [
            "link": link, "place": place, "name": "", "email": invite.email,
            "project": project?.name ?? workspace.name, "signature": workspace.name,
        ], workspaceID: workspace.id, projectID: project?.id, environment: nil, at: date)
    }

    static func message(_ kind: MailKind, to recipient: String, _ values: [String: String], workspaceID: String, projectID: String?,
                        environment: Environment?, at date: Date) -> OutgoingMail {
        let rendered = MailTemplate.standard(kind).render(values)
        let subject = environment == .sandbox ? "[sandbox] " + rendered.subject : rendered.subject
        return OutgoingMail(workspaceID: workspaceID, projectID: projectID, environment: environment, kind: kind.rawValue,
                            recipient: recipient, subject: subject, text: rendered.text, html: rendered.html, createdAt: date)
    }
}

/// "Forgot password", the reset link and email verification on the hosted pages
/// (docs/account-recovery.md): the rules are `AccountRecovery`'s; this composes their mail.
public struct AccountRecoveryInteraction: Sendable {
    let recovery: AccountRecovery
    let emailChange: EmailChange
    let csrf: CSRFProtection
    let clock: WallClock

    init(store: any IdentityStore, csrf: CSRFProtection, clock: WallClock) {
        recovery = AccountRecovery(store: store, clock: clock)
        emailChange = EmailChange(store: store, clock: clock)
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
