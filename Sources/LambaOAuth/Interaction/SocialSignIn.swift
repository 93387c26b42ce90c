public import Foundation
public import LambaJOSE
import LambaPasswords
public import LambaModel

/// Sign-in and account linking through a social provider: "Continue with …" on the hosted login
/// page, the link flow of `/me/providers`, and the proof an existing account gives before an
/// upstream account with its email is linked. Every round trip uses the authorization code flow
/// with `state`, a `nonce` (OIDC Core §3.1.2.1) and PKCE S256 (RFC 7636), all kept server-side and
/// bound to the browser that started it by a cookie.
public struct SocialSignIn: Sendable {
    typealias Records = any IdentityWriter & ProviderSignInStorage & SignInThrottleStorage

    let validator: AuthorizationRequestValidator
    let csrf: CSRFProtection
    let records: Transactions<Records>
    /// Outbound HTTP to the upstream providers; without it, social sign-in answers temporarily_unavailable.
    let upstreamHTTP: (any UpstreamHTTPClient)?
    /// Seals PKCE verifiers at rest and opens the upstreams' client secrets.
    let masterKey: MasterKey
    let upstreamKeys: UpstreamKeyCache
    let clock: WallClock

    /// The browser-binding cookie of a round trip.
    public static let browserCookie = "lamba_provider"
    /// How long a round trip, a link ticket or a proof stays usable.
    static let lifetime: TimeInterval = 600

    public enum Outcome: Sendable {
        /// Go to the upstream's authorization endpoint; set the binding cookie.
        case upstream(location: String, browserCookie: String)
        /// Signed in: continue at `/authorize`, setting the session cookie.
        case resume(location: String, sessionToken: String)
        /// An account with the upstream's verified email exists: ask for proof of it.
        case proof(ProofRequest)
        /// A link flow ended: back to the application (`location`) or a page saying `message`.
        case linkFinished(location: String?, message: String, linked: Bool)
        /// Show the login page again with this message (the pending authorization survives).
        case failed(message: String, authz: String)
        case errorPage(OAuthError)
    }

    /// What the "prove it's you" page shows.
    public struct ProofRequest: Sendable {
        public var token: String
        public var email: String
        public var providerName: String
        public var hasPassword: Bool
        /// The user's other linked providers enabled here, each a way to prove the account.
        public var otherProviders: [UpstreamProvider]
        public var authz: String
        /// Why the page is shown again (a wrong password).
        public var message: String?
    }

    var redirectURI: (ProviderContext) -> String { { $0.endpoint("/providers/callback") } }

    // MARK: Starting a round trip

    /// "Continue with {provider}" from the hosted login page.
    public func startLogin(_ context: ProviderContext, providerID: String, authz: String) async -> Outcome {
        do {
            _ = try await validator.pending(context, authz: authz)
            let upstream = try await enabledProvider(context, providerID)
            return try await roundTrip(context, upstream, kind: .login, authz: authz)
        } catch {
            return Self.failure(error, authz: authz)
        }
    }

    /// The browser opens a link ticket made by `/me/providers/{id}/link`: the round trip starts here,
    /// so that it is bound to this browser.
    public func openLinkTicket(_ context: ProviderContext, providerID: String, ticket: String?) async -> Outcome {
        do {
            let now = clock.now()
            guard let ticket, ticket.utf8.count <= 256 else { throw OAuthError.invalidRequest("the link ticket is missing") }
            let hash = OpaqueSecret.hash(ticket)
            let record = try await records.write { tx -> ProviderSignInRecord? in
                guard let record = try tx.providerSignIn(hash: hash), record.kind == .linkTicket, record.providerID == providerID,
                    Self.belongs(record, context), record.expiresAt > now, try tx.consumeProviderSignIn(hash: hash, at: now)
                else { return nil }
                return record
            }
            guard let record else { throw OAuthError(.accessDenied, "this link expired or was used already; start again from the application") }
            let upstream = try await enabledProvider(context, providerID)
            return try await roundTrip(context, upstream, kind: .link, userID: record.userID, sessionID: record.sessionID, clientID: record.clientID,
                                       returnURI: record.returnURI)
        } catch {
            return .errorPage(OAuthError.wrap(error))
        }
    }

