public import Foundation
public import LambaJOSE
public import LambaModel

/// Validation of Lamba's own access tokens: signature with this environment's keys, `iss` equal
/// to this issuer (so Project B and production refuse Project A's and sandbox's tokens), `typ`
/// at+jwt (RFC 9068 §4), `exp`; then the server-side state, read now (rule 7): not revoked by
/// jti, runtime scope active, member and user active, or for client_credentials the client exists.
public struct AccessTokenValidator: Sendable {
    let provider: OpenIDProvider

    /// Seconds by which another Lamba process's clock may run ahead when it signed a token (`nbf`, `iat`).
    static let clockSkew: Int64 = 5

    public struct Validated: Sendable {
        public let claims: JWTClaims
        public let clientID: String
        public let subject: String
        public let scopes: [String]
        /// The runtime scope and user, for user tokens.
        public let runtimeScope: RuntimeScope?
        public let user: LambaUser?
    }

    /// Signature and claims only; a token checked once is remembered (by issuer and token) until
    /// the environment's keys change, and its expiry is checked on every use. - Throws: `invalid_token`.
    func verifySignature(_ token: String, _ context: ProviderContext, allowExpired: Bool = false) async throws(OAuthError) -> JWTClaims {
        guard token.utf8.count <= 8192 else { throw OAuthError.invalidToken("the token is too long") }
        let now = NumericDate(provider.now).secondsSince1970
        let provider = provider
        let claims = try await provider.caches.verifiedAccessTokens.value(context.issuer + " " + token) { () throws(OAuthError) -> JWTClaims? in
            do {
                let verifier = try await provider.keys.verifier(projectID: context.project.id, environment: context.environment)
                // Expiry is left to the check below, so that a remembered token is held to it too; nbf and
                // iat are checked here (RFC 7519 §4.1.5–4.1.6), with a few seconds for clocks of other processes.
                let validation = JWTValidation(issuer: context.issuer, type: JWT.accessTokenType, leeway: Self.clockSkew,
                                               expiry: .requiredButMayHavePassed, requiredClaims: ["sub", "client_id", "jti"], now: now)
                let verified = try JWT.verify(token, with: verifier, validation: validation)
                guard verified.claims["project_id"]?.stringValue == context.project.id,
                    verified.claims["environment"]?.stringValue == context.environment.rawValue
                else { throw OAuthError.invalidToken("token of another project environment") }
                return verified.claims
            } catch let error as OAuthError {
                throw error
            } catch {
                throw OAuthError.invalidToken(String(describing: error))
            }
        }
        guard let claims else { throw OAuthError.invalidToken("the token could not be verified") }
        if !allowExpired {
            // RFC 9068 §4 / RFC 7519 §4.1.4: no leeway for Lamba's own tokens.
            guard let exp = claims.expiration, NumericDate(clamping: now) < exp else { throw OAuthError.invalidToken("the token expired") }
        }
        return claims
    }

    /// The full check. - Throws: `invalid_token` when the token is not (or no longer) valid.
    public func validate(_ token: String, _ context: ProviderContext) async throws(OAuthError) -> Validated {
        let claims = try await verifySignature(token, context)
        guard let jti = claims.jwtID, let clientID = claims["client_id"]?.stringValue, let subject = claims.subject else {
            throw OAuthError.invalidToken("claims missing")
        }
        let scopes = (claims["scope"]?.stringValue ?? "").split(separator: " ").map(String.init)
        let sid = claims["sid"]?.stringValue
        let provider = provider
        let key = [context.issuer, jti, sid ?? "-", subject, clientID].joined(separator: " ")
        let state = try await provider.caches.tokenStates.value(key) { () throws(OAuthError) -> ProviderCaches.TokenState? in
            try await provider.read { tx -> ProviderCaches.TokenState in
                guard try !tx.isAccessTokenRevoked(jti: jti) else { return .inactive }
                if let sid {
                    guard let (scope, user) = try RuntimeState.check(tx, scopeID: sid, userID: subject, context) else { return .inactive }
                    return .user(scope, user)
                }
                // client_credentials: the client must still be registered here.
                guard subject == clientID, try OpenIDProvider.client(tx, id: clientID, in: context) != nil else { return .inactive }
                return .client
            }
        }
        switch state ?? .inactive {
        case .inactive: throw OAuthError.invalidToken("revoked, or the runtime scope, membership or user is no longer active")
        case .user(let scope, let user): return Validated(claims: claims, clientID: clientID, subject: subject, scopes: scopes, runtimeScope: scope, user: user)
        case .client: return Validated(claims: claims, clientID: clientID, subject: subject, scopes: scopes, runtimeScope: nil, user: nil)
        }
    }

