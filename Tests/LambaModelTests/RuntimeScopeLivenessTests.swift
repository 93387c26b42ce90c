import Foundation
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// docs/sessions-and-scopes.md#liveness has one rule, `RuntimeScopeLiveness`; the store's one-query
/// form (`runtimeScopeIsLive`, used by the refresh and code grants' writes) must answer exactly as
/// the rule does, on both stores, for every record the rule reads being live or ended.
@Suite("Runtime scope liveness: the rule and the store's query agree")
struct RuntimeScopeLivenessTests {
    /// What ends (or does not end) the scope before both are asked.
    enum Change: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case none, scopeRevoked, sessionRevoked, userDeactivated, memberRemoved, neverAMember, projectDeactivated, workspaceDeactivated
        var testDescription: String { rawValue }
    }

    @Test("the rule and the query agree", arguments: Backend.underTest, Change.allCases)
    func test_storeQuery_answersAsTheRule(_ backend: Backend, _ change: Change) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("live-\(change.rawValue.lowercased().prefix(20))")
            let other = try await world.project("other-\(change.rawValue.lowercased().prefix(20))")
            let user = try await world.user("\(change.rawValue.lowercased())@example.com")
            if change != .neverAMember {
                _ = try await world.members.admitExistingUser(world.owner, projectID: project.id, email: user.email, roles: nil)
            }
            let scope = try await world.runtimeScope(userID: user.id, projectID: project.id)
            let now = Date()
            try await world.identity.write { tx in
                switch change {
                case .none, .neverAMember: break
                case .scopeRevoked: _ = try tx.revokeRuntimeScopes(.scope(id: scope.id), reason: "test", at: now)
                case .sessionRevoked:
                    guard var session = try tx.identitySession(id: scope.sessionID) else { throw SetupError(description: "no session") }
                    session.revokedAt = now
                    try tx.update(session)
                case .userDeactivated:
                    guard var stored = try tx.user(id: user.id) else { throw SetupError(description: "no user") }
                    stored.status = .deactivated
                    try tx.update(stored)
                case .memberRemoved:
                    guard var member = try tx.projectMember(projectID: project.id, userID: user.id) else { throw SetupError(description: "no member") }
                    member.status = .removed
                    try tx.update(member)
                case .projectDeactivated:
                    guard var stored = try tx.project(id: project.id, workspaceID: project.workspaceID) else { throw SetupError(description: "no project") }
                    stored.status = .deactivated
                    try tx.update(stored)
                case .workspaceDeactivated:
                    guard var workspace = try tx.workspace(id: project.workspaceID) else { throw SetupError(description: "no workspace") }
                    workspace.status = .deactivated
                    try tx.update(workspace)
                }
            }
            let stranger = try await world.user("stranger-\(change.rawValue.lowercased())@example.com")
            let questions: [(userID: String, projectID: String, environment: LambaModel.Environment)] = [
                (user.id, project.id, .sandbox), (stranger.id, project.id, .sandbox), (user.id, other.id, .sandbox), (user.id, project.id, .production),
            ]
            for question in questions {
                let (rule, query) = try await world.identity.read { tx in
                    let rule = try RuntimeScopeLiveness.check(tx, scopeID: scope.id, userID: question.userID, projectID: question.projectID,
                                                              environment: question.environment)
                    let query = try tx.runtimeScopeIsLive(id: scope.id, userID: question.userID, projectID: question.projectID,
                                                          environment: question.environment)
                    return ((try? rule.get()) != nil, query)
                }
                #expect(rule == query, "\(change): rule \(rule), query \(query) for \(question)")
            }
            // The one question whose answer is yes only without a change.
            let live = try await world.identity.read { tx in
                try tx.runtimeScopeIsLive(id: scope.id, userID: user.id, projectID: project.id, environment: .sandbox)
            }
            #expect(live == (change == .none))
        }
    }
}
