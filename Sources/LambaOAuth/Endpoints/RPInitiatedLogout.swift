public import Foundation
public import LambaJOSE
public import LambaModel

/// `GET|POST /logout` (OpenID Connect RP-Initiated Logout 1.0): GET shows a confirmation page;
/// the confirmed POST ends the global session and its runtime scopes, then returns to a
/// registered `post_logout_redirect_uri` with `state`, or shows a signed-out page.
public struct RPInitiatedLogout: Sendable {
    let keys: SigningKeyRing
    let clients: RegisteredClients
    let sessions: Transactions<any SessionWriter & EventLog>
    let csrf: CSRFProtection
    let clock: WallClock

    public struct Request: Sendable {
        /// Where to go afterwards, already checked against the client's registration.
        public var postLogoutRedirectURI: String?
        public var state: String?
        public var clientName: String?
    }

    public enum Result: Sendable {
        case redirect(String)
        case signedOut
    }

    /// RP-Initiated Logout §2–3: `post_logout_redirect_uri` must be registered for the client named by
    /// `client_id` or by the `id_token_hint`'s audience (the hint may be expired, not forged).
    public func validate(_ parameters: OAuthParameters, _ context: ProviderContext) async throws(OAuthError) -> Request {
        try parameters.rejectDuplicates()
        var clientID = try parameters.single("client_id")
        if let hint = try parameters.single("id_token_hint") {
            let claims: JWTClaims
            do {
                let verifier = try await keys.verifier(projectID: context.project.id, environment: context.environment)
                claims = try JWT.verify(hint, with: verifier, validation: JWTValidation(issuer: context.issuer, expiry: .requiredButMayHavePassed,
                                                                                                 now: NumericDate(clock.now()).secondsSince1970)).claims
            } catch {
                throw OAuthError.invalidRequest("id_token_hint is not an ID token of this issuer")
            }
            let audience = claims.audience.first
            if let clientID, clientID != audience { throw OAuthError.invalidRequest("client_id does not match id_token_hint") }
            clientID = audience
        }
        let redirect = try parameters.single("post_logout_redirect_uri")
        var request = Request(postLogoutRedirectURI: nil, state: try parameters.single("state"), clientName: nil)
        if let clientID {
            let client = try await clients.client(id: clientID, in: context)
            guard let client else { throw OAuthError.invalidRequest("unknown client_id") }
            request.clientName = client.name
            if let redirect {
                guard client.postLogoutRedirectURIs.contains(redirect) else {
                    throw OAuthError.invalidRequest("post_logout_redirect_uri is not registered for this client")
                }
                request.postLogoutRedirectURI = redirect
            }
        } else if redirect != nil {
            throw OAuthError.invalidRequest("post_logout_redirect_uri needs client_id or id_token_hint")
        }
        return request
    }

    /// The confirmed logout: CSRF-checked, then the session and every runtime scope under it end.
    public func confirm(_ form: OAuthParameters, _ context: ProviderContext, sessionToken: String?, csrfCookie: String?) async throws(OAuthError) -> Result {
        try csrf.verify(cookie: csrfCookie, form: form)
        let request = try await validate(OAuthParameters(form.removing(["csrf_token"])), context)
        let now = clock.now()
        if let sessionToken {
            try await sessions.write { tx in try Self.endSession(tx, context, sessionToken: sessionToken, reason: "logout", at: now) }
        }
        guard let target = request.postLogoutRedirectURI else { return .signedOut }
        guard let state = request.state else { return .redirect(target) }
        return .redirect(target + (target.contains("?") ? "&" : "?") + OAuthParameters.encode([("state", state)]))
    }

    /// Ends the identity session behind a cookie and every runtime scope under it, with their
    /// events, inside the caller's transaction. A cookie that names no live session of this
    /// Workspace ends nothing. Also the "Not you?" step of the hosted pages (docs/hosted-pages.md#not-you).
    static func endSession(_ tx: any SessionWriter & EventLog, _ context: ProviderContext, sessionToken: String, reason: String, at now: Date) throws {
        guard sessionToken.utf8.count <= 256 else { return }
        guard var session = try tx.identitySession(tokenHash: OpaqueSecret.hash(sessionToken)), session.workspaceID == context.workspace.id,
              session.revokedAt == nil else {
            return
        }
        session.revokedAt = now
        session.revokeReason = reason
        try tx.update(session)
        try tx.append(DomainEvent(type: .sessionRevoked, actor: session.userID, workspaceID: context.workspace.id, projectID: context.project.id,
                                  environment: context.environment, sessionID: session.id, occurredAt: now, data: [
            "session_id": .string(session.id), "user_id": .string(session.userID), "reason": .string(reason),
        ]))
        for scope in try tx.revokeRuntimeScopes(.session(sessionID: session.id), reason: reason, at: now) {
            try tx.append(DomainEvent(type: .runtimeScopeRevoked, actor: session.userID, workspaceID: scope.workspaceID, projectID: scope.projectID,
                                      environment: scope.environment, sessionID: session.id, occurredAt: now, data: [
                "runtime_scope_id": .string(scope.id), "user_id": .string(scope.userID), "reason": .string(reason),
                "application_id": .string(scope.applicationID),
            ]))
        }
    }
}
