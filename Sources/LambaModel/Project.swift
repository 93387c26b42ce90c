public import Foundation

/// A product inside a Workspace, with a `sandbox` and a `production` environment
/// (docs/access-model.md#boundaries).
public struct Project: Sendable, Codable, Hashable {
    public var id: String
    public var workspaceID: String
    /// Globally unique: it names the issuer, `/p/{slug}/{environment}`.
    public var slug: String
    public var name: String
    public var visibility: Visibility
    public var status: LifecycleStatus
    public var createdAt: Date
    /// How the hosted pages present the Project (docs/hosted-pages.md#branding); nil: Lamba's own look.
    public var branding: ProjectBranding?

    public enum Visibility: String, Sendable, Codable, Hashable {
        /// May allow discovery, public join and register, as each environment enables.
        case `public`
        /// Members come only by invitation or from operators.
        case `private`
    }

    public init(id: String = EntityID.generate(.project), workspaceID: String, slug: String, name: String, visibility: Visibility, createdAt: Date = Date()) {
        self.id = id
        self.workspaceID = workspaceID
        self.slug = slug
        self.name = name
        self.visibility = visibility
        self.status = .active
        self.createdAt = createdAt
    }
}

/// How people may sign in to a Project environment.
public enum AuthMethod: Sendable, Codable, Hashable, CustomStringConvertible {
    case password
    /// A passkey (WebAuthn) of the user, with user verification: no password typed.
    case passkey
    /// An upstream OpenID provider configured in the environment, by its id.
    case provider(String)

    public var description: String {
        switch self {
        case .password: "password"
        case .passkey: "passkey"
        case .provider(let id): "provider:\(id)"
        }
    }

    public init?(_ text: String) {
        if text == "password" {
            self = .password
        } else if text == "passkey" {
            self = .passkey
        } else if text.hasPrefix("provider:"), text.count > "provider:".count {
            self = .provider(String(text.dropFirst("provider:".count)))
        } else {
            return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let method = AuthMethod(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown auth method \(text)"))
        }
        self = method
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Open dynamic client registration (RFC 7591), off unless the environment enables it.
public enum DynamicClientRegistration: String, Sendable, Codable, Hashable {
    case off
    /// Only clients whose redirect URIs are loopback (127.0.0.1, [::1], localhost) may register;
    /// for conformance tools and local development in sandbox.
    case loopbackOnly = "loopback_only"
    case open
}

/// The per-environment settings of a Project: each environment is its own OpenID Provider.
public struct EnvironmentSettings: Sendable, Codable, Hashable {
    public var projectID: String
    public var environment: Environment
    public var authMethods: [AuthMethod]
    /// Public Projects only: anyone may join with a Lamba account.
    public var allowPublicJoin: Bool
    /// Public Projects only: anyone may create an account and join.
    public var allowRegister: Bool
    /// The Project role that join and register give (`viewer` unless configured).
    public var defaultJoinRole: String
    public var accessTokenLifetimeSeconds: Int
    public var idTokenLifetimeSeconds: Int
    public var refreshTokenLifetimeSeconds: Int
    public var authorizationCodeLifetimeSeconds: Int
    /// Access token signing algorithm (`ES256` by default); ID tokens may use others per client.
    public var accessTokenAlgorithm: String
    public var dynamicClientRegistration: DynamicClientRegistration
    /// Seconds after a refresh token's rotation in which presenting it once more yields a fresh
    /// successor (its unused one is revoked) instead of reuse detection, so a client whose answer
    /// was lost does not sign its user out; nil or 0 is off (the default). Optional so that
    /// settings stored before it existed still read.
    public var refreshTokenReuseGraceSeconds: Int?
    /// Whether a user must have verified their email before they enter the environment
    /// (docs/account-recovery.md#email-verification); nil is no. Optional so that older settings read.
    public var requireVerifiedEmail: Bool?
    /// Whether every sign-in must prove a second factor (docs/account-security.md#require-mfa);
    /// users without one set an authenticator app up on their next sign-in. Nil is no.
    public var requireMFA: Bool?

    /// The largest grace an environment may set: a retry window, not a second life for a token.
    public static let maximumRefreshTokenReuseGraceSeconds = 120

    public init(projectID: String, environment: Environment) {
        self.projectID = projectID
        self.environment = environment
        self.authMethods = [.password]
        self.allowPublicJoin = false
        self.allowRegister = false
        self.defaultJoinRole = ProjectRole.viewer
        self.accessTokenLifetimeSeconds = 600
        self.idTokenLifetimeSeconds = 600
        self.refreshTokenLifetimeSeconds = 30 * 24 * 3600
        self.authorizationCodeLifetimeSeconds = 60
        self.accessTokenAlgorithm = "ES256"
        self.dynamicClientRegistration = .off
    }
}
