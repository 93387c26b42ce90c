public import Foundation
public import LambaJOSE
public import LambaModel

/// Settings of the OpenID Provider that are the same for every Project environment.
public struct ProviderConfiguration: Sendable {
    /// `https://auth.example.com` (no trailing slash); issuers are `{base}/p/{slug}/{environment}`.
    public var publicBaseURL: String
    public var masterKey: MasterKey
    /// Key for CSRF tokens (HMAC); derived from the master key unless given.
    public var csrfKey: [UInt8]
    /// The one clock of the engine; tests move it.
    public var clock: WallClock
    /// Outbound HTTP to social providers; without it, social sign-in answers temporarily_unavailable.
    public var upstreamHTTP: (any UpstreamHTTPClient)?
    /// Abuse limits of dynamic client registration.
    public var registrationLimits = ClientRegistrationLimits()

    public init(publicBaseURL: String, masterKey: MasterKey, csrfKey: [UInt8]? = nil, now: @escaping @Sendable () -> Date = { Date() },
                upstreamHTTP: (any UpstreamHTTPClient)? = nil) {
        self.upstreamHTTP = upstreamHTTP
        var base = publicBaseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.publicBaseURL = base
        self.masterKey = masterKey
        self.csrfKey = csrfKey ?? Digest.hmac(.sha256, key: Array(masterKey.encoded.utf8), data: Array("lamba csrf v1".utf8))
        self.clock = WallClock(now)
    }

    /// Whether cookies get `Secure` (the public URL is https).
    public var secureCookies: Bool { publicBaseURL.lowercased().hasPrefix("https://") }
}

/// One Project environment seen as an OpenID Provider: what every endpoint starts from.
public struct ProviderContext: Sendable {
    public let workspace: Workspace
    public let project: Project
    public let environment: Environment
    public let settings: EnvironmentSettings
    /// `{base}/p/{slug}/{environment}`, exactly as in `iss`.
    public let issuer: String

    public func endpoint(_ path: String) -> String { issuer + path }

    /// Whether the client is registered in this Project environment (another environment's is unknown here).
    func owns(_ client: OAuthClient) -> Bool { client.projectID == project.id && client.environment == environment }
}

/// The OpenID Provider engine, assembled once: it resolves issuers and holds every endpoint, each
/// built here with the few storage slices, caches and keys it uses (its fields say which records it
/// may touch). Framework-free; the server maps HTTP to the endpoints and their outcomes back to HTTP.
public final class OpenIDProvider: Sendable {
    public let configuration: ProviderConfiguration
    public let keys: SigningKeyRing
    let issuers: IssuerDirectory

    public let discovery: Discovery
    public let authorization: AuthorizationEndpoint
    public let token: TokenEndpoint
    public let userInfo: UserInfoEndpoint
    public let revocation: TokenRevocation
    public let introspection: TokenIntrospection
    public let accessCheck: AccessCheck
    public let effectiveAuthorization: EffectiveAuthorizationEndpoint
    public let accountRecovery: AccountRecoveryInteraction
    public let logout: RPInitiatedLogout
    public let registration: DynamicClientRegistrationEndpoint
    public let clientConfiguration: ClientConfigurationEndpoint
    public let interaction: HostedInteraction
    public let socialSignIn: SocialSignIn
    public let selfService: AccountSelfService
    public let secondFactors: SecondFactors
    public let passkeys: PasskeyCeremonies
    public let tokens: TokenIssuer
    public let accessTokens: AccessTokenValidator
    public let clientAuthentication: ClientAuthentication

