public import Foundation

/// The server-side access decision (`POST /access/check`): runtime access comes only from Project
/// membership and the Project's role catalog, read now, never from token claims or console roles.
public struct RuntimeAccess: Sendable {
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// Machine-readable: `granted`, `scope_revoked`, `not_a_member`, `membership_removed`,
        /// `permission_not_granted`, `project_deactivated`, `workspace_deactivated`, `user_deactivated`.
        public var reason: String
        public var roles: [String]

        public init(allowed: Bool, reason: String, roles: [String]) {
            self.allowed = allowed
            self.reason = reason
            self.roles = roles
        }
    }

    /// What a live runtime scope's user may do in its Project now: the membership, the member's
    /// roles as the catalog defines them, and the permissions those roles grant.
    public struct Effective: Sendable, Equatable {
        public var member: ProjectMember
        public var roles: [ProjectRole]
        /// The union of the roles' permission strings, sorted; wildcards (`*`, `resource:*`) as written.
        public var permissions: [String]

        public func grants(_ permission: String) -> Bool { roles.contains { $0.grants(permission) } }
    }

    /// Resolves a user's access in a runtime scope from the records as they are now
    /// (`RuntimeScopeLiveness`, then the member's roles in the Project's catalog).
    public static func resolve(_ tx: any RuntimeScopeLiveness.Records, scopeID: String, userID: String, projectID: String,
                               environment: Environment) throws -> Result<Effective, RuntimeScopeLiveness.Ended> {
        switch try RuntimeScopeLiveness.check(tx, scopeID: scopeID, userID: userID, projectID: projectID, environment: environment) {
        case .failure(let ended):
            return .failure(ended)
        case .success(let live):
            let roles = try tx.roles(projectID: projectID).filter { live.member.roles.contains($0.name) }
            let permissions = Set(roles.flatMap(\.permissions)).sorted()
            return .success(Effective(member: live.member, roles: roles, permissions: permissions))
        }
    }

    /// Decides for a user in a runtime scope: the scope must be live, then one of the member's roles
    /// must grant the permission.
    public static func decide(_ tx: any RuntimeScopeLiveness.Records, scopeID: String, userID: String, projectID: String,
                              environment: Environment, permission: String) throws -> Decision {
        switch try resolve(tx, scopeID: scopeID, userID: userID, projectID: projectID, environment: environment) {
        case .failure(let ended):
            return Decision(allowed: false, reason: ended.rawValue, roles: [])
        case .success(let effective):
            let granted = effective.grants(permission)
            return Decision(allowed: granted, reason: granted ? "granted" : "permission_not_granted", roles: effective.member.roles)
        }
    }
}
