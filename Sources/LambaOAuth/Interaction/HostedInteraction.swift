public import Foundation
public import LambaJOSE
import LambaPasswords
public import LambaModel

/// The hosted pages' decisions (login, signup, join, consent, account chooser): the server renders
/// the HTML and maps these results to cookies and redirects. Every POST carries a CSRF token.
public struct HostedInteraction: Sendable {
    typealias Records = any UserReader & SessionWriter & MembershipReader & UpstreamProviderReader & ConsentStorage & SignInThrottleStorage
        & SecondFactorReader & EventLog

    let validator: AuthorizationRequestValidator
    let records: Transactions<Records>
    let runtimeScopes: RuntimeScopes
    /// Hosted registration and public join, the member lifecycle's own flows.
    let members: MemberLifecycle
    let recovery: AccountRecoveryInteraction
    let secondFactors: SecondFactors
    let passkeys: PasskeyCeremonies
    let csrf: CSRFProtection
    let clock: WallClock

    public enum Result: Sendable {
        /// Continue at our own `/authorize` (or another hosted page); set the session cookie when given.
        case resume(location: String, sessionToken: String?)
        /// Answer the client (consent denied).
        case respond(AuthorizationResponse)
        /// Show the form again with this message.
        case failed(String)
        /// An authenticator app was just set up: show its recovery codes once, then continue at `location`.
        case recoveryCodes([String], location: String)
        /// Sign-up in an environment where passkeys are the way in: the page that makes the
        /// passkey of the account `email` describes.
        case passkeySignUp(PasskeyCeremonies.Ceremony, email: String)
        case errorPage(OAuthError)
    }

    /// What a hosted page shows about the pending authorization request.
    public struct PageInfo: Sendable {
        public var projectName: String
        public var clientName: String
        public var scopes: [String]
        public var loginHint: String?
        public var user: LambaUser?
        public var allowRegister: Bool
        public var allowJoin: Bool
        /// The social providers enabled in the environment, for "Continue with …" buttons.
        public var providers: [UpstreamProvider] = []
    }

    // MARK: CSRF (double-submit cookie, HMAC'd)

    /// The form token for a CSRF cookie value.
    public func csrfToken(cookie: String) -> String { csrf.token(cookie: cookie) }

    public static func newCSRFCookie() -> String { CSRFProtection.newCookie() }

    func verifyCSRF(cookie: String?, form: OAuthParameters) throws(OAuthError) { try csrf.verify(cookie: cookie, form: form) }

    // MARK: Page data

    /// Validates the pending request behind a hosted page (client and redirect URI are rechecked).
    public func page(_ context: ProviderContext, authz: String, sessionToken: String?) async throws(OAuthError) -> PageInfo {
        let request = try await validator.pending(context, authz: authz)
        let now = clock.now()
        let (state, providers) = try await records.read { tx in
            (try SessionState.load(tx, context, sessionToken: sessionToken, clientID: nil, now: now),
             try tx.upstreamProviders(projectID: context.project.id, environment: context.environment)
                .filter { context.settings.authMethods.contains($0.method) })
        }
        let isPublic = context.project.visibility == .public
        return PageInfo(projectName: context.project.branding?.displayName ?? context.project.name, clientName: request.client.name, scopes: request.scopes, loginHint: request.loginHint,
                        user: state.user, allowRegister: isPublic && context.settings.allowRegister, allowJoin: isPublic && context.settings.allowPublicJoin,
                        providers: providers)
    }

    func resume(_ context: ProviderContext, authz: String, satisfied: Set<String>, sessionToken: String? = nil) throws(OAuthError) -> Result {
        .resume(location: context.endpoint("/authorize?") + (try AuthorizationRequestValidator.removingPrompt(authz, satisfied)), sessionToken: sessionToken)
    }

    // MARK: Login

