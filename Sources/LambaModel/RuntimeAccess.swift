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

    /// Decides for a user in a runtime scope: the scope must be live (`RuntimeScopeLiveness`), then
    /// one of the member's roles must grant the permission.
    public static func decide(_ tx: any RuntimeScopeLiveness.Records, scopeID: String, userID: String, projectID: String,
                              environment: Environment, permission: String) throws -> Decision {
        switch try RuntimeScopeLiveness.check(tx, scopeID: scopeID, userID: userID, projectID: projectID, environment: environment) {
        case .failure(let ended):
            return Decision(allowed: false, reason: ended.rawValue, roles: [])
        case .success(let live):
            let catalog = try tx.roles(projectID: projectID)
            let granted = catalog.filter { live.member.roles.contains($0.name) }.contains { $0.grants(permission) }
            return Decision(allowed: granted, reason: granted ? "granted" : "permission_not_granted", roles: live.member.roles)
        }
    }
}
