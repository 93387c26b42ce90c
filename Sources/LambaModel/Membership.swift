public import Foundation

/// A Lamba User: one person across every Workspace and Project (docs/access-model.md#boundaries).
public struct LambaUser: Sendable, Codable, Hashable {
    public var id: String
    public var email: String
    public var emailVerified: Bool
    public var name: String
    /// Argon2id PHC string; nil for users who sign in only through providers.
    public var passwordHash: String?
    public var status: LifecycleStatus
    public var createdAt: Date

    public init(id: String = EntityID.generate(.user), email: String, emailVerified: Bool = false, name: String, passwordHash: String? = nil, createdAt: Date = Date()) {
        self.id = id
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
        self.passwordHash = passwordHash
        self.status = .active
        self.createdAt = createdAt
    }
}

/// Console access: a user's Workspace role and optional Project console roles. Never runtime access.
public struct TeamMember: Sendable, Codable, Hashable {
    public var id: String
    public var workspaceID: String
    public var userID: String
    public var workspaceRole: WorkspaceRole
    /// Project id → console role in that Project.
    public var projectConsoleRoles: [String: ProjectConsoleRole]
    public var createdAt: Date

    public init(id: String = EntityID.generate(.teamMember), workspaceID: String, userID: String, workspaceRole: WorkspaceRole,
                projectConsoleRoles: [String: ProjectConsoleRole] = [:], createdAt: Date = Date()) {
        self.id = id
        self.workspaceID = workspaceID
        self.userID = userID
        self.workspaceRole = workspaceRole
        self.projectConsoleRoles = projectConsoleRoles
        self.createdAt = createdAt
    }
}

/// Runtime access: a user's Project roles from the Project's catalog. Never console access.
public struct ProjectMember: Sendable, Codable, Hashable {
    public var id: String
    public var workspaceID: String
    public var projectID: String
    public var userID: String
    public var roles: [String]
    public var status: MemberStatus
    public var joinedVia: JoinPath
    public var createdAt: Date
    public var updatedAt: Date

    public enum MemberStatus: String, Sendable, Codable, Hashable {
        case active
        case removed
    }

    /// How the person entered the Project (docs/access-model.md#member-lifecycle).
    public enum JoinPath: String, Sendable, Codable, Hashable {
        case invite
        case publicJoin = "public_join"
        case register
        case `operator`
    }

    public init(id: String = EntityID.generate(.projectMember), workspaceID: String, projectID: String, userID: String, roles: [String],
                joinedVia: JoinPath, createdAt: Date = Date()) {
        self.id = id
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.userID = userID
        self.roles = roles
        self.status = .active
        self.joinedVia = joinedVia
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }
}

/// An invitation: to the team (Workspace role and optional Project console roles) or to a Project
/// (a Project role, `viewer` when none is chosen). The token is shown once; its hash is stored.
public struct Invite: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, Hashable {
        case team
        case project
    }

    public var id: String
    public var kind: Kind
    public var workspaceID: String
    public var projectID: String?
    public var email: String
    public var workspaceRole: WorkspaceRole?
    public var projectConsoleRoles: [String: ProjectConsoleRole]
    public var projectRole: String?
    public var tokenHash: String
    public var invitedBy: String
    public var createdAt: Date
    public var expiresAt: Date
    public var acceptedAt: Date?
    public var revokedAt: Date?

    public var isOpen: Bool { acceptedAt == nil && revokedAt == nil }

    /// Where the invite stands; all an operator learns about the invitee before they accept.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case pending
        case accepted
        case revoked
        case expired
    }

    public func status(at date: Date = Date()) -> Status {
        if acceptedAt != nil { return .accepted }
        if revokedAt != nil { return .revoked }
        return expiresAt > date ? .pending : .expired
    }

    public init(id: String, kind: Kind, workspaceID: String, projectID: String?, email: String, workspaceRole: WorkspaceRole?, projectConsoleRoles: [String: ProjectConsoleRole], projectRole: String?, tokenHash: String, invitedBy: String, createdAt: Date, expiresAt: Date, acceptedAt: Date?, revokedAt: Date?) {
        self.id = id
        self.kind = kind
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.email = email
        self.workspaceRole = workspaceRole
        self.projectConsoleRoles = projectConsoleRoles
        self.projectRole = projectRole
        self.tokenHash = tokenHash
        self.invitedBy = invitedBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.acceptedAt = acceptedAt
        self.revokedAt = revokedAt
    }
}

/// A Workspace API key for the console API and CLI: acts with a Workspace role, stored hashed.
public struct APIKey: Sendable, Codable, Hashable {
    public var id: String
    public var workspaceID: String
    public var name: String
    public var role: WorkspaceRole
    public var secretHash: String
    /// The first characters of the key, shown in listings so people can tell keys apart.
    public var displayPrefix: String
    public var createdBy: String?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, workspaceID: String, name: String, role: WorkspaceRole, secretHash: String, displayPrefix: String, createdBy: String?, createdAt: Date, revokedAt: Date?) {
        self.id = id
        self.workspaceID = workspaceID
        self.name = name
        self.role = role
        self.secretHash = secretHash
        self.displayPrefix = displayPrefix
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
