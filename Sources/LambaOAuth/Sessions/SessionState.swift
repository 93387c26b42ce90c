public import Foundation
public import LambaJOSE
public import LambaModel

/// What the session cookie says about this Project environment, read in one snapshot.
struct SessionState: Sendable {
    typealias Records = any UserReader & SessionReader & MembershipReader & UpstreamProviderReader & ConsentStorage & SecondFactorReader

    var session: IdentitySession?
    var user: LambaUser?
    var activeScope: RuntimeScope?
    var hadRevokedScope = false
    var isMember = false
    var consentedScopes: [String]?
    /// The session came through a social provider of this environment that has since been
    /// disabled, deleted, or given another issuer or client id.
    var signInMethodWithdrawn = false
    /// The user has a confirmed authenticator app, which every sign-in must then use.
    var hasSecondFactor = false

    static func load(_ tx: Records, _ context: ProviderContext, sessionToken: String?, clientID: String?, now: Date) throws -> SessionState {
        var state = SessionState()
        guard let sessionToken, sessionToken.utf8.count <= 256, let session = try tx.identitySession(tokenHash: OpaqueSecret.hash(sessionToken)),
            session.workspaceID == context.workspace.id, session.isActive(at: now, posture: context.workspace.securityPosture),
            let user = try tx.user(id: session.userID), user.status == .active,
            Self.signedInWithAllowedMethod(session, context)
        else { return state }
        state.session = session
        state.user = user
        if case .provider(let id)? = session.signInMethod, let upstream = try tx.upstreamProvider(id: id), upstream.projectID == context.project.id,
            upstream.environment == context.environment
        {
            state.signInMethodWithdrawn = upstream.deletedAt != nil || !context.settings.authMethods.contains(upstream.method)
                || upstream.trustChangedAt > session.authTime
        }
        state.activeScope = try tx.activeRuntimeScope(sessionID: session.id, projectID: context.project.id, environment: context.environment)
        if state.activeScope == nil {
            state.hadRevokedScope = try tx.hasRevokedRuntimeScope(sessionID: session.id, projectID: context.project.id, environment: context.environment)
        }
        if let member = try tx.projectMember(projectID: context.project.id, userID: user.id), member.status == .active { state.isMember = true }
        state.hasSecondFactor = try tx.totpCredential(userID: user.id)?.confirmedAt != nil
        if let clientID { state.consentedScopes = try tx.consentedScopes(userID: user.id, clientID: clientID) }
        return state
    }

    /// A session signed in with a password (or a passkey) does not count in an environment where that sign-in
    /// is off (docs/sessions-and-scopes.md#sign-in-method-changed): otherwise re-entry would mint a new runtime scope
    /// from it right after the change revoked the old ones. The user signs in again another way.
    /// The recorded `signInMethod` decides, not `amr`: a provider's session carries the upstream's
    /// `amr`, which is `pwd` when the user typed a password there.
    /// Whether the session must prove a second factor before this request finishes
    /// (docs/account-security.md#when-a-second-factor-is-asked): a user who set up an app, whichever
    /// way they signed in first; an environment whose posture requires MFA; or a client that asked
    /// for the multi-factor `acr` (OIDC Core §3.1.2.1). A session that proved one already passes,
    /// including a social provider's whose `amr` says `mfa`.
    func needsSecondFactor(_ request: AuthorizationRequest, _ context: ProviderContext) -> Bool {
        guard let session, !session.amr.contains("mfa") else { return false }
        return hasSecondFactor || context.settings.requireMFA == true
            || request.acrValues.contains(AuthenticationContextClass.multiFactor.rawValue)
    }

    static func signedInWithAllowedMethod(_ session: IdentitySession, _ context: ProviderContext) -> Bool {
        switch session.signInMethod {
        case .password?: context.settings.authMethods.contains(.password)
        case .passkey?: context.settings.authMethods.contains(.passkey)
        default: true
        }
    }
}