    public init(configuration: ProviderConfiguration, store: any OAuthStore) {
        let clock = configuration.clock
        let caches = ProviderCaches(versions: store.versions)
        let keys = SigningKeyRing(store: store, masterKey: configuration.masterKey, clock: clock)
        let clients = RegisteredClients(records: Transactions(store) { $0 }, cache: caches.clients)
        let csrf = CSRFProtection(key: configuration.csrfKey)
        let validator = AuthorizationRequestValidator(clients: clients)
        let runtimeScopes = RuntimeScopes(records: Transactions(store) { $0 }, liveness: caches.runtimeStates, clock: clock)
        let tokens = TokenIssuer(keys: keys, clock: clock)
        let accessTokens = AccessTokenValidator(keys: keys, records: Transactions(store) { $0 }, verified: caches.verifiedAccessTokens,
                                                states: caches.tokenStates, clock: clock)
        let clientAuthentication = ClientAuthentication(clients: clients, assertions: Transactions(store) { $0 }, clock: clock)
        let socialSignIn = SocialSignIn(validator: validator, csrf: csrf, records: Transactions(store) { $0 }, upstreamHTTP: configuration.upstreamHTTP,
                                        masterKey: configuration.masterKey, upstreamKeys: caches.upstreamKeys, clock: clock)
        self.configuration = configuration
        self.keys = keys
        self.issuers = IssuerDirectory(records: Transactions(store) { $0 }, cache: caches.contexts, publicBaseURL: configuration.publicBaseURL,
                                       synchronize: { try await store.synchronizeVersions() })
        self.tokens = tokens
        self.accessTokens = accessTokens
        self.clientAuthentication = clientAuthentication
        self.socialSignIn = socialSignIn
        discovery = Discovery(keys: keys, clients: Transactions(store) { $0 })
        authorization = AuthorizationEndpoint(validator: validator, sessions: Transactions(store) { $0 }, codes: Transactions(store) { $0 },
                                              runtimeScopes: runtimeScopes, clock: clock)
        token = TokenEndpoint(clientAuthentication: clientAuthentication, grants: [
            "authorization_code": AuthorizationCodeGrant(codes: Transactions(store) { $0 }, tokens: tokens,
                                                         issuedRefreshTokens: caches.issuedRefreshTokens, clock: clock),
            "refresh_token": RefreshTokenGrant(refreshTokens: Transactions(store) { $0 }, runtimeScopes: runtimeScopes, tokens: tokens,
                                               issuedRefreshTokens: caches.issuedRefreshTokens, clock: clock),
            "client_credentials": ClientCredentialsGrant(tokens: tokens),
        ])
        userInfo = UserInfoEndpoint(accessTokens: accessTokens)
        revocation = TokenRevocation(clientAuthentication: clientAuthentication, accessTokens: accessTokens, records: Transactions(store) { $0 },
                                     clock: clock)
        introspection = TokenIntrospection(clientAuthentication: clientAuthentication, accessTokens: accessTokens,
                                           records: Transactions(store) { $0 }, clock: clock)
        accessCheck = AccessCheck(clientAuthentication: clientAuthentication, accessTokens: accessTokens, records: Transactions(store) { $0 },
                                  decisions: caches.decisions)
        effectiveAuthorization = EffectiveAuthorizationEndpoint(accessTokens: accessTokens, records: Transactions(store) { $0 }, clock: clock)
        logout = RPInitiatedLogout(keys: keys, clients: clients, sessions: Transactions(store) { $0 }, csrf: csrf, clock: clock)
        registration = DynamicClientRegistrationEndpoint(records: Transactions(store) { $0 }, keys: keys, limits: configuration.registrationLimits,
                                                         clock: clock)
        clientConfiguration = ClientConfigurationEndpoint(records: Transactions(store) { $0 }, keys: keys, clock: clock)
        accountRecovery = AccountRecoveryInteraction(store: store.identity, csrf: csrf, clock: clock)
        let secondFactors = SecondFactors(store: store.identity, masterKey: configuration.masterKey, clock: clock)
        self.secondFactors = secondFactors
        let passkeys = PasskeyCeremonies(store: store.identity, masterKey: configuration.masterKey, clock: clock)
        self.passkeys = passkeys
        interaction = HostedInteraction(validator: validator, records: Transactions(store) { $0 }, runtimeScopes: runtimeScopes,
                                        members: MemberLifecycle(store: store.identity, clock: clock), recovery: accountRecovery,
                                        secondFactors: secondFactors, passkeys: passkeys, csrf: csrf, clock: clock)
        selfService = AccountSelfService(accessTokens: accessTokens, clients: clients, records: Transactions(store) { $0 }, socialSignIn: socialSignIn,
                                         secondFactors: secondFactors, passkeys: passkeys, recovery: AccountRecovery(store: store.identity, clock: clock),
                                         emailChange: EmailChange(store: store.identity, clock: clock), clock: clock)
    }

    public var now: Date { configuration.clock.now() }

    public func issuer(slug: String, environment: Environment) -> String { issuers.issuer(slug: slug, environment: environment) }

    /// The Project environment behind `/p/{slug}/{environment}`. Unknown or deactivated Workspaces
    /// and Projects answer `not_found` (404).
    public func context(slug: String, environment: String) async throws(OAuthError) -> ProviderContext {
        try await issuers.context(slug: slug, environment: environment)
    }
}

/// The issuers of every Project environment, `{base}/p/{slug}/{environment}`, resolved through a
/// cache that holds while the Projects, Workspaces and environment settings do not change.
struct IssuerDirectory: Sendable {
    let records: Transactions<any TenantReader>
    let cache: TableCache<String, ProviderContext>
    let publicBaseURL: String
    /// Catches the caches up with every change committed before this request, by any process
    /// (docs/deployment.md#caches): run once per request, before its first cached read.
    let synchronize: @Sendable () async throws -> Void

    func issuer(slug: String, environment: Environment) -> String {
        "\(publicBaseURL)/p/\(slug)/\(environment.rawValue)"
    }

    func context(slug: String, environment: String) async throws(OAuthError) -> ProviderContext {
        guard let environment = Environment(rawValue: environment), slug.utf8.count <= 64 else {
            throw OAuthError(.notFound, "no such issuer")
        }
        let issuer = self.issuer(slug: slug, environment: environment)
        do { try await synchronize() } catch { throw OAuthError.wrap(error) }
        let records = records
        let context = try await cache.value(issuer) { () throws(OAuthError) -> ProviderContext? in
            let context = try await records.read { tx -> ProviderContext in try Self.context(tx, slug: slug, environment: environment, issuer: issuer) }
            return context
        }
        guard let context else { throw OAuthError(.notFound, "no such issuer") }
        return context
    }

    static func context(_ tx: any TenantReader, slug: String, environment: Environment, issuer: String) throws -> ProviderContext {
        guard let project = try tx.project(slug: slug), project.status == .active,
            let workspace = try tx.workspace(id: project.workspaceID), workspace.status == .active
        else { throw OAuthError(.notFound, "no such issuer") }
        let settings = try tx.environmentSettings(projectID: project.id, environment: environment)
            ?? EnvironmentSettings(projectID: project.id, environment: environment)
        return ProviderContext(workspace: workspace, project: project, environment: environment, settings: settings, issuer: issuer)
    }
}

