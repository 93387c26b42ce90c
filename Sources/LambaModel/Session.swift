public import Foundation

/// The global identity session of a browser or device on a Workspace's auth host
/// (docs/sessions-and-scopes.md#identity-session). The cookie holds a random token; only its hash is
/// stored.
public struct IdentitySession: Sendable, Codable, Hashable {
    public var id: String
    public var workspaceID: String
    public var userID: String
    public var tokenHash: String
    /// When the user last authenticated (OIDC `auth_time`).
    public var authTime: Date
    /// Authentication methods used (RFC 8176 `amr`), e.g. `pwd`.
    public var amr: [String]
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    public var revokeReason: String?
    /// How the user signed in (`password` or `provider:{id}`), so that a change of that method
    /// reaches exactly the sessions it established (docs/sessions-and-scopes.md#sign-in-method-changed).
    /// Every sign-in records it (migration 21 gave earlier sessions `password`, then the only method);
    /// a session without one is ended by no login method change.
    public var signInMethod: AuthMethod?

    public func isActive(at now: Date, posture: SecurityPosture) -> Bool {
        guard revokedAt == nil, now < expiresAt else { return false }
        if let cutoff = posture.sessionsValidAfter, authTime <= cutoff { return false }
        return true
    }

    public init(id: String, workspaceID: String, userID: String, tokenHash: String, authTime: Date, amr: [String], createdAt: Date, expiresAt: Date,
                revokedAt: Date?, revokeReason: String?, signInMethod: AuthMethod? = nil) {
        self.signInMethod = signInMethod
        self.id = id
        self.workspaceID = workspaceID
        self.userID = userID
        self.tokenHash = tokenHash
        self.authTime = authTime
        self.amr = amr
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.revokeReason = revokeReason
    }
}

/// Project-scoped runtime access under an identity session (docs/sessions-and-scopes.md#runtime-scopes).
/// Tokens are bound to it by `sid`; revoking it ends every token of every client of the Project for this
/// session, and it never comes back by itself: the user must re-enter the Project.
public struct RuntimeScope: Sendable, Codable, Hashable {
    public var id: String
    public var sessionID: String
    public var userID: String
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    /// The OAuth client that opened the scope; recorded for audit only, never a revoke key.
    public var applicationID: String
    public var authTime: Date
    public var createdAt: Date
    public var revokedAt: Date?
    public var revokeReason: String?

    public var isActive: Bool { revokedAt == nil }

    public init(id: String, sessionID: String, userID: String, workspaceID: String, projectID: String, environment: Environment, applicationID: String, authTime: Date, createdAt: Date, revokedAt: Date?, revokeReason: String?) {
        self.id = id
        self.sessionID = sessionID
        self.userID = userID
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.applicationID = applicationID
        self.authTime = authTime
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.revokeReason = revokeReason
    }
}
