public import Foundation

/// Whether a runtime scope still grants access (docs/sessions-and-scopes.md#liveness): the scope is
/// not revoked and belongs to this user, Project and environment; the Project and its Workspace are
/// active; the user is active; their Project membership is active; the identity session behind the
/// scope was not revoked. Read now, never from a token's claims. Every consumer asks this one rule:
/// the token grants, userinfo, introspection and the access decision; the store's one-query form
/// (`SessionReader.runtimeScopeIsLive`) is held to it by the store contract tests.
public enum RuntimeScopeLiveness {
    /// Why a scope no longer grants access; the raw values are the access decision's reasons.
    public enum Ended: String, Error, Sendable, Hashable {
        case scopeRevoked = "scope_revoked"
        case projectDeactivated = "project_deactivated"
        case workspaceDeactivated = "workspace_deactivated"
        case userDeactivated = "user_deactivated"
        case notAMember = "not_a_member"
        case membershipRemoved = "membership_removed"
    }

    public struct Live: Sendable {
        public let scope: RuntimeScope
        public let user: LambaUser
        public let member: ProjectMember
    }

    public typealias Records = UserReader & TenantReader & MembershipReader & SessionReader

    /// Every kind of record the rule reads: a cached answer holds only while none of them changes.
    public static let reads: [RecordKind] = [.runtimeScopes, .identitySessions, .projects, .workspaces, .users, .projectMembers]

    /// - Throws: the store's errors.
    public static func check(_ tx: any Records, scopeID: String, userID: String, projectID: String,
                             environment: Environment) throws -> Result<Live, Ended> {
        guard let scope = try tx.runtimeScope(id: scopeID), scope.isActive, scope.userID == userID, scope.projectID == projectID,
            scope.environment == environment
        else { return .failure(.scopeRevoked) }
        if let session = try tx.identitySession(id: scope.sessionID), session.revokedAt != nil { return .failure(.scopeRevoked) }
        guard let project = try tx.project(id: projectID, workspaceID: scope.workspaceID), project.status == .active else {
            return .failure(.projectDeactivated)
        }
        guard let workspace = try tx.workspace(id: project.workspaceID), workspace.status == .active else {
            return .failure(.workspaceDeactivated)
        }
        guard let user = try tx.user(id: userID), user.status == .active else { return .failure(.userDeactivated) }
        guard let member = try tx.projectMember(projectID: projectID, userID: userID) else { return .failure(.notAMember) }
        guard member.status == .active else { return .failure(.membershipRemoved) }
        return .success(Live(scope: scope, user: user, member: member))
    }
}