    /// Proves the account behind a pending proof by signing in with another provider it has linked.
    public func startProof(_ context: ProviderContext, providerID: String, proofToken: String?, browserCookie: String?) async -> Outcome {
        do {
            let proof = try await pendingProof(context, proofToken, browserCookie)
            let upstream = try await enabledProvider(context, providerID)
            return try await roundTrip(context, upstream, kind: .login, authz: proof.authz, userID: proof.userID, proofHash: proof.secretHash)
        } catch {
            return .errorPage(OAuthError.wrap(error))
        }
    }

    /// A provider of this environment that is enabled as a sign-in method.
    func enabledProvider(_ context: ProviderContext, _ id: String) async throws(OAuthError) -> UpstreamProvider {
        let found = try await records.read { tx in try tx.upstreamProvider(id: id) }
        guard let found, found.deletedAt == nil, found.projectID == context.project.id, found.environment == context.environment,
            context.settings.authMethods.contains(found.method)
        else { throw OAuthError(.accessDenied, "this sign-in method is not enabled for this project") }
        return found
    }

    func http() throws(OAuthError) -> any UpstreamHTTPClient {
        guard let http = upstreamHTTP else {
            throw OAuthError(.temporarilyUnavailable, "sign-in with providers is not available on this server")
        }
        return http
    }

    func roundTrip(_ context: ProviderContext, _ upstream: UpstreamProvider, kind: ProviderSignInRecord.Kind, authz: String? = nil,
                   userID: String? = nil, sessionID: String? = nil, clientID: String? = nil, returnURI: String? = nil,
                   proofHash: String? = nil) async throws -> Outcome {
        let metadata: UpstreamMetadata
        do {
            metadata = try await upstreamKeys.metadata(try http(), upstream, now: clock.now())
        } catch let error as UpstreamError {
            throw OAuthError(.temporarilyUnavailable, "\(upstream.name) cannot be reached right now; try again later", debug: error.description)
        }
        let state = OpaqueSecret.generate()
        let nonce = try SecureRandom.token(byteCount: 32)
        // RFC 7636 §4.1: 32 random octets, base64url, is a 43-character verifier.
        let verifier = try SecureRandom.token(byteCount: 32)
        let browser = OpaqueSecret.generate()
        let now = clock.now()
        let sealedVerifier = Base64URL.encode(try masterKey.seal(Array(verifier.utf8), associatedData: Array(state.hash.utf8)))
        let record = ProviderSignInRecord(
            secretHash: state.hash, kind: kind, providerID: upstream.id, workspaceID: context.workspace.id, projectID: context.project.id,
            environment: context.environment, browserHash: browser.hash, nonceHash: OpaqueSecret.hash(nonce), codeVerifierSealed: sealedVerifier,
            authz: authz, userID: userID, sessionID: sessionID, clientID: clientID, returnURI: returnURI, proofHash: proofHash, createdAt: now,
            expiresAt: now.addingTimeInterval(Self.lifetime))
        try await records.write { tx in try tx.insert(record) }
        let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
        let query = OAuthParameters.encode([
            ("response_type", "code"), ("client_id", upstream.clientID), ("redirect_uri", redirectURI(context)),
            ("scope", upstream.scopes.joined(separator: " ")), ("state", state.value), ("nonce", nonce),
            ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ])
        let separator = metadata.authorizationEndpoint.contains("?") ? "&" : "?"
        return .upstream(location: metadata.authorizationEndpoint + separator + query, browserCookie: browser.value)
    }

    // MARK: The callback

    /// `GET {issuer}/providers/callback`: the upstream's authorization response (RFC 6749 §4.1.2).
    public func callback(_ context: ProviderContext, _ parameters: OAuthParameters, browserCookie: String?) async -> Outcome {
        let record: ProviderSignInRecord
        do {
            try parameters.rejectDuplicates()
            guard let state = try parameters.single("state"), state.utf8.count <= 256 else { throw OAuthError.invalidRequest("state is missing") }
            record = try await consumeRoundTrip(context, stateHash: OpaqueSecret.hash(state), browserCookie: browserCookie)
        } catch {
            return .errorPage(OAuthError.wrap(error))
        }
        do {
            let (upstream, claims) = try await verifiedClaims(context, record, parameters)
            switch record.kind {
            case .link: return try await finishLink(context, record, upstream, claims)
            default: return try await finishLogin(context, record, upstream, claims)
            }
        } catch {
            if record.kind == .link { return Self.linkFailure(record, error) }
            return Self.failure(error, authz: record.authz ?? "")
        }
    }

