/// What console callers may do. Workspace roles grant capabilities across the Workspace; a Project
/// console role grants capabilities inside one Project. Neither says anything about runtime access,
/// which only Project roles of Project Members give (docs/access-model.md#no-fallback).
public enum ConsoleCapability: String, Sendable, CaseIterable, Hashable, Codable {
    case workspaceRead = "workspace:read"
    case workspaceManage = "workspace:manage"
    /// Deactivating and reactivating the Workspace: its owners only.
    case workspaceLifecycle = "workspace:lifecycle"
    case billingRead = "billing:read"
    case billingManage = "billing:manage"
    case teamRead = "team:read"
    case teamManage = "team:manage"
    case apiKeysManage = "api_keys:manage"
    case securityManage = "security:manage"
    case projectsCreate = "projects:create"
    case projectRead = "project:read"
    case projectManage = "project:manage"
    case clientsRead = "clients:read"
    case clientsManage = "clients:manage"
    case membersRead = "members:read"
    case membersManage = "members:manage"
    case rolesRead = "roles:read"
    case rolesManage = "roles:manage"
    case auditRead = "audit:read"
    case webhooksRead = "webhooks:read"
    case webhooksManage = "webhooks:manage"

    /// Capabilities that a Project console role may grant inside its Project.
    public static let projectScoped: Set<ConsoleCapability> = [
        .projectRead, .projectManage, .clientsRead, .clientsManage, .membersRead, .membersManage,
        .rolesRead, .rolesManage, .auditRead, .webhooksRead, .webhooksManage,
    ]
}

extension WorkspaceRole {
    /// The permission table of Workspace roles (documented in the console OpenAPI document).
    public var capabilities: Set<ConsoleCapability> {
        switch self {
        case .owner:
            Set(ConsoleCapability.allCases)
        case .admin:
            Set(ConsoleCapability.allCases).subtracting([.billingManage, .workspaceLifecycle])
        case .developer:
            [.workspaceRead, .teamRead, .projectsCreate, .projectRead, .projectManage, .clientsRead, .clientsManage,
             .membersRead, .rolesRead, .rolesManage, .webhooksRead, .webhooksManage, .auditRead]
        case .billing:
            [.workspaceRead, .billingRead, .billingManage]
        case .viewer:
            [.workspaceRead, .teamRead, .projectRead, .clientsRead, .membersRead, .rolesRead, .webhooksRead]
        }
    }
}

extension ProjectConsoleRole {
    /// The permission table of Project console roles, all inside one Project.
    public var capabilities: Set<ConsoleCapability> {
        switch self {
        case .admin:
            ConsoleCapability.projectScoped
        case .developer:
            [.projectRead, .clientsRead, .clientsManage, .membersRead, .rolesRead, .webhooksRead, .webhooksManage, .auditRead]
        case .viewer:
            [.projectRead, .clientsRead, .membersRead, .rolesRead, .webhooksRead]
        }
    }
}

/// Who is calling the console API, resolved from an API key or a console session.
public struct ConsoleCaller: Sendable, Hashable {
    /// The one who acts, as audit records name them (docs/console-access.md#audit).
    public enum Principal: Sendable, Hashable {
        /// A Lamba User: through a console session, or offline (the CLI on the database, first-run setup) without one.
        case user(id: String, consoleSessionID: String?)
        /// A Workspace API key, and the Lamba User (or key) that created it.
        case apiKey(id: String, createdBy: String?)
    }

    public var principal: Principal
    public var workspaceID: String
    public var workspaceRole: WorkspaceRole
    public var projectConsoleRoles: [String: ProjectConsoleRole]

    public init(principal: Principal, workspaceID: String, workspaceRole: WorkspaceRole, projectConsoleRoles: [String: ProjectConsoleRole] = [:]) {
        self.principal = principal
        self.workspaceID = workspaceID
        self.workspaceRole = workspaceRole
        self.projectConsoleRoles = projectConsoleRoles
    }

    /// An API key id (`key_…`) acts as that key; any other id as that Lamba User, without a console session.
    public init(actor: String, workspaceID: String, workspaceRole: WorkspaceRole, projectConsoleRoles: [String: ProjectConsoleRole] = [:]) {
        let principal: Principal = actor.hasPrefix(EntityKind.apiKey.rawValue + "_") ? .apiKey(id: actor, createdBy: nil) : .user(id: actor, consoleSessionID: nil)
        self.init(principal: principal, workspaceID: workspaceID, workspaceRole: workspaceRole, projectConsoleRoles: projectConsoleRoles)
    }

    /// The user id or the API key id: what events record as their actor.
    public var actor: String {
        switch principal {
        case .user(let id, _): id
        case .apiKey(let id, _): id
        }
    }

    /// The console session acting, when a person acts through one.
    public var consoleSessionID: String? {
        if case .user(_, let session) = principal { return session }
        return nil
    }

    /// Capabilities in `projectID` (or Workspace-wide when nil): the Workspace role's, plus the Project
    /// console role's for that Project.
    public func capabilities(inProject projectID: String?) -> Set<ConsoleCapability> {
        var capabilities = workspaceRole.capabilities
        if let projectID, let role = projectConsoleRoles[projectID] {
            capabilities.formUnion(role.capabilities)
        }
        return capabilities
    }

    public func require(_ capability: ConsoleCapability, inProject projectID: String? = nil) throws(DomainError) {
        guard capabilities(inProject: projectID).contains(capability) else {
            throw .forbidden("the caller's roles do not grant \(capability.rawValue)")
        }
    }

    /// Whether the caller may see a Project at all: a Workspace-wide read or a console role in it.
    /// Where `capability` reaches: nil when the Workspace role grants it everywhere, else the
    /// Projects whose console role grants it (perhaps none).
    public func projectsGranting(_ capability: ConsoleCapability) -> [String]? {
        if workspaceRole.capabilities.contains(capability) { return nil }
        return projectConsoleRoles.filter { $0.value.capabilities.contains(capability) }.keys.sorted()
    }

    public func canSee(projectID: String) -> Bool {
        capabilities(inProject: projectID).contains(.projectRead)
    }
}
