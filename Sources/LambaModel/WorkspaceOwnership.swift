/// No lockout by one call (docs/access-model.md#owner-credentials). A Workspace keeps, after every
/// revocation, demotion or removal:
///
/// - at least one owner Team Member, so that the Workspace belongs to a person; and
/// - at least one active owner API key, because the console API admits callers by Workspace API
///   key only: an owner Team Member cannot mint a new key without one, so revoking the last owner
///   key would leave nobody able to administer the Workspace, whatever Team Members it has.
///
/// Both are checked inside the write transaction that makes the change, after taking the
/// Workspace's lock, so two concurrent calls cannot each see the other's credential and leave none.
enum WorkspaceOwnership {
    /// The owner credential a change takes away.
    enum Loss {
        case apiKey(id: String)
        case teamMember(id: String)
    }

    /// - Throws: `DomainError.refused` (409) when the change would leave no owner of its kind.
    static func requireOwnersRemain(_ tx: any IdentityWriter, workspaceID: String, after loss: Loss) throws {
        try tx.lockWorkspace(id: workspaceID)
        switch loss {
        case .apiKey(let id):
            guard try tx.apiKeys(workspaceID: workspaceID).contains(where: { $0.role == .owner && $0.revokedAt == nil && $0.id != id }) else {
                throw DomainError.refused("this is the workspace's last active owner API key: create another owner key before revoking it")
            }
        case .teamMember(let id):
            guard try tx.teamMembers(workspaceID: workspaceID).contains(where: { $0.workspaceRole == .owner && $0.id != id }) else {
                throw DomainError.refused("this is the workspace's last owner Team Member: make another member owner first")
            }
        }
    }
}