    /// The state names a round trip of this environment, started in this browser, not used before
    /// and not expired; it is consumed here, so a replayed callback fails.
    func consumeRoundTrip(_ context: ProviderContext, stateHash: String, browserCookie: String?) async throws(OAuthError) -> ProviderSignInRecord {
        let now = clock.now()
        let browserHash = browserCookie.map(OpaqueSecret.hash)
        let record = try await records.write { tx -> ProviderSignInRecord? in
            guard let record = try tx.providerSignIn(hash: stateHash), record.kind == .login || record.kind == .link, Self.belongs(record, context),
                record.expiresAt > now, let expected = record.browserHash, let browserHash,
                constantTimeEquals(Array(expected.utf8), Array(browserHash.utf8)),
                try tx.consumeProviderSignIn(hash: stateHash, at: now)
            else { return nil }
            return record
        }
        guard let record else {
            throw OAuthError(.accessDenied, "this sign-in expired, was used already or was started in another browser; start again")
        }
        return record
    }

    /// The authorization response, then the code exchanged and the ID token validated.
    func verifiedClaims(_ context: ProviderContext, _ record: ProviderSignInRecord,
                        _ parameters: OAuthParameters) async throws -> (UpstreamProvider, UpstreamClaims) {
        let upstream = try await enabledProvider(context, record.providerID)
        guard upstream.trustChangedAt <= record.createdAt else {
            throw OAuthError(.accessDenied, "\(upstream.name) was reconfigured during this sign-in; start again")
        }
        if let error = try parameters.single("error") {
            throw OAuthError(.accessDenied, "sign-in with \(upstream.name) was cancelled or refused", debug: "upstream error \(error.prefix(64))")
        }
        // RFC 9207 §2.4: an `iss` in the response must be the provider's issuer (mix-up defence).
        if let iss = try parameters.single("iss"), iss != upstream.issuer {
            throw OAuthError(.accessDenied, "the answer came from another issuer than \(upstream.name)")
        }
        guard let code = try parameters.single("code"), code.utf8.count <= 2048 else { throw OAuthError.invalidRequest("the code is missing") }
        guard let nonceHash = record.nonceHash, let sealed = record.codeVerifierSealed else { throw OAuthError.server("round trip without nonce or verifier") }
        let verifier = String(decoding: try masterKey.open(try Base64URL.decode(sealed), associatedData: Array(record.secretHash.utf8)),
                              as: UTF8.self)
        let http = try http()
        do {
            let cache = upstreamKeys
            let metadata = try await cache.metadata(http, upstream, now: clock.now())
            let idToken = try await UpstreamTokenRequest.exchange(
                http, metadata, provider: upstream, clientSecret: try upstream.clientSecret(masterKey: masterKey), code: code,
                redirectURI: redirectURI(context), codeVerifier: verifier)
            // A kid the cached set lacks fetches the set again, within the cache's rate limit (OIDC Core §10.1.1).
            let jwks = try await cache.keys(http, metadata, upstream, kid: UpstreamIDToken.kid(idToken), now: clock.now())
            let claims = try UpstreamIDToken.validate(idToken, jwks: jwks, metadata: metadata, provider: upstream, nonceHash: nonceHash,
                                                      now: NumericDate(clock.now()).secondsSince1970)
            return (upstream, claims)
        } catch let error as UpstreamError {
            throw OAuthError(.accessDenied, "the sign-in with \(upstream.name) could not be verified", debug: error.description)
        }
    }

    // MARK: Sign-in and first-time linking

    enum Resolution: Sendable {
        case signedIn(token: String)
        case proof(ProofRequest)
        case refused(String)
    }

