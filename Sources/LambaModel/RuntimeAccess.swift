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

    /// Decides for a user in a runtime scope. The scope must be active and belong to the Project.
    public static func decide(_ tx: any IdentityReader, scopeID: String, userID: String, projectID: String, permission: String) throws -> Decision {
        guard let scope = try tx.runtimeScope(id: scopeID), scope.userID == userID, scope.projectID == projectID, scope.isActive else {
            return Decision(allowed: false, reason: "scope_revoked", roles: [])
        }
        guard let project = try tx.project(id: projectID, workspaceID: scope.workspaceID), project.status == .active else {
            return Decision(allowed: false, reason: "project_deactivated", roles: [])
        }
        guard let workspace = try tx.workspace(id: project.workspaceID), workspace.status == .active else {
            return Decision(allowed: false, reason: "workspace_deactivated", roles: [])
        }
        guard let user = try tx.user(id: userID), user.status == .active else {
            return Decision(allowed: false, reason: "user_deactivated", roles: [])
        }
        guard let member = try tx.projectMember(projectID: projectID, userID: userID) else {
            return Decision(allowed: false, reason: "not_a_member", roles: [])
        }
        guard member.status == .active else { return Decision(allowed: false, reason: "membership_removed", roles: []) }
        let catalog = try tx.roles(projectID: projectID)
        let granted = catalog.filter { member.roles.contains($0.name) }.contains { $0.grants(permission) }
        return Decision(allowed: granted, reason: granted ? "granted" : "permission_not_granted", roles: member.roles)
    }
}
