/// The reads operators make through the console, each checked against the caller's capabilities and
/// scoped to the caller's Workspace: another tenant's ids are not found.

extension WorkspaceAdministration {
    public func workspace(_ caller: ConsoleCaller) async throws -> Workspace {
        try caller.require(.workspaceRead)
        return try await store.read { tx in
            guard let workspace = try tx.workspace(id: caller.workspaceID) else { throw DomainError.notFound("workspace") }
            return workspace
        }
    }

    /// Every key of the Workspace, revoked ones included (they explain past events); never secrets.
    public func apiKeys(_ caller: ConsoleCaller) async throws -> [APIKey] {
        try caller.require(.apiKeysManage)
        return try await store.read { tx in try tx.apiKeys(workspaceID: caller.workspaceID) }
    }
}

extension ProjectAdministration {
    /// The Projects the caller may see: all of them with a Workspace-wide read, else those where the
    /// caller holds a Project console role.
    public func projects(_ caller: ConsoleCaller) async throws -> [Project] {
        try await store.read { tx in
            try tx.projects(workspaceID: caller.workspaceID).filter { caller.canSee(projectID: $0.id) }
        }
    }

    public func project(_ caller: ConsoleCaller, projectID: String) async throws -> Project {
        try caller.require(.projectRead, inProject: projectID)
        return try await store.read { tx in
            guard let project = try tx.project(id: projectID, workspaceID: caller.workspaceID) else { throw DomainError.notFound("project \(projectID)") }
            return project
        }
    }

    public func environment(_ caller: ConsoleCaller, projectID: String, environment: Environment) async throws -> EnvironmentSettings {
        try caller.require(.projectRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil,
                let settings = try tx.environmentSettings(projectID: projectID, environment: environment)
            else { throw DomainError.notFound("project \(projectID)") }
            return settings
        }
    }

    /// The role catalog, built-ins first.
    public func roles(_ caller: ConsoleCaller, projectID: String) async throws -> [ProjectRole] {
        try caller.require(.rolesRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            return try tx.roles(projectID: projectID)
        }
    }
}

extension MemberLifecycle {
    /// A membership together with the person who holds it.
    public struct Listed<Member: Sendable>: Sendable {
        public var member: Member
        public var user: LambaUser
    }

    /// The team of the Workspace: console access only.
    public func teamMembers(_ caller: ConsoleCaller) async throws -> [Listed<TeamMember>] {
        try caller.require(.teamRead)
        return try await store.read { tx in
            try tx.teamMembers(workspaceID: caller.workspaceID).compactMap { member in
                try tx.user(id: member.userID).map { Listed(member: member, user: $0) }
            }
        }
    }

    /// The members of a Project: runtime access only. Removed members are listed on request.
    public func projectMembers(_ caller: ConsoleCaller, projectID: String, includeRemoved: Bool = false) async throws -> [Listed<ProjectMember>] {
        try caller.require(.membersRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            return try tx.projectMembers(projectID: projectID, includeRemoved: includeRemoved).compactMap { member in
                try tx.user(id: member.userID).map { Listed(member: member, user: $0) }
            }
        }
    }

    public func projectMember(_ caller: ConsoleCaller, projectID: String, memberID: String) async throws -> Listed<ProjectMember> {
        try caller.require(.membersRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil,
                let member = try tx.projectMember(id: memberID, projectID: projectID), let user = try tx.user(id: member.userID)
            else { throw DomainError.notFound("project member \(memberID)") }
            return Listed(member: member, user: user)
        }
    }
}