    /// The upstream account is linked: sign in as its user. It is not: an unknown email creates a
    /// user; a verified email of an existing user asks that user for proof; an unverified email of
    /// an existing user is refused (no takeover by an email someone merely typed upstream).
    func finishLogin(_ context: ProviderContext, _ record: ProviderSignInRecord, _ upstream: UpstreamProvider,
                     _ claims: UpstreamClaims) async throws -> Outcome {
        let authz = record.authz ?? ""
        let request = try await validator.pending(context, authz: authz)
        let now = clock.now()
        let secret = OpaqueSecret.generate(prefix: "lmb_ss_")
        let proofSecret = OpaqueSecret.generate()
        let browserHash = record.browserHash
        // Domain refusals (a link taken meanwhile) keep their meaning: the store's write, not the wrapping one.
        let resolution = try await records.writeRefusable { tx -> Resolution in
            let link = try tx.linkedIdentity(providerID: upstream.id, subject: claims.subject)
            if let proofHash = record.proofHash {
                // A round trip through another linked provider that proves a pending link's account.
                guard let link, link.userID == record.userID, let proof = try tx.providerSignIn(hash: proofHash), proof.kind == .proof,
                    proof.userID == link.userID, proof.expiresAt > now, let stored = proof.upstreamClaims,
                    let target = try tx.upstreamProvider(id: proof.providerID), target.deletedAt == nil,
                    try tx.consumeProviderSignIn(hash: proofHash, at: now), let user = try tx.user(id: link.userID), user.status == .active
                else { return .refused("this \(upstream.name) account does not prove the account to link; start again") }
                let pending = try UpstreamClaims(json: try JSON.decodeObject(Array(stored.utf8)))
                let session = try HostedInteraction.insertSession(tx, context, user: user, amr: claims.amr, clientID: request.client.id,
                                                                  signInMethod: upstream.method, secret: secret, now: now)
                _ = try AccountLinking.link(tx, user: user, provider: target, subject: pending.subject, email: pending.email,
                                            Self.linkingContext(context, session.id), now: now)
                return .signedIn(token: secret.value)
            }
            if let link {
                guard let user = try tx.user(id: link.userID), user.status == .active else { return .refused("this account is deactivated") }
                _ = try HostedInteraction.insertSession(tx, context, user: user, amr: claims.amr, clientID: request.client.id,
                                                        signInMethod: upstream.method, secret: secret, now: now)
                return .signedIn(token: secret.value)
            }
            guard let email = claims.email else {
                return .refused("\(upstream.name) did not share an email address; allow it to, or sign in another way")
            }
            if let existing = try tx.user(email: email) {
                guard claims.emailVerified else {
                    return .refused("an account with \(email) exists already and \(upstream.name) has not verified this address; "
                        + "sign in to that account, then link \(upstream.name) from your account settings")
                }
                guard existing.status == .active else { return .refused("this account is deactivated") }
                let others = try tx.linkedIdentities(userID: existing.id).compactMap { link -> UpstreamProvider? in
                    guard link.providerID != upstream.id, let other = try tx.upstreamProvider(id: link.providerID), other.deletedAt == nil,
                        other.projectID == context.project.id, other.environment == context.environment,
                        context.settings.authMethods.contains(other.method)
                    else { return nil }
                    return other
                }
                let hasPassword = existing.passwordHash != nil && context.settings.authMethods.contains(.password)
                guard hasPassword || !others.isEmpty else {
                    return .refused("an account with \(email) exists already and has no way to sign in here that could prove it; ask the project's operators")
                }
                try tx.insert(ProviderSignInRecord(
                    secretHash: proofSecret.hash, kind: .proof, providerID: upstream.id, workspaceID: context.workspace.id, projectID: context.project.id,
                    environment: context.environment, browserHash: browserHash, authz: authz, userID: existing.id,
                    upstreamClaims: JSON.encodeString(.object(claims.json)), createdAt: now, expiresAt: now.addingTimeInterval(Self.lifetime)))
                return .proof(ProofRequest(token: proofSecret.value, email: email, providerName: upstream.name, hasPassword: hasPassword,
                                           otherProviders: others, authz: authz))
            }
            let user = LambaUser(email: email, emailVerified: claims.emailVerified, name: claims.name ?? String(email.split(separator: "@")[0]))
            try tx.insert(user)
            try tx.append(DomainEvent(type: .userCreated, actor: user.id, workspaceID: context.workspace.id, projectID: context.project.id,
                                      environment: context.environment, occurredAt: now, data: [
                "user_id": .string(user.id), "provider_id": .string(upstream.id),
            ]))
            try AccountLinking.admitRegistered(tx, userID: user.id, projectID: context.project.id, workspaceID: context.workspace.id,
                                               environment: context.environment)
            let session = try HostedInteraction.insertSession(tx, context, user: user, amr: claims.amr, clientID: request.client.id,
                                                              signInMethod: upstream.method, secret: secret, now: now)
            _ = try AccountLinking.link(tx, user: user, provider: upstream, subject: claims.subject, email: email,
                                        Self.linkingContext(context, session.id), now: now)
            return .signedIn(token: secret.value)
        }
        switch resolution {
        case .signedIn(let token):
            return .resume(location: try Self.resumeLocation(context, authz), sessionToken: token)
        case .proof(let request):
            return .proof(request)
        case .refused(let message):
            return .failed(message: message, authz: authz)
        }
    }

