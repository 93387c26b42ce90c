public import Foundation

/// The builder-owned operating boundary: billing, plan limits, custom domains, security posture,
/// team and audit (docs/access-model.md#boundaries).
public struct Workspace: Sendable, Codable, Hashable {
    public var id: String
    public var slug: String
    public var name: String
    public var plan: Plan
    public var status: LifecycleStatus
    public var securityPosture: SecurityPosture
    public var customDomains: [String]
    /// The address the Workspace's mail comes from (docs/account-recovery.md#mail-outbox); nil is the
    /// server's `LAMBA_MAIL_FROM`. The SMTP relay must be allowed to send for its domain.
    public var mailFrom: String?
    public var createdAt: Date

    public init(id: String = EntityID.generate(.workspace), slug: String, name: String, plan: Plan = .free, createdAt: Date = Date()) {
        self.id = id
        self.slug = slug
        self.name = name
        self.plan = plan
        self.status = .active
        self.securityPosture = SecurityPosture()
        self.customDomains = []
        self.createdAt = createdAt
    }
}

/// A plan and the limits it enforces.
public enum Plan: String, Sendable, Codable, CaseIterable, Hashable {
    case free
    case pro
    case enterprise

    public var limits: PlanLimits {
        switch self {
        case .free: PlanLimits(projects: 3, teamMembers: 5, projectMembersPerProject: 1_000)
        case .pro: PlanLimits(projects: 25, teamMembers: 50, projectMembersPerProject: 100_000)
        case .enterprise: PlanLimits(projects: 500, teamMembers: 1_000, projectMembersPerProject: 10_000_000)
        }
    }
}

public struct PlanLimits: Sendable, Codable, Hashable {
    public var projects: Int
    public var teamMembers: Int
    public var projectMembersPerProject: Int
}

/// Workspace-wide security settings. A forced logout ends every identity session and runtime scope
/// that started before `sessionsValidAfter`.
public struct SecurityPosture: Sendable, Codable, Hashable {
    /// Sessions authenticated before this instant are no longer valid (forced logout).
    public var sessionsValidAfter: Date?
    /// Longest life of an identity session, in seconds.
    public var sessionMaxAgeSeconds: Int

    public init(sessionsValidAfter: Date? = nil, sessionMaxAgeSeconds: Int = 14 * 24 * 3600) {
        self.sessionsValidAfter = sessionsValidAfter
        self.sessionMaxAgeSeconds = sessionMaxAgeSeconds
    }
}

/// Workspace roles of Team Members: console capabilities across the whole Workspace.
public enum WorkspaceRole: String, Sendable, Codable, CaseIterable, Hashable {
    case owner
    case admin
    case developer
    case billing
    case viewer
}

/// Console roles a Team Member may hold inside one Project.
public enum ProjectConsoleRole: String, Sendable, Codable, CaseIterable, Hashable {
    case admin
    case developer
    case viewer
}
