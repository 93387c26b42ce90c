public import Foundation
public import LambaJOSE
public import LambaModel

/// Passkeys on the hosted pages (docs/account-security.md#passkeys): sign-in from the login page,
/// and the account page where a signed-in user adds and removes passkeys. The browser runs the
/// ceremony; these check what it posts back.
extension HostedInteraction {
    /// A passkey sign-in posted by the login page (its `credential` field): the authenticator
    /// chose the account, so no email is typed. The session's `amr` says what the passkey proved.
    func passkeyLogin(_ context: ProviderContext, form: OAuthParameters, authz: String, clientID: String) async throws -> Result {
        guard context.settings.authMethods.contains(.passkey) else { return .failed("passkey sign-in is not enabled for this project") }
        let signIn: PasskeyCeremonies.SignIn
        do {
            signIn = try await passkeys.finishAuthentication(context, token: try form.single("ceremony") ?? "",
                                                             credential: try form.single("credential") ?? "")
        } catch let error as DomainError {
            return .failed(error.description)
        }
        let token = try await startSession(context, user: signIn.user, amr: signIn.amr, clientID: clientID, signInMethod: .passkey)
        return try resume(context, authz: authz, satisfied: ["login", "select_account"], sessionToken: token)
    }

    /// The sign-up page's passkey, posted back: the account the sealed challenge describes is
    /// created with it, and signed in with what the passkey proved.
    func passkeySignUp(_ context: ProviderContext, form: OAuthParameters, authz: String, clientID: String) async throws -> Result {
        let signUp: PasskeyCeremonies.SignUp
        let user: LambaUser
        do {
            signUp = try await passkeys.finishSignUp(context, token: try form.single("ceremony") ?? "", credential: try form.single("credential") ?? "")
            (user, _) = try await members.register(signUp.user, passkey: signUp.passkey, projectID: context.project.id,
                                                   workspaceID: context.workspace.id, environment: context.environment)
        } catch let error as DomainError {
            return .failed(error.description)
        }
        // The address is not proven yet: the link in this mail proves it (docs/account-recovery.md#email-verification).
        try await recovery.sendVerification(context, userID: user.id)
        let token = try await startSession(context, user: user, amr: signUp.amr, clientID: clientID, signInMethod: .passkey)
        return try resume(context, authz: authz, satisfied: ["login", "select_account"], sessionToken: token)
    }

    /// What the account page shows a signed-in user.
    public struct PasskeyAccountPage: Sendable {
        public var projectName: String
        public var user: LambaUser
        public var passkeys: [Passkey]
        /// Passkey sign-in is on in this environment and can work under its issuer.
        public var enabled: Bool
        /// Adding or removing needs a sign-in from the last few minutes.
        public var recentSignIn: Bool
        /// The registration ceremony, when adding is possible now.
        public var registration: PasskeyCeremonies.Ceremony?
    }

    /// The account page's data; nil without a signed-in session.
    public func passkeyAccountPage(_ context: ProviderContext, sessionToken: String?) async throws(OAuthError) -> PasskeyAccountPage? {
        let state = try await session(context, sessionToken)
        guard let session = state.session, let user = state.user else { return nil }
        do {
            let recent = clock.now().timeIntervalSince(session.authTime) <= TimeInterval(AccountSelfService.recentAuthenticationSeconds)
            let enabled = context.settings.authMethods.contains(.passkey) && PasskeyCeremonies.available(context)
            return PasskeyAccountPage(projectName: context.project.name, user: user, passkeys: try await passkeys.passkeys(userID: user.id),
                                      enabled: enabled, recentSignIn: recent,
                                      registration: enabled && recent ? try await passkeys.beginRegistration(context, user: user) : nil)
        } catch {
            throw OAuthError.wrap(error)
        }
    }

    public enum PasskeyAccountResult: Sendable {
        case changed(notice: String)
        case failed(String)
        case signedOut
    }

    /// `action=add` with the browser's credential, or `action=remove` with a passkey id.
    public func changePasskeys(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> PasskeyAccountResult {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let state = try await session(context, sessionToken)
            guard let session = state.session, let user = state.user else { return .signedOut }
            guard clock.now().timeIntervalSince(session.authTime) <= TimeInterval(AccountSelfService.recentAuthenticationSeconds) else {
                return .failed("sign in again to change your passkeys: your last sign-in was more than 10 minutes ago")
            }
            let events = PasskeyCeremonies.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment)
            switch try form.single("action") {
            case "add":
                guard context.settings.authMethods.contains(.passkey) else { return .failed("passkey sign-in is not enabled for this project") }
                _ = try await passkeys.finishRegistration(context, user: user, token: try form.single("ceremony") ?? "",
                                                                    credential: try form.single("credential") ?? "", name: try form.single("name") ?? "")
                return .changed(notice: "Passkey added.")
            case "remove":
                try await passkeys.remove(userID: user.id, passkeyID: try form.single("passkey_id") ?? "", events)
                return .changed(notice: "Passkey removed.")
            default:
                return .failed("choose to add or remove a passkey")
            }
        } catch let error as DomainError {
            return .failed(error.description)
        } catch {
            return .failed(OAuthError.wrap(error).message)
        }
    }
}
