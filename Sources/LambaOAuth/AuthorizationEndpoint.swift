public import Foundation
public import LambaJOSE
public import LambaModel

/// How the authorization response travels (OAuth 2.0 Multiple Response Types §2.1, Form Post
/// Response Mode §2).
public enum ResponseMode: String, Sendable {
    case query
    case fragment
    case formPost = "form_post"
}

/// A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
public struct AuthorizationRequest: Sendable {
    public var client: OAuthClient
    public var redirectURI: String
    public var responseMode: ResponseMode
    public var state: String?
    public var nonce: String?
    public var scopes: [String]
    public var prompt: Set<String>
    public var maxAge: Int?
    public var loginHint: String?
    public var codeChallenge: String?
    public var codeChallengeMethod: String?
    /// The request as sent, to resume it after a hosted page.
    public var parameters: OAuthParameters
}

/// The authorization response or error, sent to the client's registered redirect URI with `iss`
/// (RFC 9207 §2) and `state`.
public struct AuthorizationResponse: Sendable {
    public var redirectURI: String
    public var mode: ResponseMode
    public var parameters: [(String, String)]

    /// The `Location` for query and fragment modes; nil for form_post.
    public var location: String? {
        let encoded = OAuthParameters.encode(parameters)
        switch mode {
        case .query: return redirectURI + (redirectURI.contains("?") ? "&" : "?") + encoded
        case .fragment: return redirectURI + "#" + encoded
        case .formPost: return nil
        }
    }

    /// Form Post Response Mode §2: an auto-submitting form; a button works without JavaScript.
    public var formPostHTML: String {
        let inputs = parameters.map { "<input type=\"hidden\" name=\"\(HTML.escape($0.0))\" value=\"\(HTML.escape($0.1))\">" }.joined()
        return """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>Continue</title></head>
            <body onload="document.forms[0].submit()"><form method="post" action="\(HTML.escape(redirectURI))">\(inputs)
            <noscript><button type="submit">Continue</button></noscript></form></body></html>
            """
    }
}

/// What a hosted page must do before the authorization can finish.
public struct InteractionRequired: Sendable {
    public enum Kind: String, Sendable {
        case login
        case consent
        case selectAccount = "select_account"
        case join
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
    let provider: OpenIDProvider

    static let knownPrompts: Set<String> = ["none", "login", "consent", "select_account"]

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, sessionToken: String?) async -> AuthorizationOutcome {
        let validated: AuthorizationRequest
        switch await validate(request, context) {
        case .failure(let outcome): return outcome
        case .success(let value): validated = value
        }
        do {
            return try await decide(validated, context, sessionToken: sessionToken)
        } catch {
            return .redirect(Self.errorResponse(validated, context, OAuthError.wrap(error)))
        }
    }

    enum Validation {
        case success(AuthorizationRequest)
        case failure(AuthorizationOutcome)
    }

