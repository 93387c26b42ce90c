public import Foundation
public import LambaJOSE
public import LambaModel

/// What a hosted page must do before the authorization can finish.
public struct InteractionRequired: Sendable {
    public enum Kind: String, Sendable {
        case login
        case consent
        case selectAccount = "select_account"
        case join
        case secondFactor = "second_factor"
    }

    public var kind: Kind
    public var request: AuthorizationRequest
    /// The signed-in user, when there is one.
    public var user: LambaUser?
    /// The `/authorize` query that resumes the request once this interaction is done.
    public var resumeQuery: String
}

public enum AuthorizationOutcome: Sendable {
    /// The client or redirect URI is not valid: show an error page, never redirect (RFC 6749 §4.1.2.1).
    case errorPage(OAuthError)
    case redirect(AuthorizationResponse)
    case interaction(InteractionRequired)
}

/// `GET|POST /authorize` (RFC 6749 §4.1, OIDC Core §3.1.2). Steps, in order: find the client and
/// the exact redirect URI (else error page) → reject duplicates → response_mode → response_type →
/// scopes → PKCE → prompt and max_age → the session → the runtime scope → consent → issue a code.
public struct AuthorizationEndpoint: Sendable {
    let validator: AuthorizationRequestValidator
    let sessions: Transactions<SessionState.Records>
    let codes: Transactions<any AuthorizationCodeStorage>
    let runtimeScopes: RuntimeScopes
    let clock: WallClock

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, sessionToken: String?) async -> AuthorizationOutcome {
        let validated: AuthorizationRequest
        switch await validator.validate(request, context) {
        case .failure(let outcome): return outcome
        case .success(let value): validated = value
        }
        do {
            return try await decide(validated, context, sessionToken: sessionToken)
        } catch {
            return .redirect(AuthorizationRequestValidator.errorResponse(validated, context, OAuthError.wrap(error)))
        }
    }

    /// The session, the runtime scope (a revoked scope never auto-heals: docs/sessions-and-scopes.md#never-auto-heal), consent, code.
    func decide(_ request: AuthorizationRequest, _ context: ProviderContext, sessionToken: String?) async throws -> AuthorizationOutcome {
        let now = clock.now()
        let silent = request.prompt.contains("none")
        let state = try await sessions.read { tx in try SessionState.load(tx, context, sessionToken: sessionToken, clientID: request.client.id, now: now) }
        func interact(_ kind: InteractionRequired.Kind) -> AuthorizationOutcome {
            .interaction(InteractionRequired(kind: kind, request: request, user: state.user, resumeQuery: AuthorizationRequestValidator.resumeQuery(request)))
        }
        guard let session = state.session, state.user != nil else {
            if silent { return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.loginRequired, "no signed-in session"))) }
            return interact(.login)
        }
        // OIDC Core §3.1.2.1: max_age and prompt=login ask for a fresh authentication.
        let tooOld = request.maxAge.map { now.timeIntervalSince(session.authTime) > TimeInterval($0) } ?? false
        // A session established through this environment's social provider stands for it only while
        // the provider does (docs/sessions-and-scopes.md#sign-in-method-changed): disabled, removed or re-pointed since, it needs a new sign-in.
        if tooOld || request.prompt.contains("login") || state.signInMethodWithdrawn {
            if silent { return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.loginRequired, "a fresh sign-in is required"))) }
            return interact(.login)
        }
        if state.needsSecondFactor(request, context) {
            if silent { return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.interactionRequired, "a second factor is required"))) }
            return interact(.secondFactor)
        }
        if request.prompt.contains("select_account") { return interact(.selectAccount) }
        var scope = state.activeScope
        if scope == nil {
            if state.hadRevokedScope && silent {
                // The global session lives, but this Project's scope was revoked: no auto-heal (docs/sessions-and-scopes.md#never-auto-heal).
                return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.loginRequired, "sign in again to enter this project")))
            }
            guard state.isMember else {
                let joinable = context.project.visibility == .public && context.settings.allowPublicJoin
                if joinable && !silent { return interact(.join) }
                let code: OAuthError.Code = joinable ? .interactionRequired : .accessDenied
                return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(code, "the user is not a member of this project")))
            }
            // Re-entry after a revocation is an explicit step on the account chooser.
            if state.hadRevokedScope { return interact(.selectAccount) }
            scope = try await runtimeScopes.enter(context, session: session, clientID: request.client.id)
        }
        guard state.isMember, let scope else {
            return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.accessDenied, "the user is not a member of this project")))
        }
        // The environment admits only proven addresses (docs/account-recovery.md#email-verification).
        if context.settings.requireVerifiedEmail == true, state.user?.emailVerified != true {
            return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(
                .accessDenied, "the user's email is not verified yet: confirm it with the link that was mailed, then sign in again")))
        }
        // OIDC Core §3.1.2.4: consent for clients that are not first-party.
        let consented = state.consentedScopes.map { Set(request.scopes).isSubset(of: Set($0)) } ?? false
        if !request.client.firstParty && (!consented || request.prompt.contains("consent")) {
            if silent { return .redirect(AuthorizationRequestValidator.errorResponse(request, context, OAuthError(.consentRequired, "the user has not consented"))) }
            return interact(.consent)
        }
        return .redirect(try await issueCode(request, context, session: session, scope: scope))
    }

    /// RFC 6749 §4.1.2: a single-use code, stored as its hash, bound to the client, redirect URI,
    /// PKCE challenge, nonce and runtime scope; it lives `authorizationCodeLifetimeSeconds`.
    func issueCode(_ request: AuthorizationRequest, _ context: ProviderContext, session: IdentitySession, scope: RuntimeScope) async throws -> AuthorizationResponse {
        let code = OpaqueSecret.generate(prefix: "lmb_ac_")
        let now = clock.now()
        let record = AuthorizationCodeGrantRecord(
            codeHash: code.hash, clientID: request.client.id, projectID: context.project.id, environment: context.environment,
            runtimeScopeID: scope.id, sessionID: session.id, userID: session.userID, redirectURI: request.redirectURI,
            codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallenge == nil ? nil : "S256", nonce: request.nonce,
            scopes: request.scopes, authTime: session.authTime, amr: session.amr, createdAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(context.settings.authorizationCodeLifetimeSeconds)))
        try await codes.write { tx in try tx.insert(record) }
        var parameters: [(String, String)] = [("code", code.value)]
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", context.issuer))
        return AuthorizationResponse(redirectURI: request.redirectURI, mode: request.responseMode, parameters: parameters)
    }
}