    /// RFC 6750 §2.1 / §2.2: the bearer token from the header or, for POST forms, the body.
    static func bearerToken(_ request: EndpointRequest) throws(OAuthError) -> String {
        let fromBody = request.method == "POST" ? try request.parameters.single("access_token") : nil
        if let header = request.authorization {
            guard header.utf8.hasPrefixIgnoringASCIICase("bearer "), fromBody == nil else {
                throw OAuthError.invalidRequest("send the token in exactly one way, as Authorization: Bearer")
            }
            let token = header.dropFirst(7).trimmingHTTPWhitespace()
            guard !token.isEmpty else { throw OAuthError.invalidToken("empty bearer token") }
            return token
        }
        guard let fromBody else {
            var error = OAuthError(.invalidToken, "an access token is required")
            error.lacksCredentials = true
            throw error
        }
        return fromBody
    }
}

/// `GET|POST /userinfo` (OIDC Core §5.3): answers only while the token's runtime scope, the
/// membership and the user are active.
public struct UserInfoEndpoint: Sendable {
    let provider: OpenIDProvider

    public func handle(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            let token = try AccessTokenValidator.bearerToken(request)
            let validated = try await provider.accessTokens.validate(token, context)
            guard let user = validated.user else { throw OAuthError(.invalidToken, "this token does not stand for a user") }
            guard validated.scopes.contains("openid") else { throw OAuthError(.insufficientScope, "the token lacks the openid scope") }
            var body: JSONObject = ["sub": .string(user.id)]
            for (name, value) in UserClaims.claims(user, scopes: validated.scopes) { body[name] = value }
            return .json(body)
        } catch {
            return .error(error, bearer: true)
        }
    }
}

/// `POST /revoke` (RFC 7009): client authentication required (§2.1); unknown or foreign tokens
/// answer 200 (§2.2). A refresh token revokes its family; an access token is tracked by jti.
public struct TokenRevocation: Sendable {
    let provider: OpenIDProvider

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("revocation", isForm: isForm)
            let client = try await provider.clientAuthentication.authenticate(request, context, allowNone: true)
            let token = try request.parameters.required("token")
            let hint = try request.parameters.single("token_type_hint")
            if let hint, hint != "access_token", hint != "refresh_token" {
                throw OAuthError(.unsupportedTokenType, "token_type_hint must be access_token or refresh_token")
            }
            let now = provider.now
            let hash = OpaqueSecret.hash(token)
            let revokedRefresh = try await provider.write { tx -> Bool in
                guard let record = try tx.refreshToken(hash: hash), record.clientID == client.id, record.projectID == context.project.id,
                    record.environment == context.environment
                else { return false }
                let count = try tx.revokeRefreshFamily(record.familyID, at: now)
                if count > 0 {
                    try tx.append(DomainEvent(type: .tokenRevoked, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                              environment: context.environment, sessionID: record.sessionID, occurredAt: now, data: [
                        "client_id": .string(client.id), "token_type": "refresh_token", "family_id": .string(record.familyID),
                    ]))
                }
                return true
            }
            if !revokedRefresh, let claims = try? await provider.accessTokens.verifySignature(token, context, allowExpired: true),
                claims["client_id"]?.stringValue == client.id, let jti = claims.jwtID, let exp = claims.expiration
            {
                try await provider.write { tx in
                    try tx.revokeAccessToken(jti: jti, clientID: client.id, expiresAt: exp.date, at: now)
                    try tx.append(DomainEvent(type: .tokenRevoked, actor: client.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                              environment: context.environment, occurredAt: now, data: [
                        "client_id": .string(client.id), "token_type": "access_token", "jti": .string(jti),
                    ]))
                }
            }
            return EndpointResponse(status: 200, headers: [("Cache-Control", "no-store")], body: [])
        } catch {
            return .error(error)
        }
    }
}

