public import Foundation
public import LambaJOSE
public import LambaModel

/// The runtime self-service API of a Project environment, under its issuer: `/me`, `/me/providers`,
/// `/me/sessions`. The caller is the user of a Bearer access token of this environment whose
/// runtime scope is still active (RFC 6750; validated as userinfo is). Changes are open to the
/// Project's first-party applications only: a third-party client may read, never unlink or revoke.
public struct AccountSelfService: Sendable {
    let accessTokens: AccessTokenValidator
    let clients: RegisteredClients
    let records: Transactions<any IdentityWriter & ProviderSignInStorage & SignInThrottleStorage>
    let socialSignIn: SocialSignIn
    let secondFactors: SecondFactors
    let passkeys: PasskeyCeremonies
    let recovery: AccountRecovery
    let emailChange: EmailChange
    let clock: WallClock

    struct Caller: Sendable {
        let user: LambaUser
        let scope: RuntimeScope
        let client: OAuthClient
    }

    func authenticate(_ request: EndpointRequest, _ context: ProviderContext, changing: Bool) async throws(OAuthError) -> Caller {
        let token = try AccessTokenValidator.bearerToken(request)
        let validated = try await accessTokens.validate(token, context)
        guard let user = validated.user, let scope = validated.runtimeScope else {
            throw OAuthError(.invalidToken, "this token does not stand for a user")
        }
        let clientID = validated.clientID
        guard let client = try await clients.client(id: clientID, in: context) else {
            throw OAuthError.invalidToken("the token's client is gone")
        }
        if changing, !client.firstParty {
            throw OAuthError(.insufficientScope, "only the project's first-party applications may change the account")
        }
        return Caller(user: user, scope: scope, client: client)
    }