    /// RFC 6749 §3.1.2.3 / OIDC Core §3.1.2.1: redirect_uri is required and matched exactly against
    /// the registered ones; until both client and redirect URI are known good, errors go to a page.
    func validate(_ request: EndpointRequest, _ context: ProviderContext) async -> Validation {
        let parameters = request.parameters
        let clientID: String, redirectURI: String
        do {
            guard let id = try parameters.single("client_id") else { return .failure(.errorPage(.invalidRequest("client_id is missing"))) }
            guard let uri = try parameters.single("redirect_uri") else { return .failure(.errorPage(.invalidRequest("redirect_uri is missing"))) }
            clientID = id
            redirectURI = uri
        } catch {
            return .failure(.errorPage(error))
        }
        let client: OAuthClient
        do {
            guard let found = try await provider.read({ tx in try OpenIDProvider.client(tx, id: clientID, in: context) }) else {
                return .failure(.errorPage(OAuthError(.invalidClient, "unknown client_id")))
            }
            client = found
        } catch {
            return .failure(.errorPage(error))
        }
        guard client.redirectURIs.contains(redirectURI) else {
            return .failure(.errorPage(.invalidRequest("redirect_uri is not registered for this client")))
        }
        var result = AuthorizationRequest(client: client, redirectURI: redirectURI, responseMode: .query, state: nil, nonce: nil, scopes: [],
                                          prompt: [], maxAge: nil, loginHint: nil, codeChallenge: nil, codeChallengeMethod: nil, parameters: parameters)
        // From here on, errors go back to the client.
        result.state = parameters.pairs.first { $0.name == "state" }.map(\.value)
        if let mode = parameters.pairs.first(where: { $0.name == "response_mode" })?.value, let parsed = ResponseMode(rawValue: mode) {
            result.responseMode = parsed
        }
        do {
            try parameters.rejectDuplicates()
            if let mode = try parameters.single("response_mode"), ResponseMode(rawValue: mode) == nil {
                throw OAuthError.invalidRequest("response_mode must be query, fragment or form_post")
            }
            if parameters.contains("request") { throw OAuthError(.requestNotSupported, "request objects are not supported") }
            if parameters.contains("request_uri") { throw OAuthError(.requestURINotSupported, "request_uri is not supported") }
            guard let responseType = try parameters.single("response_type") else { throw OAuthError.invalidRequest("response_type is missing") }
            guard responseType == "code" else { throw OAuthError(.unsupportedResponseType, "only response_type=code is supported") }
            guard client.grantTypes.contains("authorization_code") else {
                throw OAuthError(.unauthorizedClient, "this client may not use the authorization code grant")
            }
            let scopes = try ScopeList.parse(try parameters.single("scope"))
            guard Set(scopes).isSubset(of: Set(client.scopes)) else { throw OAuthError(.invalidScope, "a requested scope is not allowed for this client") }
            result.scopes = scopes
            result.codeChallenge = try parameters.single("code_challenge")
            result.codeChallengeMethod = try parameters.single("code_challenge_method")
            try PKCE.validateChallenge(result.codeChallenge, method: result.codeChallengeMethod, clientIsPublic: client.type == .public)
            let prompt = Set((try parameters.single("prompt") ?? "").split(separator: " ").map(String.init))
            guard prompt.isSubset(of: Self.knownPrompts) else { throw OAuthError.invalidRequest("unknown prompt value") }
            if prompt.contains("none"), prompt.count > 1 { throw OAuthError.invalidRequest("prompt=none cannot be combined with other values") }
            result.prompt = prompt
            if let maxAge = try parameters.single("max_age") {
                guard let seconds = Int(maxAge), seconds >= 0 else { throw OAuthError.invalidRequest("max_age must be a non-negative integer") }
                result.maxAge = seconds
            }
            result.nonce = try parameters.single("nonce")
            if let nonce = result.nonce, nonce.utf8.count > 512 { throw OAuthError.invalidRequest("nonce is too long") }
            if let state = result.state, state.utf8.count > 2048 { throw OAuthError.invalidRequest("state is too long") }
            result.loginHint = try parameters.single("login_hint")
        } catch {
            return .failure(.redirect(Self.errorResponse(result, context, OAuthError.wrap(error))))
        }
        return .success(result)
    }

    /// The session, the runtime scope (seed 002: a revoked scope never auto-heals), consent, code.
    func decide(_ request: AuthorizationRequest, _ context: ProviderContext, sessionToken: String?) async throws -> AuthorizationOutcome {
        let now = provider.now
        let silent = request.prompt.contains("none")
        let state = try await provider.read { tx in try SessionState.load(tx, context, sessionToken: sessionToken, clientID: request.client.id, now: now) }
        func interact(_ kind: InteractionRequired.Kind, satisfied: String? = nil) -> AuthorizationOutcome {
            .interaction(InteractionRequired(kind: kind, request: request, user: state.user, resumeQuery: Self.resumeQuery(request)))
        }
        guard let session = state.session, state.user != nil else {
            if silent { return .redirect(Self.errorResponse(request, context, OAuthError(.loginRequired, "no signed-in session"))) }
            return interact(.login)
        }
        // OIDC Core §3.1.2.1: max_age and prompt=login ask for a fresh authentication.
        let tooOld = request.maxAge.map { now.timeIntervalSince(session.authTime) > TimeInterval($0) } ?? false
        // A session established through this environment's social provider stands for it only while
        // the provider does (seed 002): disabled, removed or re-pointed since, it needs a new sign-in.
        if tooOld || request.prompt.contains("login") || state.signInMethodWithdrawn {
            if silent { return .redirect(Self.errorResponse(request, context, OAuthError(.loginRequired, "a fresh sign-in is required"))) }
            return interact(.login)
        }
        if request.prompt.contains("select_account") { return interact(.selectAccount) }
        var scope = state.activeScope
        if scope == nil {
            if state.hadRevokedScope && silent {
                // The global session lives, but this Project's scope was revoked: no auto-heal (seed 002).
                return .redirect(Self.errorResponse(request, context, OAuthError(.loginRequired, "sign in again to enter this project")))
            }
            guard state.isMember else {
                let joinable = context.project.visibility == .public && context.settings.allowPublicJoin
                if joinable && !silent { return interact(.join) }
                let code: OAuthError.Code = joinable ? .interactionRequired : .accessDenied
                return .redirect(Self.errorResponse(request, context, OAuthError(code, "the user is not a member of this project")))
            }
            // Re-entry after a revocation is an explicit step on the account chooser.
            if state.hadRevokedScope { return interact(.selectAccount) }
            scope = try await HostedInteraction.enterProject(provider, context, session: session, clientID: request.client.id)
        }
        guard state.isMember, let scope else {
            return .redirect(Self.errorResponse(request, context, OAuthError(.accessDenied, "the user is not a member of this project")))
        }
        // OIDC Core §3.1.2.4: consent for clients that are not first-party.
        let consented = state.consentedScopes.map { Set(request.scopes).isSubset(of: Set($0)) } ?? false
        if !request.client.firstParty && (!consented || request.prompt.contains("consent")) {
            if silent { return .redirect(Self.errorResponse(request, context, OAuthError(.consentRequired, "the user has not consented"))) }
            return interact(.consent)
        }
        return .redirect(try await issueCode(request, context, session: session, scope: scope))
    }

