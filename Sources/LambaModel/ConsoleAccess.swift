public import Foundation

/// A person's sign-in to the console (docs/console-access.md#console-sessions). It is made when the
/// console, a first-party client of the console issuer, finishes an authorization code flow there,
/// and it stands only while the runtime scope that flow entered does. It carries no Workspace
/// capability of its own: in each Workspace the person's Team membership decides.
public struct ConsoleSession: Sendable, Hashable {
    public var id: String
    public var userID: String
    /// SHA-256 of the cookie value; the value itself is never stored.
    public var tokenHash: String
    /// The Workspace the person is working in, switched with `PUT /console/v1/session/workspace`.
    public var workspaceID: String?
    /// The console issuer's identity session and runtime scope behind this sign-in.
    public var identitySessionID: String
    public var runtimeScopeID: String
    public var createdAt: Date
    public var lastSeenAt: Date
    /// Ends after this long without a request (idle lifetime)…
    public var idleExpiresAt: Date
    /// …and at this instant whatever happens (absolute lifetime).
    public var expiresAt: Date
    public var revokedAt: Date?
    public var revokeReason: String?

    public init(id: String = EntityID.generate(.consoleSession), userID: String, tokenHash: String, workspaceID: String?, identitySessionID: String,
                runtimeScopeID: String, createdAt: Date, lifetimes: ConsoleSessionLifetimes) {
        self.id = id
        self.userID = userID
        self.tokenHash = tokenHash
        self.workspaceID = workspaceID
        self.identitySessionID = identitySessionID
        self.runtimeScopeID = runtimeScopeID
        self.createdAt = createdAt
        self.lastSeenAt = createdAt
        self.idleExpiresAt = createdAt.addingTimeInterval(lifetimes.idle)
        self.expiresAt = createdAt.addingTimeInterval(lifetimes.absolute)
        self.revokedAt = nil
        self.revokeReason = nil
    }

    public func isActive(at now: Date) -> Bool { revokedAt == nil && now < idleExpiresAt && now < expiresAt }
}

/// How long a console session lives (docs/console-access.md#console-sessions).
public struct ConsoleSessionLifetimes: Sendable, Hashable {
    public var idle: TimeInterval
    public var absolute: TimeInterval
    /// A request moves the idle expiry only when the last move is older than this, so that reading
    /// the console is not a write per request.
    public var touchInterval: TimeInterval

    public init(idle: TimeInterval = 2 * 3600, absolute: TimeInterval = 12 * 3600, touchInterval: TimeInterval = 60) {
        self.idle = idle
        self.absolute = absolute
        self.touchInterval = touchInterval
    }
}

/// A one-time console sign-in link (first run, `lamba admin sign-in-link`): shown once, stored as
/// its hash, spent by its first use.
public struct ConsoleSignInLink: Sendable, Hashable {
    public var tokenHash: String
    public var userID: String
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(tokenHash: String, userID: String, createdAt: Date, expiresAt: Date, usedAt: Date? = nil) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}

/// Who may create Workspaces on this installation (docs/console-access.md#many-workspaces).
public enum WorkspaceCreationPolicy: String, Sendable, Codable, CaseIterable, Hashable {
    /// Anyone signed in to the console; the console issuer also offers registration.
    case open
    /// People already let in by an invitation (a Team Member of some Workspace) and administrators.
    case inviteOnly = "invite_only"
    /// Installation administrators only.
    case administrators
}

/// The installation: the system Workspace whose Team Members administer it, the console Project
/// whose issuer people sign in to the console through, and the installation's settings.
public struct Installation: Sendable, Hashable {
    public var workspaceID: String
    public var consoleProjectID: String
    public var consoleClientID: String
    public var workspaceCreation: WorkspaceCreationPolicy

    public init(workspaceID: String, consoleProjectID: String, consoleClientID: String, workspaceCreation: WorkspaceCreationPolicy) {
        self.workspaceID = workspaceID
        self.consoleProjectID = consoleProjectID
        self.consoleClientID = consoleClientID
        self.workspaceCreation = workspaceCreation
    }

    /// Slugs the installation holds: no tenant may take them.
    public static let workspaceSlug = "lamba-installation"
    public static let consoleProjectSlug = "lamba-console"
}

public protocol ConsoleAccessReader {
    func installation() throws -> Installation?
    func consoleSession(tokenHash: String) throws -> ConsoleSession?
    func consoleSession(id: String) throws -> ConsoleSession?
    func consoleSignInLink(tokenHash: String) throws -> ConsoleSignInLink?
    /// When a Team Member's console sessions were last ended (a forced logout of that member).
    func consoleSessionsValidAfter(workspaceID: String, userID: String) throws -> Date?
}

public protocol ConsoleAccessWriter: ConsoleAccessReader {
    func insert(_ installation: Installation) throws
    func update(_ installation: Installation) throws
    func insert(_ session: ConsoleSession) throws
    func update(_ session: ConsoleSession) throws
    /// Ends the active console sessions of a user (nil: of anyone) whose selected Workspace is
    /// `workspaceID` (nil: any), returning them.
    func revokeConsoleSessions(userID: String?, workspaceID: String?, reason: String, at date: Date) throws -> [ConsoleSession]
    func insert(_ link: ConsoleSignInLink) throws
    func update(_ link: ConsoleSignInLink) throws
    func setConsoleSessionsValidAfter(workspaceID: String, userID: String, _ date: Date) throws
}