    /// "Prove it's you" with the existing account's password: the upstream account is linked and
    /// the user signed in. A wrong password leaves the proof open until it expires; failures count
    /// towards the same lockout as the hosted login's (`SignInThrottle`).
    public func prove(_ context: ProviderContext, form: OAuthParameters, csrfCookie: String?, browserCookie: String?) async -> Outcome {
        let authz = (try? form.single("authz")) ?? nil
        do {
            try csrf.verify(cookie: csrfCookie, form: form)
            let proof = try await pendingProof(context, try form.single("proof"), browserCookie)
            let request = try await validator.pending(context, authz: proof.authz ?? "")
            guard context.settings.authMethods.contains(.password) else { throw OAuthError(.accessDenied, "password sign-in is not enabled for this project") }
            let password = try form.single("password") ?? ""
            let now = clock.now()
            let workspaceID = context.workspace.id
            let (user, throttle) = try await records.read { tx -> (LambaUser?, SignInThrottleRecord?) in
                guard let user = try tx.user(id: proof.userID ?? "") else { return (nil, nil) }
                let key = SignInThrottle.Key(workspaceID: workspaceID, email: user.email)
                return (user, try tx.signInThrottle(workspaceID: key.workspaceID, emailHash: key.emailHash))
            }
            let key = user.map { SignInThrottle.Key(workspaceID: workspaceID, email: $0.email) }
            if let remaining = SignInThrottle.lockedFor(throttle, at: now) {
                return .proof(try await proofRequest(context, proof, token: try form.required("proof"), message: SignInThrottle.message(remaining)))
            }
            guard password.utf8.count <= PasswordHasher.maximumLength,
                await PasswordHasher.verifyOffPool(password, against: user?.passwordHash ?? PasswordHasher.decoyHash),
                let user, user.passwordHash != nil, user.status == .active
            else {
                var message: String?
                if let key { message = try await SignInThrottle.recordFailure(records.narrowed { $0 }, context, key, userID: user?.id, at: now) }
                return .proof(try await proofRequest(context, proof, token: try form.required("proof"), message: message ?? "the password is wrong"))
            }
            let clearing = throttle == nil ? nil : key
            let secret = OpaqueSecret.generate(prefix: "lmb_ss_")
            let linked = try await records.writeRefusable { tx -> Bool in
                guard try tx.consumeProviderSignIn(hash: proof.secretHash, at: now), let stored = proof.upstreamClaims,
                    let target = try tx.upstreamProvider(id: proof.providerID), target.deletedAt == nil
                else { return false }
                let claims = try UpstreamClaims(json: try JSON.decodeObject(Array(stored.utf8)))
                if let clearing { try tx.deleteSignInThrottle(workspaceID: clearing.workspaceID, emailHash: clearing.emailHash) }
                let session = try HostedInteraction.insertSession(tx, context, user: user, amr: ["pwd"], clientID: request.client.id,
                                                                  signInMethod: .password, secret: secret, now: now)
                _ = try AccountLinking.link(tx, user: user, provider: target, subject: claims.subject, email: claims.email,
                                            Self.linkingContext(context, session.id), now: now)
                return true
            }
            guard linked else { throw OAuthError(.accessDenied, "this proof expired or was used already; start again") }
            return .resume(location: try Self.resumeLocation(context, proof.authz ?? ""), sessionToken: secret.value)
        } catch {
            return Self.failure(error, authz: authz ?? "")
        }
    }