    func linkingContext(_ context: ProviderContext, _ caller: Caller) -> AccountLinking.Context {
        AccountLinking.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment,
                               sessionID: caller.scope.sessionID)
    }

    // MARK: GET /me

    /// The profile, the linked providers and the sign-in methods that work in this environment.
    public func me(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: false)
            let (linked, paths, totp) = try await records.read { tx in
                (try Self.linkedProviders(tx, caller.user, context),
                 try AuthMethodGuard.usablePaths(tx, of: caller.user, settings: context.settings),
                 try tx.totpCredential(userID: caller.user.id)?.confirmedAt != nil)
            }
            let pending = try await emailChange.pending(userID: caller.user.id, factorContext(context))
            return .json([
                "sub": .string(caller.user.id), "email": .string(caller.user.email), "email_verified": .bool(caller.user.emailVerified),
                "name": .string(caller.user.name), "project_id": .string(context.project.id), "environment": .string(context.environment.rawValue),
                "sign_in_methods": .array(paths.map(\.description).sorted().map(JSONValue.string)), "providers": .array(linked),
                "totp_enabled": .bool(totp), "pending_email": pending.map { .string($0.newEmail) } ?? .null,
            ])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: GET /me/providers

    public func providers(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: false)
            let (linked, available) = try await records.read { tx -> ([JSONValue], [JSONValue]) in
                let mine = Set(try tx.linkedIdentities(userID: caller.user.id).map(\.providerID))
                let available = try tx.upstreamProviders(projectID: context.project.id, environment: context.environment)
                    .filter { context.settings.authMethods.contains($0.method) && !mine.contains($0.id) }
                    .map { JSONValue.object(["provider_id": .string($0.id), "name": .string($0.name)]) }
                return (try Self.linkedProviders(tx, caller.user, context), available)
            }
            return .json(["data": .array(linked), "available": .array(available)])
        } catch {
            return Self.failure(error)
        }
    }

    static func linkedProviders(_ tx: any IdentityReader, _ user: LambaUser, _ context: ProviderContext) throws -> [JSONValue] {
        try tx.linkedIdentities(userID: user.id).filter { $0.projectID == context.project.id && $0.environment == context.environment }
            .compactMap { link in
                guard let upstream = try tx.upstreamProvider(id: link.providerID), upstream.deletedAt == nil else { return nil }
                return .object([
                    "provider_id": .string(upstream.id), "name": .string(upstream.name), "email": link.email.map(JSONValue.string) ?? .null,
                    "linked_at": .string(link.linkedAt.formatted(.iso8601)), "enabled": .bool(context.settings.authMethods.contains(upstream.method)),
                ])
            }
    }

    // MARK: POST /me/providers/{provider_id}/link

    /// Starts linking: a one-time ticket URL that the user's browser opens; Lamba then sends the
    /// browser to the provider, and the callback links the account to this token's user. An
    /// optional `redirect_uri`, registered for the token's client, is where the browser returns.
    public func startLink(_ request: EndpointRequest, _ context: ProviderContext, providerID: String) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            try request.parameters.rejectDuplicates()
            let returnURI = try request.parameters.single("redirect_uri")
            if let returnURI, !caller.client.redirectURIs.contains(returnURI) {
                throw OAuthError.invalidRequest("redirect_uri is not registered for this client")
            }
            let upstream = try await socialSignIn.enabledProvider(context, providerID)
            let ticket = OpaqueSecret.generate(prefix: "lmb_lt_")
            let now = clock.now()
            try await records.writeRefusable { tx in
                if try tx.linkedIdentities(userID: caller.user.id).contains(where: { $0.providerID == upstream.id }) {
                    throw DomainError.conflict("\(upstream.name) is linked already")
                }
                try tx.insert(ProviderSignInRecord(
                    secretHash: ticket.hash, kind: .linkTicket, providerID: upstream.id, workspaceID: context.workspace.id,
                    projectID: context.project.id, environment: context.environment, userID: caller.user.id, sessionID: caller.scope.sessionID,
                    clientID: caller.client.id, returnURI: returnURI, createdAt: now, expiresAt: now.addingTimeInterval(SocialSignIn.lifetime)))
            }
            let url = context.endpoint("/providers/\(upstream.id)/link?") + OAuthParameters.encode([("ticket", ticket.value)])
            return .json(["authorization_url": .string(url), "expires_in": .integer(Int64(SocialSignIn.lifetime))], status: 201)
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: DELETE /me/providers/{provider_id}

    /// Unlinks, unless it is the user's last way to sign in here (409); the other sessions end.
    public func unlink(_ request: EndpointRequest, _ context: ProviderContext, providerID: String) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            let linking = linkingContext(context, caller)
            let now = clock.now()
            try await records.writeRefusable { tx in try AccountLinking.unlink(tx, userID: caller.user.id, providerID: providerID, linking, now: now) }
            return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: GET /me/sessions

    /// The user's active identity sessions on this Workspace's auth host and the runtime scopes
    /// under them; the token's own session and scope are marked `current`.
    public func sessions(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: false)
            let views = try await records.read { tx in
                try AccountLinking.sessions(tx, userID: caller.user.id, workspaceID: context.workspace.id)
            }
            let data: [JSONValue] = views.map { view in
                .object([
                    "id": .string(view.session.id), "current": .bool(view.session.id == caller.scope.sessionID),
                    "sign_in_method": view.session.signInMethod.map { .string($0.description) } ?? .null,
                    "auth_time": .string(view.session.authTime.formatted(.iso8601)), "created_at": .string(view.session.createdAt.formatted(.iso8601)),
                    "expires_at": .string(view.session.expiresAt.formatted(.iso8601)),
                    "runtime_scopes": .array(view.scopes.map { scope in
                        .object([
                            "id": .string(scope.id), "current": .bool(scope.id == caller.scope.id), "project_id": .string(scope.projectID),
                            "environment": .string(scope.environment.rawValue), "application_id": .string(scope.applicationID),
                            "created_at": .string(scope.createdAt.formatted(.iso8601)),
                        ])
                    }),
                ])
            }
            return .json(["data": .array(data)])
        } catch {
            return Self.failure(error)
        }
    }

    // MARK: DELETE /me/sessions/{id}

    /// Revokes one identity session (`ses_…`, with its runtime scopes) or one runtime scope
    /// (`rs_…`). Ids that are not the user's answer 404.
    public func revokeSession(_ request: EndpointRequest, _ context: ProviderContext, id: String) async -> EndpointResponse {
        do {
            let caller = try await authenticate(request, context, changing: true)
            let linking = linkingContext(context, caller)
            let now = clock.now()
            try await records.writeRefusable { tx in try AccountLinking.revoke(tx, userID: caller.user.id, id: id, linking, now: now) }
            return EndpointResponse(status: 204, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return Self.failure(error)
        }
    }

    /// Domain refusals as the console renders them (404 `not_found`, 409 `refused`/`conflict`, …);
    /// token problems as RFC 6750 §3.1 errors with their challenge.
    static func failure(_ error: any Error) -> EndpointResponse {
        guard let domain = error as? DomainError else { return .error(error, bearer: true) }
        let (status, code): (Int, String) = switch domain {
        case .invalid: (400, "invalid_request")
        case .notFound: (404, "not_found")
        case .conflict: (409, "conflict")
        case .forbidden: (403, "forbidden")
        case .limitExceeded: (409, "plan_limit_exceeded")
        case .refused: (409, "refused")
        }
        let description = if case .notFound = domain { "no such resource" } else { domain.description }
        return .json(["error": .string(code), "error_description": .string(description)], status: status)
    }
}