/// `POST /introspect` (RFC 7662): for authenticated clients of this environment; inactive unless
/// the token is valid now, including its runtime scope, membership and user (rule 7).
public struct TokenIntrospection: Sendable {
    let provider: OpenIDProvider

    public func handle(_ request: EndpointRequest, _ context: ProviderContext, isForm: Bool) async -> EndpointResponse {
        do {
            try request.requireFormPost("introspection", isForm: isForm)
            _ = try await provider.clientAuthentication.authenticate(request, context, allowNone: false)
            let token = try request.parameters.required("token")
            if let validated = try? await provider.accessTokens.validate(token, context) {
                var body: JSONObject = ["active": true, "token_type": "Bearer"]
                for name in ["scope", "client_id", "sub", "exp", "iat", "iss", "aud", "jti", "sid", "project_id", "environment"] {
                    if let value = validated.claims[name] { body[name] = value }
                }
                if let user = validated.user, validated.scopes.contains("email") { body["username"] = .string(user.email) }
                return .json(body)
            }
            let now = provider.now
            let hash = OpaqueSecret.hash(token)
            let refresh = try await provider.read { tx -> RefreshTokenRecord? in
                guard let record = try tx.refreshToken(hash: hash), record.projectID == context.project.id, record.environment == context.environment,
                    record.revokedAt == nil, record.rotatedAt == nil, record.expiresAt > now,
                    try RuntimeState.check(tx, scopeID: record.runtimeScopeID, userID: record.userID, context) != nil
                else { return nil }
                return record
            }
            guard let refresh else { return .json(["active": false]) }
            return .json([
                "active": true, "token_type": "refresh_token", "scope": .string(refresh.scopes.joined(separator: " ")),
                "client_id": .string(refresh.clientID), "sub": .string(refresh.userID), "iss": .string(context.issuer),
                "exp": .integer(Int64(refresh.expiresAt.timeIntervalSince1970)), "sid": .string(refresh.runtimeScopeID),
            ])
        } catch {
            return .error(error)
        }
    }
}

/// `POST /access/check`: the server-side decision for a product backend (authenticated client of
/// this environment): the token's user and runtime scope + a permission → allowed or not, with
/// the reason, from current membership and roles (`RuntimeAccess.decide`).
public struct AccessCheck: Sendable {
    let provider: OpenIDProvider

    public func handle(_ request: EndpointRequest, _ context: ProviderContext) async -> EndpointResponse {
        do {
            guard request.method == "POST" else { throw OAuthError.invalidRequest("the access check accepts POST only") }
            try request.parameters.rejectDuplicates()
            _ = try await provider.clientAuthentication.authenticate(request, context, allowNone: false)
            let token = try request.parameters.required("token")
            let permission = try request.parameters.required("permission")
            guard permission.utf8.count <= 200 else { throw OAuthError.invalidRequest("permission is too long") }
            let claims: JWTClaims
            do {
                claims = try await provider.accessTokens.verifySignature(token, context)
            } catch {
                return .json(["allowed": false, "reason": "token_invalid"])
            }
            guard let sid = claims["sid"]?.stringValue, let subject = claims.subject, let jti = claims.jwtID else {
                return .json(["allowed": false, "reason": "not_a_user_token"])
            }
            let projectID = context.project.id
            let provider = provider
            let key = [context.issuer, jti, sid, subject, permission].joined(separator: " ")
            let decided = try await provider.caches.decisions.value(key) { () throws(OAuthError) -> RuntimeAccess.Decision? in
                try await provider.read { tx -> RuntimeAccess.Decision in
                    if try tx.isAccessTokenRevoked(jti: jti) { return RuntimeAccess.Decision(allowed: false, reason: "token_revoked", roles: []) }
                    return try RuntimeAccess.decide(tx, scopeID: sid, userID: subject, projectID: projectID, permission: permission)
                }
            }
            guard let decision = decided else { throw OAuthError.server("no access decision") }
            return .json([
                "allowed": .bool(decision.allowed), "reason": .string(decision.reason), "sub": .string(subject),
                "project_id": .string(projectID), "environment": .string(context.environment.rawValue), "sid": .string(sid),
                "permission": .string(permission), "roles": .array(decision.roles.map(JSONValue.string)),
            ])
        } catch {
            return .error(error)
        }
    }
}
