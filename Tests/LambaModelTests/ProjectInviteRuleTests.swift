import Foundation
import LambaJOSE
import LambaModel
import LambaStore
import LambaStoreTestSupport
import Testing

/// Adding someone to a Project by email is an invite: the answer does not depend on whether the
/// email has an account, and no membership exists before the person accepts
/// (docs/access-model.md#invites-not-lookups).
@Suite("project invites by email")
struct ProjectInviteRuleTests {
    @Test("a known and an unknown email get the same invite and the same events, and neither becomes a member", arguments: Backend.underTest)
    func addByEmail_answersAlikeForKnownAndUnknownEmails(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let known = try await world.user("known@elsewhere.example", password: "long enough password")
            let mark = try await world.lastSequence()
            let (forKnown, knownToken) = try await world.members.addProjectMember(world.owner, projectID: project.id, email: known.email, roles: nil)
            let (forUnknown, unknownToken) = try await world.members.addProjectMember(
                world.owner, projectID: project.id, email: "nobody@elsewhere.example", roles: nil)
            for (invite, token, email) in [(forKnown, knownToken, known.email), (forUnknown, unknownToken, "nobody@elsewhere.example")] {
                #expect(invite.kind == .project && invite.projectID == project.id && invite.email == email)
                #expect(invite.projectRole == ProjectRole.viewer && invite.status() == .pending)
                #expect(token.hasPrefix("lmb_inv_") && invite.tokenHash == OpaqueSecret.hash(token))
            }
            let events = try await world.events(after: mark)
            #expect(events.map(\.type) == ["project_invite.created", "project_invite.created"])
            let (knownData, unknownData) = (try events[0].object(), try events[1].object())
            #expect(Set(knownData.names) == ["invite_id", "email", "role"] && Set(unknownData.names) == Set(knownData.names))
            #expect(try await world.identity.read { tx in try tx.projectMember(projectID: project.id, userID: known.id) } == nil)
            #expect(try await world.members.projectMembers(world.owner, projectID: project.id).isEmpty)
            #expect(try await world.members.projectInvites(world.owner, projectID: project.id).map(\.email)
                == [known.email, "nobody@elsewhere.example"])
        }
    }

    @Test("the invited person accepting makes the membership, with the invite's role", arguments: Backend.underTest)
    func acceptance_byTheInvitedPerson_createsTheMembership(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let known = try await world.user("ana@example.com", password: "long enough password")
            let (invite, token) = try await world.members.addProjectMember(world.owner, projectID: project.id, email: known.email, roles: [ProjectRole.member])
            let (accepted, user) = try await world.members.acceptInvite(token: token, email: known.email, password: "long enough password", name: nil)
            #expect(accepted.id == invite.id && accepted.status() == .accepted && user.id == known.id)
            let member = try #require(try await world.identity.read { tx in try tx.projectMember(projectID: project.id, userID: known.id) })
            #expect(member.status == .active && member.roles == [ProjectRole.member] && member.joinedVia == .invite)
            await expectDomainError(.notFound("invite")) {
                _ = try await world.members.acceptInvite(token: token, email: known.email, password: "long enough password", name: nil)
            }
        }
    }

    @Test("another Workspace can neither list, accept nor add to the invite's Project", arguments: Backend.underTest)
    func otherWorkspace_cannotSeeOrAcceptTheInvite(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            let (_, token) = try await world.members.addProjectMember(world.owner, projectID: project.id, email: "ana@example.com", roles: nil)
            let other = try await world.workspaces.createWorkspace(email: "eve@other.example", password: "long enough password", name: "Eve",
                                                                   workspaceSlug: "other", workspaceName: "Other")
            let eve = try #require(try await world.workspaces.authenticate(apiKey: other.apiKeySecret))
            await expectDomainError(.notFound("project \(project.id)")) { _ = try await world.members.projectInvites(eve, projectID: project.id) }
            await expectDomainError(.notFound("project \(project.id)")) {
                _ = try await world.members.addProjectMember(eve, projectID: project.id, email: "ana@example.com", roles: nil)
            }
            await expectDomainError(.refused("the invite was sent to another email address")) {
                _ = try await world.members.acceptInvite(token: token, userID: other.user.id)
            }
            await expectDomainError(.refused("the invite was sent to another email address")) {
                _ = try await world.members.acceptInvite(token: token, email: "eve@other.example", password: "long enough password", name: nil)
            }
            #expect(try await world.members.projectMembers(world.owner, projectID: project.id).isEmpty)
            #expect(try await world.members.projectInvites(world.owner, projectID: project.id).map { $0.status() } == [.pending])
        }
    }

    @Test("an invite carries one role; inviting the same email again replaces the open invite", arguments: Backend.underTest)
    func addByEmail_oneRole_andResendReplaces(backend: Backend) async throws {
        try await World.with(backend) { world in
            let project = try await world.project("portal")
            await expectDomainError(.invalid(field: "roles", reason: "must name one role for an invite; change the member's roles after they accept")) {
                _ = try await world.members.addProjectMember(world.owner, projectID: project.id, email: "a@example.com",
                                                             roles: [ProjectRole.viewer, ProjectRole.member])
            }
            await expectDomainError(.invalid(field: "roles", reason: "must name at least one role")) {
                _ = try await world.members.addProjectMember(world.owner, projectID: project.id, email: "a@example.com", roles: [])
            }
            let (_, first) = try await world.members.addProjectMember(world.owner, projectID: project.id, email: "a@example.com", roles: nil)
            _ = try await world.members.addProjectMember(world.owner, projectID: project.id, email: "a@example.com", roles: nil)
            #expect(try await world.members.projectInvites(world.owner, projectID: project.id).map { $0.status() } == [.revoked, .pending])
            await expectDomainError(.notFound("invite")) {
                _ = try await world.members.acceptInvite(token: first, email: "a@example.com", password: "long enough password", name: "A")
            }
        }
    }
}
