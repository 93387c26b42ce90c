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
    /// The clock; tests move it.
    public var now: @Sendable () -> Date
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
        self.now = now
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

/// The OpenID Provider engine: resolves issuers and holds the endpoints. Framework-free; the
/// server maps HTTP to the endpoint types and their outcomes back to HTTP.
public final class OpenIDProvider: Sendable {
    public let configuration: ProviderConfiguration
    public let store: any OAuthStore
    public let keys: SigningKeyRing
    let caches: ProviderCaches

    public init(configuration: ProviderConfiguration, store: any OAuthStore) {
        self.configuration = configuration
        self.store = store
        self.keys = SigningKeyRing(store: store, masterKey: configuration.masterKey, now: configuration.now)
        self.caches = ProviderCaches(versions: store.versions)
    }

    public var now: Date { configuration.now() }

    public func issuer(slug: String, environment: Environment) -> String {
        "\(configuration.publicBaseURL)/p/\(slug)/\(environment.rawValue)"
    }

    /// The Project environment behind `/p/{slug}/{environment}`. Unknown or deactivated Workspaces
    /// and Projects answer `not_found` (404).
    public func context(slug: String, environment: String) async throws(OAuthError) -> ProviderContext {
        guard let environment = Environment(rawValue: environment), slug.utf8.count <= 64 else {
            throw OAuthError(.notFound, "no such issuer")
        }
        let issuer = self.issuer(slug: slug, environment: environment)
        let store = store
        let context = try await caches.contexts.value(issuer) { () throws(OAuthError) -> ProviderContext? in
            do {
                return try await store.read { tx -> ProviderContext in
                    try Self.context(tx, slug: slug, environment: environment, issuer: issuer)
                }
            } catch {
                throw OAuthError.wrap(error)
            }
        }
        guard let context else { throw OAuthError(.notFound, "no such issuer") }
        return context
    }

    static func context(_ tx: any IdentityReader, slug: String, environment: Environment, issuer: String) throws -> ProviderContext {
        guard let project = try tx.project(slug: slug), project.status == .active,
            let workspace = try tx.workspace(id: project.workspaceID), workspace.status == .active
        else { throw OAuthError(.notFound, "no such issuer") }
        let settings = try tx.environmentSettings(projectID: project.id, environment: environment)
            ?? EnvironmentSettings(projectID: project.id, environment: environment)
        return ProviderContext(workspace: workspace, project: project, environment: environment, settings: settings, issuer: issuer)
    }

    /// Runs a body in a write transaction and maps anything but an OAuthError to `server_error`.
    func write<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws(OAuthError) -> T {
        do { return try await store.write(body) } catch { throw OAuthError.wrap(error) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any OAuthRecords) throws -> T) async throws(OAuthError) -> T {
        do { return try await store.read(body) } catch { throw OAuthError.wrap(error) }
    }

    /// The registered client of this Project environment, through the client cache; another
    /// environment's client is unknown.
    func client(id: String, in context: ProviderContext) async throws(OAuthError) -> OAuthClient? {
        guard id.utf8.count <= 128 else { return nil }
        let store = store
        let client = try await caches.clients.value(id) { () throws(OAuthError) -> OAuthClient? in
            do { return try await store.read { tx in try tx.client(id: id) } } catch { throw OAuthError.wrap(error) }
        }
        guard let client, context.owns(client) else { return nil }
        return client
    }

    /// The registered client of this Project environment; another environment's client is unknown.
    static func client(_ tx: any IdentityReader, id: String, in context: ProviderContext) throws -> OAuthClient? {
        guard id.utf8.count <= 128, let client = try tx.client(id: id), context.owns(client) else { return nil }
        return client
    }

    // MARK: Endpoints

    public var discovery: Discovery { Discovery(provider: self) }
    public var authorization: AuthorizationEndpoint { AuthorizationEndpoint(provider: self) }
    public var token: TokenEndpoint { TokenEndpoint(provider: self) }
    public var userInfo: UserInfoEndpoint { UserInfoEndpoint(provider: self) }
    public var revocation: TokenRevocation { TokenRevocation(provider: self) }
    public var introspection: TokenIntrospection { TokenIntrospection(provider: self) }
    public var accessCheck: AccessCheck { AccessCheck(provider: self) }
    public var logout: RPInitiatedLogout { RPInitiatedLogout(provider: self) }
    public var registration: DynamicClientRegistrationEndpoint { DynamicClientRegistrationEndpoint(provider: self) }
    public var interaction: HostedInteraction { HostedInteraction(provider: self) }
    public var socialSignIn: SocialSignIn { SocialSignIn(provider: self) }
    public var selfService: AccountSelfService { AccountSelfService(provider: self) }
    public var tokens: TokenIssuer { TokenIssuer(provider: self) }
    public var accessTokens: AccessTokenValidator { AccessTokenValidator(provider: self) }
    public var clientAuthentication: ClientAuthentication { ClientAuthentication(provider: self) }
}