    /// RFC 6749 §4.1.2: a single-use code, stored as its hash, bound to the client, redirect URI,
    /// PKCE challenge, nonce and runtime scope; it lives `authorizationCodeLifetimeSeconds`.
    func issueCode(_ request: AuthorizationRequest, _ context: ProviderContext, session: IdentitySession, scope: RuntimeScope) async throws -> AuthorizationResponse {
        let code = OpaqueSecret.generate(prefix: "lmb_ac_")
        let now = provider.now
        let record = AuthorizationCodeGrantRecord(
            codeHash: code.hash, clientID: request.client.id, projectID: context.project.id, environment: context.environment,
            runtimeScopeID: scope.id, sessionID: session.id, userID: session.userID, redirectURI: request.redirectURI,
            codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallenge == nil ? nil : "S256", nonce: request.nonce,
            scopes: request.scopes, authTime: session.authTime, amr: session.amr, createdAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(context.settings.authorizationCodeLifetimeSeconds)))
        try await provider.store.write { tx in try tx.insert(record) }
        var parameters: [(String, String)] = [("code", code.value)]
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", context.issuer))
        return AuthorizationResponse(redirectURI: request.redirectURI, mode: request.responseMode, parameters: parameters)
    }

    /// RFC 6749 §4.1.2.1 with RFC 9207's `iss`.
    static func errorResponse(_ request: AuthorizationRequest, _ context: ProviderContext, _ error: OAuthError) -> AuthorizationResponse {
        var parameters: [(String, String)] = [("error", error.code.rawValue), ("error_description", error.message)]
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", context.issuer))
        return AuthorizationResponse(redirectURI: request.redirectURI, mode: request.responseMode, parameters: parameters)
    }

    /// The query that resumes the request after an interaction, with the prompt values that the
    /// interaction satisfies removed (a completed login answers `prompt=login`, and so on).
    static func resumeQuery(_ request: AuthorizationRequest) -> String {
        OAuthParameters.encode(request.parameters.pairs.map { ($0.name, $0.value) })
    }

    static func removingPrompt(_ query: String, _ satisfied: Set<String>) throws(OAuthError) -> String {
        let parameters = try OAuthParameters.decode(query)
        var pairs: [(String, String)] = []
        for pair in parameters.pairs {
            if pair.name == "prompt" {
                let remaining = pair.value.split(separator: " ").map(String.init).filter { !satisfied.contains($0) }
                if !remaining.isEmpty { pairs.append(("prompt", remaining.joined(separator: " "))) }
            } else if pair.name == "max_age", satisfied.contains("login") {
                continue
            } else {
                pairs.append((pair.name, pair.value))
            }
        }
        return OAuthParameters.encode(pairs)
    }
}

/// What the session cookie says about this Project environment, read in one snapshot.
struct SessionState: Sendable {
    var session: IdentitySession?
    var user: LambaUser?
    var activeScope: RuntimeScope?
    var hadRevokedScope = false
    var isMember = false
    var consentedScopes: [String]?
    /// The session came through a social provider of this environment that has since been
    /// disabled, deleted, or given another issuer or client id.
    var signInMethodWithdrawn = false

    static func load(_ tx: any OAuthRecords, _ context: ProviderContext, sessionToken: String?, clientID: String?, now: Date) throws -> SessionState {
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
        if let clientID { state.consentedScopes = try tx.consentedScopes(userID: user.id, clientID: clientID) }
        return state
    }

    /// A session signed in with a password does not count in an environment where password sign-in
    /// is off (seed 002, "login method changed"): otherwise re-entry would mint a new runtime scope
    /// from it right after the change revoked the old ones. The user signs in again another way.
    /// The recorded `signInMethod` decides, not `amr`: a provider's session carries the upstream's
    /// `amr`, which is `pwd` when the user typed a password there.
    static func signedInWithAllowedMethod(_ session: IdentitySession, _ context: ProviderContext) -> Bool {
        session.signInMethod != .password || context.settings.authMethods.contains(.password)
    }
}

/// Minimal HTML escaping for attribute values and text.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