    /// Email + password sign-in. Argon2id runs on dedicated hashing threads, never the event loop; an
    /// unknown email is checked against a decoy hash so timing says nothing; the error is generic.
    /// Repeated failures lock the email out of this Workspace for a while (`SignInThrottle`), the
    /// same way whether the account exists or not.
    public func login(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            let request = try await validator.pending(context, authz: authz)
            if form.contains("credential") { return try await passkeyLogin(context, form: form, authz: authz, clientID: request.client.id) }
            guard context.settings.authMethods.contains(.password) else { return .failed("password sign-in is not enabled for this project") }
            let email = (try form.single("email") ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let password = try form.single("password") ?? ""
            guard !email.isEmpty, !password.isEmpty, email.utf8.count <= 320, password.utf8.count <= PasswordHasher.maximumLength else {
                return .failed("email or password is wrong")
            }
            let key = SignInThrottle.Key(workspaceID: context.workspace.id, email: email)
            let now = clock.now()
            let (found, throttle) = try await records.read { tx in
                (try tx.user(email: email), try tx.signInThrottle(workspaceID: key.workspaceID, emailHash: key.emailHash))
            }
            // Locked out: refused before Argon2, with the same words for unknown emails.
            if let remaining = SignInThrottle.lockedFor(throttle, at: now) { return .failed(SignInThrottle.message(remaining)) }
            // Argon2id on the password-hashing threads; unknown emails cost the same (decoy hash).
            let matches = await PasswordHasher.verifyOffPool(password, against: found?.passwordHash ?? PasswordHasher.decoyHash)
            guard let user = found, matches, user.passwordHash != nil, user.status == .active else {
                let lockout = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: found?.id, at: now)
                return .failed(lockout ?? "email or password is wrong")
            }
            let token = try await startSession(context, user: user, amr: ["pwd"], clientID: request.client.id,
                                               signInMethod: .password, clearing: throttle == nil ? nil : key)
            return try resume(context, authz: authz, satisfied: ["login", "select_account"], sessionToken: token)
        } catch {
            return Self.failure(error)
        }
    }

    /// Creates the global identity session (cookie value returned, hash stored) and, for an active
    /// Project Member, the runtime scope of this Project environment: signing in is entering it.
    /// `clearing` names the failures a successful password check forgets, in the same transaction.
    func startSession(_ context: ProviderContext, user: LambaUser, amr: [String], clientID: String, signInMethod: AuthMethod,
                      clearing throttle: SignInThrottle.Key? = nil) async throws(OAuthError) -> String {
        let secret = OpaqueSecret.generate(prefix: "lmb_ss_")
        let now = clock.now()
        try await records.write { tx in
            if let throttle { try tx.deleteSignInThrottle(workspaceID: throttle.workspaceID, emailHash: throttle.emailHash) }
            _ = try Self.insertSession(tx, context, user: user, amr: amr, clientID: clientID, signInMethod: signInMethod, secret: secret, now: now)
        }
        return secret.value
    }

    /// An identity session for a person proven outside the hosted login form (a one-time console
    /// sign-in link), with the runtime scope for a Project Member: the cookie value, shown once.
    public func startSession(_ context: ProviderContext, provenUser user: LambaUser, amr: [String], clientID: String) async throws(OAuthError) -> String {
        try await startSession(context, user: user, amr: amr, clientID: clientID, signInMethod: .password)
    }

    /// The session rows of `startSession`, inside the caller's transaction.
    static func insertSession(_ tx: any MembershipReader & SessionWriter & EventLog, _ context: ProviderContext, user: LambaUser, amr: [String], clientID: String,
                              signInMethod: AuthMethod, secret: OpaqueSecret, now: Date) throws -> IdentitySession {
        let maxAge = TimeInterval(context.workspace.securityPosture.sessionMaxAgeSeconds)
        let session = IdentitySession(id: EntityID.generate(.identitySession), workspaceID: context.workspace.id, userID: user.id,
                                      tokenHash: secret.hash, authTime: now, amr: amr, createdAt: now, expiresAt: now.addingTimeInterval(maxAge),
                                      revokedAt: nil, revokeReason: nil, signInMethod: signInMethod)
        try tx.insert(session)
        try tx.append(DomainEvent(type: .sessionCreated, actor: user.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                  environment: context.environment, sessionID: session.id, occurredAt: now, data: [
            "session_id": .string(session.id), "user_id": .string(user.id), "amr": .array(amr.map(JSONValue.string)),
            "sign_in_method": .string(signInMethod.description),
        ]))
        if let member = try tx.projectMember(projectID: context.project.id, userID: user.id), member.status == .active {
            _ = try RuntimeScopes.insert(tx, context, session: session, clientID: clientID, now: now)
        }
        return session
    }

    /// The signed-in session behind a cookie, or nil.
    func session(_ context: ProviderContext, _ sessionToken: String?) async throws(OAuthError) -> SessionState {
        let now = clock.now()
        return try await records.read { tx in try SessionState.load(tx, context, sessionToken: sessionToken, clientID: nil, now: now) }
    }

    // MARK: Signup and join (public Projects, docs/access-model.md#public-and-private-projects)

    /// Hosted registration: a new Lamba User who becomes a Project Member (MemberLifecycle.register).
    public func signup(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            let request = try await validator.pending(context, authz: authz)
            let methods = context.settings.authMethods
            if form.contains("credential") { return try await passkeySignUp(context, form: form, authz: authz, clientID: request.client.id) }
            // Without password sign-in a password would be no way in: the account is made with a passkey.
            if !methods.contains(.password) {
                guard methods.contains(.passkey), PasskeyCeremonies.available(context) else {
                    return .failed("accounts here are created by signing in with a provider")
                }
                let (email, name) = try await members.checkPasskeyRegistration(
                    email: try form.single("email") ?? "", name: try form.single("name") ?? "", projectID: context.project.id,
                    workspaceID: context.workspace.id, environment: context.environment)
                return .passkeySignUp(try passkeys.beginSignUp(context, email: email, name: name), email: email)
            }
            let (user, _) = try await members.register(email: try form.single("email") ?? "", password: try form.single("password") ?? "",
                                                         name: try form.single("name") ?? "", projectID: context.project.id,
                                                         workspaceID: context.workspace.id, environment: context.environment)
            // The address is not proven yet: the link in this mail proves it (docs/account-recovery.md#email-verification).
            try await recovery.sendVerification(context, userID: user.id)
            let token = try await startSession(context, user: user, amr: ["pwd"], clientID: request.client.id, signInMethod: .password)
            return try resume(context, authz: authz, satisfied: ["login", "select_account"], sessionToken: token)
        } catch {
            return Self.failure(error)
        }
    }

    /// Public join by the signed-in user, then entry into the Project (MemberLifecycle.publicJoin).
    public func join(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            let request = try await validator.pending(context, authz: authz)
            let state = try await session(context, sessionToken)
            guard let session = state.session else { return .resume(location: context.endpoint("/login?") + authz, sessionToken: nil) }
            if !state.isMember {
                _ = try await members.publicJoin(
                    userID: session.userID, projectID: context.project.id, workspaceID: context.workspace.id, environment: context.environment)
            }
            _ = try await runtimeScopes.enter(context, session: session, clientID: request.client.id)
            return try resume(context, authz: authz, satisfied: ["select_account"])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: Consent (OIDC Core §3.1.2.4)

    public func consent(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            let request = try await validator.pending(context, authz: authz)
            let state = try await session(context, sessionToken)
            guard let user = state.user else { return .resume(location: context.endpoint("/login?") + authz, sessionToken: nil) }
            guard try form.single("decision") == "allow" else {
                return .respond(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.accessDenied, "the user denied the request")))
            }
            let now = clock.now()
            let scopes = Array(Set(request.scopes).union(state.consentedScopes ?? [])).sorted()
            try await records.write { tx in try tx.saveConsent(userID: user.id, clientID: request.client.id, scopes: scopes, at: now) }
            return try resume(context, authz: authz, satisfied: ["consent"])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: Account chooser and explicit re-entry

    /// `continue`: re-enter the Project as the signed-in user (creates a new runtime scope after a
    /// revocation, the explicit step of docs/sessions-and-scopes.md#never-auto-heal). `switch`: sign in as someone else.
    public func selectAccount(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            let request = try await validator.pending(context, authz: authz)
            let state = try await session(context, sessionToken)
            guard let session = state.session, try form.single("action") == "continue" else {
                return .resume(location: context.endpoint("/login?") + authz, sessionToken: nil)
            }
            guard state.isMember else {
                // Not (or no longer) a member: join where the Project allows it, else tell the client.
                if context.project.visibility == .public && context.settings.allowPublicJoin {
                    return .resume(location: context.endpoint("/join?") + authz, sessionToken: nil)
                }
                return .respond(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.accessDenied, "the user is not a member of this project")))
            }
            _ = try await runtimeScopes.enter(context, session: session, clientID: request.client.id)
            return try resume(context, authz: authz, satisfied: ["select_account"])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: Not you? (docs/hosted-pages.md#not-you)

    /// The person in front of the page is not the signed-in user: the session (and its runtime
    /// scopes) ends, and the same authorization request goes back to the sign-in form. The caller
    /// clears the session cookie.
    public func notYou(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            _ = try await validator.pending(context, authz: authz)
            let now = clock.now()
            if let sessionToken {
                try await records.write { tx in
                    try RPInitiatedLogout.endSession(tx, context, sessionToken: sessionToken, reason: "not_you", at: now)
                }
            }
            return .resume(location: context.endpoint("/login?") + authz, sessionToken: nil)
        } catch {
            return Self.failure(error)
        }
    }

    static func failure(_ error: any Error) -> Result {
        if let error = error as? DomainError { return .failed(error.description) }
        let oauth = OAuthError.wrap(error)
        if oauth.code == .accessDenied { return .failed(oauth.message) }
        return .errorPage(oauth)
    }
}
