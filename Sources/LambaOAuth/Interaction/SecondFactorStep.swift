public import Foundation
public import LambaJOSE
public import LambaModel

/// The second step of a hosted sign-in (docs/account-security.md#second-step): a code from the
/// user's authenticator app or a recovery code, or setting an app up where one is required.
/// The identity session exists already (`amr` `pwd`); `/authorize` sends the browser here until
/// the session has proven a second factor, and success adds `otp` and `mfa` to it (RFC 8176).
extension HostedInteraction {
    /// What the second-step page shows.
    public struct SecondFactorPage: Sendable {
        public var info: PageInfo
        /// Nil when the user has an app already; else the new secret to scan.
        public var enrolment: SecondFactors.Enrolment?
    }

    /// The page for the pending request: the code form, or an enrolment (a secret made on first view,
    /// shown again until confirmed). Without a session it is the login page's turn.
    public func secondFactorPage(_ context: ProviderContext, authz: String, sessionToken: String?) async throws(OAuthError) -> SecondFactorPage? {
        let info = try await page(context, authz: authz, sessionToken: sessionToken)
        guard let user = info.user else { return nil }
        do {
            if try await secondFactors.status(userID: user.id).hasSecondFactor { return SecondFactorPage(info: info, enrolment: nil) }
            if let pending = try await secondFactors.pendingEnrolment(user: user, issuer: context.project.name) {
                return SecondFactorPage(info: info, enrolment: pending)
            }
            return SecondFactorPage(info: info, enrolment: try await secondFactors.beginTOTPEnrolment(user: user, issuer: context.project.name))
        } catch {
            throw OAuthError.wrap(error)
        }
    }

    /// Checks the typed code. A wrong code counts toward the same kind of lockout as passwords do,
    /// kept apart from password failures; an enrolment's first code confirms the app and returns
    /// the recovery codes to show once.
    public func secondFactor(_ context: ProviderContext, form: OAuthParameters, sessionToken: String?, csrfCookie: String?) async -> Result {
        do {
            try verifyCSRF(cookie: csrfCookie, form: form)
            let authz = try form.single("authz") ?? ""
            _ = try await validator.pending(context, authz: authz)
            let state = try await session(context, sessionToken)
            guard let session = state.session, let user = state.user else {
                return .resume(location: context.endpoint("/login?") + authz, sessionToken: nil)
            }
            let code = (try form.single("code") ?? "").trimmingCharacters(in: .whitespaces)
            guard !code.isEmpty, code.utf8.count <= 32 else { return .failed("type the code your authenticator app shows") }
            let key = SignInThrottle.Key(workspaceID: context.workspace.id, email: "second-factor:" + user.email)
            let now = clock.now()
            let throttle = try await records.read { tx in try tx.signInThrottle(workspaceID: key.workspaceID, emailHash: key.emailHash) }
            if let remaining = SignInThrottle.lockedFor(throttle, at: now) { return .failed(SignInThrottle.message(remaining)) }
            let recoveryContext = SecondFactors.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment)
            if try await secondFactors.status(userID: user.id).hasSecondFactor {
                guard let proof = try await secondFactors.verify(userID: user.id, code: code, recoveryContext) else {
                    let lockout = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: user.id, at: now)
                    return .failed(lockout ?? "that code is not right; codes change every 30 seconds")
                }
                try await stepUp(context, session, proof: proof, clearing: throttle == nil ? nil : key)
                return try resume(context, authz: authz, satisfied: [])
            }
            let codes: [String]
            do {
                codes = try await secondFactors.confirmTOTP(userID: user.id, code: code, recoveryContext)
            } catch let error as DomainError {
                if case .invalid = error {
                    let lockout = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: user.id, at: now)
                    return .failed(lockout ?? error.description)
                }
                throw error
            }
            try await stepUp(context, session, proof: .authenticatorApp, clearing: throttle == nil ? nil : key)
            return .recoveryCodes(codes, location: context.endpoint("/authorize?") + authz)
        } catch {
            return Self.failure(error)
        }
    }

    /// The session has now proven a second factor: a fresh authentication (`auth_time`), with the
    /// methods it used (RFC 8176 §2: `otp` for a one-time code, `mfa` for more than one factor).
    func stepUp(_ context: ProviderContext, _ session: IdentitySession, proof: SecondFactors.Proof, clearing throttle: SignInThrottle.Key?) async throws {
        let now = clock.now()
        var upgraded = session
        for method in ["otp", "mfa"] where !upgraded.amr.contains(method) { upgraded.amr.append(method) }
        upgraded.authTime = now
        let amr = upgraded.amr
        let session = upgraded
        try await records.write { tx in
            if let throttle { try tx.deleteSignInThrottle(workspaceID: throttle.workspaceID, emailHash: throttle.emailHash) }
            try tx.update(session)
            try tx.append(DomainEvent(type: .sessionSteppedUp, actor: session.userID, workspaceID: context.workspace.id, projectID: context.project.id,
                                      environment: context.environment, sessionID: session.id, occurredAt: now, data: [
                "session_id": .string(session.id), "user_id": .string(session.userID), "amr": .array(amr.map(JSONValue.string)),
                "second_factor": .string(proof.rawValue),
            ]))
        }
    }
}