    func pendingProof(_ context: ProviderContext, _ token: String?, _ browserCookie: String?) async throws(OAuthError) -> ProviderSignInRecord {
        let now = clock.now()
        guard let token, token.utf8.count <= 256, let browserCookie else { throw OAuthError(.accessDenied, "this proof expired; start again") }
        let hash = OpaqueSecret.hash(token)
        let browserHash = OpaqueSecret.hash(browserCookie)
        let record = try await records.read { tx in try tx.providerSignIn(hash: hash) }
        guard let record, record.kind == .proof, Self.belongs(record, context), record.consumedAt == nil, record.expiresAt > now,
            let expected = record.browserHash, constantTimeEquals(Array(expected.utf8), Array(browserHash.utf8))
        else { throw OAuthError(.accessDenied, "this proof expired or was started in another browser; start again") }
        return record
    }

    func proofRequest(_ context: ProviderContext, _ record: ProviderSignInRecord, token: String, message: String) async throws(OAuthError) -> ProofRequest {
        let (user, upstream) = try await records.read { tx in (try tx.user(id: record.userID ?? ""), try tx.upstreamProvider(id: record.providerID)) }
        return ProofRequest(token: token, email: user?.email ?? "", providerName: upstream?.name ?? "the provider", hasPassword: true,
                            otherProviders: [], authz: record.authz ?? "", message: message)
    }

    // MARK: Linking from the self-service API

    /// Links the upstream account to the user of the ticket's token; the user's other sessions end.
    func finishLink(_ context: ProviderContext, _ record: ProviderSignInRecord, _ upstream: UpstreamProvider,
                    _ claims: UpstreamClaims) async throws -> Outcome {
        let now = clock.now()
        try await records.writeRefusable { tx in
            guard let user = try tx.user(id: record.userID ?? ""), user.status == .active else { throw DomainError.notFound("user") }
            _ = try AccountLinking.link(tx, user: user, provider: upstream, subject: claims.subject, email: claims.email,
                                        Self.linkingContext(context, record.sessionID), now: now)
        }
        let location = record.returnURI.map { $0 + ($0.contains("?") ? "&" : "?") + OAuthParameters.encode([("provider_linked", upstream.id)]) }
        return .linkFinished(location: location, message: "\(upstream.name) is now linked to your account.", linked: true)
    }

    static func linkFailure(_ record: ProviderSignInRecord, _ error: any Error) -> Outcome {
        let message: String
        if let domain = error as? DomainError {
            message = domain.description
        } else {
            let oauth = OAuthError.wrap(error)
            message = oauth.code == .serverError ? "the link could not be completed" : oauth.message
        }
        let location = record.returnURI.map {
            $0 + ($0.contains("?") ? "&" : "?") + OAuthParameters.encode([("error", "access_denied"), ("error_description", message)])
        }
        return .linkFinished(location: location, message: message, linked: false)
    }

    // MARK: Shared

    static func belongs(_ record: ProviderSignInRecord, _ context: ProviderContext) -> Bool {
        record.workspaceID == context.workspace.id && record.projectID == context.project.id && record.environment == context.environment
    }

    static func linkingContext(_ context: ProviderContext, _ sessionID: String?) -> AccountLinking.Context {
        AccountLinking.Context(workspaceID: context.workspace.id, projectID: context.project.id, environment: context.environment, sessionID: sessionID)
    }

    static func resumeLocation(_ context: ProviderContext, _ authz: String) throws(OAuthError) -> String {
        context.endpoint("/authorize?") + (try AuthorizationRequestValidator.removingPrompt(authz, ["login", "select_account"]))
    }

    /// Refusals a person can act on go back to the login page; a broken request is an error page.
    static func failure(_ error: any Error, authz: String) -> Outcome {
        if let domain = error as? DomainError { return .failed(message: domain.description, authz: authz) }
        let oauth = OAuthError.wrap(error)
        if (oauth.code == .accessDenied || oauth.code == .temporarilyUnavailable), !authz.isEmpty {
            return .failed(message: oauth.message, authz: authz)
        }
        return .errorPage(oauth)
    }
}
