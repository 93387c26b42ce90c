import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// No single call locks a Workspace out: its last active owner API key cannot be revoked and its
/// last owner Team Member cannot be demoted or removed, also under concurrent calls
/// (docs/access-model.md#owner-credentials).
@Suite("owner credentials")
struct OwnerCredentialRuleTests {
    static let lastKey = DomainError.refused("this is the workspace's last active owner API key: create another owner key before revoking it")
    static let lastOwner = DomainError.refused("this is the workspace's last owner Team Member: make another member owner first")

    @Test("the last active owner API key cannot be revoked; other keys can", arguments: Backend.underTest)
    func lastOwnerKey_cannotBeRevoked(backend: Backend) async throws {
        try await World.with(backend) { world in
            await expectDomainError(Self.lastKey) { try await world.workspaces.revokeAPIKey(world.owner, keyID: world.boot.apiKey.id) }
            let (developer, _) = try await world.workspaces.createAPIKey(world.owner, name: "ci", role: .developer)
            try await world.workspaces.revokeAPIKey(world.owner, keyID: developer.id)
            let (second, _) = try await world.workspaces.createAPIKey(world.owner, name: "second owner", role: .owner)
            try await world.workspaces.revokeAPIKey(world.owner, keyID: world.boot.apiKey.id)
            #expect(try await world.workspaces.authenticate(apiKey: world.boot.apiKeySecret) == nil)
            let secondCaller = ConsoleCaller(actor: second.id, workspaceID: world.owner.workspaceID, workspaceRole: .owner)
            await expectDomainError(Self.lastKey) { try await world.workspaces.revokeAPIKey(secondCaller, keyID: second.id) }
            let active = try await world.workspaces.apiKeys(secondCaller).filter { $0.revokedAt == nil }.map(\.id)
            #expect(active == [second.id])
            // The refusal wrote nothing: the last event is the boot key's revocation.
            #expect(try await world.events().last?.type == "api_key.revoked")
        }
    }

    @Test("two concurrent revocations of the last two owner keys leave one", arguments: Backend.underTest)
    func concurrentRevocations_leaveOneOwnerKey(backend: Backend) async throws {
        try await World.with(backend) { world in
            let (extra, _) = try await world.workspaces.createAPIKey(world.owner, name: "extra", role: .owner)
            var pair = (world.boot.apiKey.id, extra.id)
            for round in 0..<3 {
                let (first, second) = pair
                async let a: Bool = Self.succeeds { try await world.workspaces.revokeAPIKey(world.owner, keyID: first) }
                async let b: Bool = Self.succeeds { try await world.workspaces.revokeAPIKey(world.owner, keyID: second) }
                let outcomes = await [a, b]
                #expect(outcomes.filter { $0 }.count == 1, "round \(round): \(outcomes)")
                let owners = try await world.identity.read { tx in
                    try tx.apiKeys(workspaceID: world.owner.workspaceID).filter { $0.role == .owner && $0.revokedAt == nil }
                }
                #expect(owners.count == 1 && [first, second].contains(owners.first?.id ?? ""), "round \(round)")
                // The survivor and a new owner key are the next round's pair.
                let (next, _) = try await world.workspaces.createAPIKey(world.owner, name: "next \(round)", role: .owner)
                pair = (owners.first?.id ?? "", next.id)
            }
        }
    }

    @Test("the last owner Team Member cannot be demoted or removed; with two owners one can go", arguments: Backend.underTest)
    func lastOwnerTeamMember_cannotBeDemotedOrRemoved(backend: Backend) async throws {
        try await World.with(backend) { world in
            let olga = try #require(try await world.members.teamMembers(world.owner).first?.member)
            await expectDomainError(Self.lastOwner) {
                _ = try await world.members.updateTeamMember(world.owner, teamMemberID: olga.id, workspaceRole: .admin, projectConsoleRoles: nil)
            }
            await expectDomainError(Self.lastOwner) { try await world.members.removeTeamMember(world.owner, teamMemberID: olga.id) }
            // Project console roles of the last owner may still change: that takes no ownership away.
            _ = try await world.members.updateTeamMember(world.owner, teamMemberID: olga.id, workspaceRole: .owner, projectConsoleRoles: [:])
            let bo = try await Self.owner(world, "bo@example.com")
            let demoted = try await world.members.updateTeamMember(world.owner, teamMemberID: olga.id, workspaceRole: .admin, projectConsoleRoles: nil)
            #expect(demoted.workspaceRole == .admin)
            await expectDomainError(Self.lastOwner) { try await world.members.removeTeamMember(world.owner, teamMemberID: bo.id) }
        }
    }

    @Test("two concurrent demotions of the last two owners leave one", arguments: Backend.underTest)
    func concurrentDemotions_leaveOneOwner(backend: Backend) async throws {
        try await World.with(backend) { world in
            let olga = try #require(try await world.members.teamMembers(world.owner).first?.member)
            let bo = try await Self.owner(world, "bo@example.com")
            async let a: Bool = Self.succeeds {
                _ = try await world.members.updateTeamMember(world.owner, teamMemberID: olga.id, workspaceRole: .admin, projectConsoleRoles: nil)
            }
            async let b: Bool = Self.succeeds { try await world.members.removeTeamMember(world.owner, teamMemberID: bo.id) }
            let outcomes = await [a, b]
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
            let owners = try await world.members.teamMembers(world.owner).filter { $0.member.workspaceRole == .owner }
            #expect(owners.count == 1)
        }
    }

    /// A second owner Team Member, through a team invite the person accepts.
    static func owner(_ world: World, _ email: String) async throws -> TeamMember {
        let user = try await world.user(email)
        let (_, token) = try await world.members.inviteTeamMember(world.owner, email: email, workspaceRole: .owner)
        _ = try await world.members.acceptInvite(token: token, userID: user.id)
        return try #require(try await world.members.teamMembers(world.owner).first { $0.user.id == user.id }?.member)
    }

    /// True when `body` returns; false when it is refused with the lockout rule's refusal.
    static func succeeds(_ body: @Sendable () async throws -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch let error as DomainError {
            #expect(error == lastKey || error == lastOwner, "\(error)")
            return false
        } catch {
            Issue.record("unexpected \(error)")
            return false
        }
    }
}
