public import Foundation
import LambaJOSE
import LambaPasswords

/// The member lifecycle (docs/access-model.md#member-lifecycle): team invite, Project member invite, public
/// join, register, promotion to Team Member, role change, removal. Console access and runtime access never
/// mix: every flow touches exactly one kind of membership.
public struct MemberLifecycle: Sendable {
    public let store: any IdentityStore
    public var inviteLifetime: TimeInterval = 7 * 24 * 3600
    /// Composes the mail that sends an invite to the invitee (docs/account-recovery.md#invites-by-email),
    /// queued in the invite's transaction; nil sends none (the token is handed over out of band).
    public var inviteMail: (@Sendable (_ invite: Invite, _ token: String, _ workspace: Workspace, _ project: Project?) -> OutgoingMail)?

    public let clock: WallClock

    public init(store: any IdentityStore, clock: WallClock = .system) {
        self.clock = clock
        self.store = store
    }

    // MARK: Team (console access)

    /// Invites a person to the team with a Workspace role and optional Project console roles.
    /// Returns the invite and its one-time token.
    public func inviteTeamMember(
        _ caller: ConsoleCaller, email: String, workspaceRole: WorkspaceRole, projectConsoleRoles: [String: ProjectConsoleRole] = [:]
    ) async throws -> (Invite, token: String) {
        try caller.require(.teamManage)
        try Self.requireAssignable(workspaceRole, by: caller)
        let email = try EmailAddress.normalize(email)
        let token = OpaqueSecret.generate(prefix: "lmb_inv_")
        let lifetime = inviteLifetime
        let inviteMail = inviteMail
        let invite = try await store.write { tx in
            for projectID in projectConsoleRoles.keys {
                guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            }
            if let user = try tx.user(email: email), try tx.teamMember(workspaceID: caller.workspaceID, userID: user.id) != nil {
                throw DomainError.conflict("\(email) is already a Team Member")
            }
            let now = clock.now()
            // Inviting the same person again replaces the open invite (a resend), so one seat is held once.
            for var earlier in try tx.invites(workspaceID: caller.workspaceID, projectID: nil)
            where earlier.kind == .team && earlier.email == email && earlier.isOpen {
                earlier.revokedAt = now
                try tx.update(earlier)
                try tx.append(DomainEvent(type: .inviteRevoked, by: caller, workspaceID: caller.workspaceID, data: [
                    "invite_id": .string(earlier.id), "reason": .string("replaced"),
                ]))
            }
            try Self.checkTeamLimit(tx, workspaceID: caller.workspaceID)
            let invite = Invite(
                id: EntityID.generate(.invite), kind: .team, workspaceID: caller.workspaceID, projectID: nil, email: email,
                workspaceRole: workspaceRole, projectConsoleRoles: projectConsoleRoles, projectRole: nil, tokenHash: token.hash,
                invitedBy: caller.actor, createdAt: now, expiresAt: now.addingTimeInterval(lifetime), acceptedAt: nil, revokedAt: nil)
            try tx.insert(invite)
            if let inviteMail, let workspace = try tx.workspace(id: caller.workspaceID) {
                try tx.enqueue(inviteMail(invite, token.value, workspace, nil))
            }
            try tx.append(DomainEvent(type: .teamInviteCreated, by: caller, workspaceID: caller.workspaceID, data: [
                "invite_id": .string(invite.id), "email": .string(email), "workspace_role": .string(workspaceRole.rawValue),
            ]))
            return invite
        }
        return (invite, token.value)
    }

    /// Makes an existing user a Team Member. Assigns no Project role: console access only
    /// (docs/access-model.md#promote-to-team-member).
    public func promoteToTeamMember(
        _ caller: ConsoleCaller, userID: String, workspaceRole: WorkspaceRole, projectConsoleRoles: [String: ProjectConsoleRole] = [:]
    ) async throws -> TeamMember {
        try caller.require(.teamManage)
        try Self.requireAssignable(workspaceRole, by: caller)
        return try await store.write { tx in
            // Only people already known to this Workspace (its Project Members) can be promoted by id;
            // anyone else is invited by email, so ids of other tenants' users reveal nothing.
            guard try tx.user(id: userID) != nil,
                try tx.projects(workspaceID: caller.workspaceID).contains(where: { try tx.projectMember(projectID: $0.id, userID: userID)?.status == .active })
            else { throw DomainError.notFound("user \(userID)") }
            for projectID in projectConsoleRoles.keys {
                guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            }
            guard try tx.teamMember(workspaceID: caller.workspaceID, userID: userID) == nil else {
                throw DomainError.conflict("user \(userID) is already a Team Member")
            }
            try Self.checkTeamLimit(tx, workspaceID: caller.workspaceID)
            let member = TeamMember(workspaceID: caller.workspaceID, userID: userID, workspaceRole: workspaceRole, projectConsoleRoles: projectConsoleRoles)
            try tx.insert(member)
            try tx.append(DomainEvent(type: .teamMemberPromoted, by: caller, workspaceID: caller.workspaceID, data: [
                "team_member_id": .string(member.id), "user_id": .string(userID), "workspace_role": .string(workspaceRole.rawValue),
            ]))
            return member
        }
    }

    /// Changes a Team Member's Workspace role and Project console roles.
    public func updateTeamMember(
        _ caller: ConsoleCaller, teamMemberID: String, workspaceRole: WorkspaceRole?, projectConsoleRoles: [String: ProjectConsoleRole]?
    ) async throws -> TeamMember {
        try caller.require(.teamManage)
        if let workspaceRole { try Self.requireAssignable(workspaceRole, by: caller) }
        return try await store.write { tx in
            guard var member = try tx.teamMember(id: teamMemberID, workspaceID: caller.workspaceID) else {
                throw DomainError.notFound("team member \(teamMemberID)")
            }
            if member.workspaceRole == .owner, caller.workspaceRole != .owner {
                throw DomainError.forbidden("only an owner may change an owner")
            }
            if member.workspaceRole == .owner, let workspaceRole, workspaceRole != .owner {
                try WorkspaceOwnership.requireOwnersRemain(tx, workspaceID: caller.workspaceID, after: .teamMember(id: member.id))
            }
            if let projectConsoleRoles {
                for projectID in projectConsoleRoles.keys {
                    guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
                }
                member.projectConsoleRoles = projectConsoleRoles
            }
            if let workspaceRole { member.workspaceRole = workspaceRole }
            try tx.update(member)
            try tx.append(DomainEvent(type: .teamMemberUpdated, by: caller, workspaceID: caller.workspaceID, data: [
                "team_member_id": .string(member.id), "user_id": .string(member.userID), "workspace_role": .string(member.workspaceRole.rawValue),
            ]))
            return member
        }
    }

    /// Removes console access. Project memberships of the same person are untouched.
    public func removeTeamMember(_ caller: ConsoleCaller, teamMemberID: String) async throws {
        try caller.require(.teamManage)
        try await store.write { tx in
            guard let member = try tx.teamMember(id: teamMemberID, workspaceID: caller.workspaceID) else {
                throw DomainError.notFound("team member \(teamMemberID)")
            }
            if member.workspaceRole == .owner {
                guard caller.workspaceRole == .owner else { throw DomainError.forbidden("only an owner may remove an owner") }
                try WorkspaceOwnership.requireOwnersRemain(tx, workspaceID: caller.workspaceID, after: .teamMember(id: member.id))
            }
            try tx.deleteTeamMember(id: member.id)
            try tx.append(DomainEvent(type: .teamMemberRemoved, by: caller, workspaceID: caller.workspaceID, data: [
                "team_member_id": .string(member.id), "user_id": .string(member.userID),
            ]))
        }
    }

    // MARK: Project members (runtime access)

    /// Invites a person to a Project with a chosen role, `viewer` when none is chosen.
    ///
    /// The answer and the work done are the same whether or not the email has a Lamba account
    /// anywhere in the installation: an invite for the email the operator typed, and nothing about
    /// the person. No membership exists until the invitee accepts with the token
    /// (docs/access-model.md#invites-not-lookups). The one refusal that depends on the email, "already
    /// a member", names someone this Project's operators already see in its member list.
    public func inviteProjectMember(_ caller: ConsoleCaller, projectID: String, email: String, role: String?) async throws -> (Invite, token: String) {
        try caller.require(.membersManage, inProject: projectID)
        let email = try EmailAddress.normalize(email)
        let token = OpaqueSecret.generate(prefix: "lmb_inv_")
        let lifetime = inviteLifetime
        let inviteMail = inviteMail
        let invite = try await store.write { tx in
            let project = try Self.activeProject(tx, projectID, caller.workspaceID)
            let role = role ?? ProjectRole.viewer
            try Self.requireRole(tx, projectID: project.id, role)
            // Both lookups run for unknown emails too (with an id no user has), so timing tells nothing.
            let userID = try tx.user(email: email)?.id ?? ""
            if try tx.projectMember(projectID: project.id, userID: userID)?.status == .active {
                throw DomainError.conflict("\(email) is already a member of the project")
            }
            let now = clock.now()
            // Inviting the same email again replaces its open invite (a resend): one token per person.
            for var earlier in try tx.invites(workspaceID: caller.workspaceID, projectID: project.id)
            where earlier.kind == .project && earlier.email == email && earlier.isOpen {
                earlier.revokedAt = now
                try tx.update(earlier)
                try tx.append(DomainEvent(type: .inviteRevoked, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                    "invite_id": .string(earlier.id), "reason": .string("replaced"),
                ]))
            }
            let invite = Invite(
                id: EntityID.generate(.invite), kind: .project, workspaceID: caller.workspaceID, projectID: project.id, email: email,
                workspaceRole: nil, projectConsoleRoles: [:], projectRole: role, tokenHash: token.hash, invitedBy: caller.actor,
                createdAt: now, expiresAt: now.addingTimeInterval(lifetime), acceptedAt: nil, revokedAt: nil)
            try tx.insert(invite)
            if let inviteMail, let workspace = try tx.workspace(id: caller.workspaceID) {
                try tx.enqueue(inviteMail(invite, token.value, workspace, project))
            }
            try tx.append(DomainEvent(type: .projectInviteCreated, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "invite_id": .string(invite.id), "email": .string(email), "role": .string(role),
            ]))
            return invite
        }
        return (invite, token.value)
    }

    /// Operator-managed membership by email, as the console offers it: an invite with the chosen
    /// role (one; `viewer` when none), never a direct attachment, so that a Workspace can neither
    /// enumerate the installation's accounts nor plant memberships without consent.
    public func addProjectMember(_ caller: ConsoleCaller, projectID: String, email: String, roles: [String]?) async throws -> (Invite, token: String) {
        try caller.require(.membersManage, inProject: projectID)
        if let roles, roles.count != 1 {
            throw DomainError.invalid(field: "roles", reason: roles.isEmpty
                ? "must name at least one role" : "must name one role for an invite; change the member's roles after they accept")
        }
        return try await inviteProjectMember(caller, projectID: projectID, email: email, role: roles?.first)
    }

    /// The Project's invites, newest last: the email the operator typed and where each stands,
    /// never the invitee's account.
    public func projectInvites(_ caller: ConsoleCaller, projectID: String) async throws -> [Invite] {
        try caller.require(.membersRead, inProject: projectID)
        return try await store.read { tx in
            guard try tx.project(id: projectID, workspaceID: caller.workspaceID) != nil else { throw DomainError.notFound("project \(projectID)") }
            return try tx.invites(workspaceID: caller.workspaceID, projectID: projectID).filter { $0.kind == .project }
        }
    }

    /// Admits an existing account to a Project without its consent. For the installation's own
    /// tooling (`lamba demo`) and test fixtures, which act for the whole installation; no console
    /// route reaches it, since a Workspace must not attach accounts it does not know.
    package func admitExistingUser(_ caller: ConsoleCaller, projectID: String, email: String, roles: [String]?) async throws -> ProjectMember {
        try caller.require(.membersManage, inProject: projectID)
        let email = try EmailAddress.normalize(email)
        return try await store.write { tx in
            let project = try Self.activeProject(tx, projectID, caller.workspaceID)
            guard let user = try tx.user(email: email) else { throw DomainError.notFound("user with email \(email)") }
            let roles = roles ?? [ProjectRole.viewer]
            try Self.requireRoles(tx, projectID: project.id, roles)
            return try Self.admit(tx, project: project, userID: user.id, roles: roles, via: .operator, actor: caller.actor,
                                  attribution: .init(caller.principal), eventType: .projectMemberAdded)
        }
    }

    /// Accepts an invite as `userID` (who must hold the invited email, verified by the caller's flow).
    /// Team invites make a Team Member; Project invites make a Project Member. Never both.
    public func acceptInvite(token: String, userID: String) async throws -> Invite {
        let hash = OpaqueSecret.hash(token)
        return try await store.write { tx in try Self.accept(tx, tokenHash: hash, userID: userID) }
    }

    static func accept(_ tx: any IdentityWriter, tokenHash hash: String, userID: String) throws -> Invite {
        guard var invite = try tx.invite(tokenHash: hash), invite.isOpen, invite.expiresAt > Date() else {
            throw DomainError.notFound("invite")
        }
        guard let user = try tx.user(id: userID), user.email == invite.email else {
            throw DomainError.refused("the invite was sent to another email address")
        }
        switch invite.kind {
        case .team:
            guard let workspace = try tx.workspace(id: invite.workspaceID), workspace.status == .active else {
                throw DomainError.refused("the workspace is deactivated")
            }
            guard try tx.teamMember(workspaceID: invite.workspaceID, userID: userID) == nil else {
                throw DomainError.conflict("already a Team Member")
            }
            // The seat this invite held becomes the member's seat: do not count it twice.
            try Self.checkTeamLimit(tx, workspaceID: invite.workspaceID, excludingInvite: invite.id)
            let member = TeamMember(workspaceID: invite.workspaceID, userID: userID, workspaceRole: invite.workspaceRole ?? .viewer,
                                    projectConsoleRoles: invite.projectConsoleRoles)
            try tx.insert(member)
            try tx.append(DomainEvent(type: .teamMemberAdded, actor: userID, workspaceID: invite.workspaceID, data: [
                "team_member_id": .string(member.id), "user_id": .string(userID), "invite_id": .string(invite.id),
                "workspace_role": .string(member.workspaceRole.rawValue),
            ]))
        case .project:
            guard let projectID = invite.projectID else { throw DomainError.notFound("invite") }
            let project = try Self.activeProject(tx, projectID, invite.workspaceID)
            let role = invite.projectRole ?? ProjectRole.viewer
            // The role may have been deleted since the invite was sent: fall back to the built-in viewer.
            let roles = try tx.roles(projectID: project.id).contains { $0.name == role } ? [role] : [ProjectRole.viewer]
            _ = try Self.admit(tx, project: project, userID: userID, roles: roles, via: .invite, actor: userID, eventType: .projectMemberAdded)
        }
        invite.acceptedAt = Date()
        try tx.update(invite)
        return invite
    }

    /// Accepts an invite for someone who presents the invited email and a password: an existing
    /// Lamba User must give their password; someone new gets an account (the invite token proves the
    /// email, so it is verified). Hashing and verification run before the write transaction.
    public func acceptInvite(token: String, email: String, password: String, name: String?) async throws -> (Invite, LambaUser) {
        let email = try EmailAddress.normalize(email)
        try Self.validatePassword(password)
        let name = try name.map { try Self.validateName($0) }
        let hash = OpaqueSecret.hash(token)
        let (invite, existing) = try await store.read { tx in
            (try tx.invite(tokenHash: hash), try tx.user(email: email))
        }
        guard let invite, invite.isOpen, invite.expiresAt > clock.now() else { throw DomainError.notFound("invite") }
        guard invite.email == email else { throw DomainError.refused("the invite was sent to another email address") }
        if let existing {
            // The same answer for a wrong password and a password-less account: nothing to guess from.
            guard existing.status == .active, let stored = existing.passwordHash, await PasswordHasher.verifyOffPool(password, against: stored) else {
                throw DomainError.forbidden("the email and password do not match")
            }
            let accepted = try await store.write { tx in try Self.accept(tx, tokenHash: hash, userID: existing.id) }
            return (accepted, existing)
        }
        guard let name else { throw DomainError.invalid(field: "name", reason: "is required to create an account") }
        let created = LambaUser(email: email, emailVerified: true, name: name, passwordHash: try await PasswordHasher.hashOffPool(password))
        // The new account and the membership commit together, or neither does.
        let accepted = try await store.write { tx in
            guard try tx.user(email: email) == nil else { throw DomainError.conflict("an account with this email exists; sign in to accept") }
            try tx.insert(created)
            try tx.append(DomainEvent(type: .userCreated, actor: created.id, workspaceID: invite.workspaceID, projectID: invite.projectID,
                                      data: ["user_id": .string(created.id), "invite_id": .string(invite.id)]))
            return try Self.accept(tx, tokenHash: hash, userID: created.id)
        }
        return (accepted, created)
    }

    /// Public join: a signed-in user joins a public Project whose environment allows it, with the
    /// environment's default role (`viewer` unless configured).
    public func publicJoin(userID: String, projectID: String, workspaceID: String, environment: Environment) async throws -> ProjectMember {
        try await store.write { tx in
            let project = try Self.activeProject(tx, projectID, workspaceID)
            guard project.visibility == .public else { throw DomainError.refused("this project is private: members join by invitation") }
            guard let settings = try tx.environmentSettings(projectID: project.id, environment: environment), settings.allowPublicJoin else {
                throw DomainError.refused("public join is not enabled for this project")
            }
            guard let user = try tx.user(id: userID), user.status == .active else { throw DomainError.notFound("user \(userID)") }
            return try Self.admit(tx, project: project, userID: user.id, roles: [try Self.joinRole(tx, settings)], via: .publicJoin, actor: userID,
                                  eventType: .projectMemberJoined, environment: environment)
        }
    }

    /// Register: creates a Lamba User with a password and makes them a member of a public Project
    /// whose environment allows registration, with the default role. Hashing runs before the
    /// transaction, off the writer.
    public func register(email: String, password: String, name: String, projectID: String, workspaceID: String, environment: Environment) async throws -> (LambaUser, ProjectMember) {
        let email = try EmailAddress.normalize(email)
        try Self.validatePassword(password)
        let name = try Self.validateName(name)
        // Check the rules before spending a password hash on the request.
        try await store.read { tx in
            let project = try Self.activeProject(tx, projectID, workspaceID)
            guard project.visibility == .public else { throw DomainError.refused("this project is private: members join by invitation") }
            guard let settings = try tx.environmentSettings(projectID: project.id, environment: environment), settings.allowRegister else {
                throw DomainError.refused("registration is not enabled for this project")
            }
        }
        let passwordHash = try await PasswordHasher.hashOffPool(password)
        return try await store.write { tx in
            try Self.registerNewUser(tx, LambaUser(email: email, name: name, passwordHash: passwordHash), projectID: projectID, workspaceID: workspaceID,
                                     environment: environment)
        }
    }

    /// The checks `register` makes before a passkey ceremony for a new account begins: the
    /// normalized email and name, once registration is open and the address is free.
    public func checkPasskeyRegistration(email: String, name: String, projectID: String, workspaceID: String,
                                         environment: Environment) async throws -> (email: String, name: String) {
        let email = try EmailAddress.normalize(email)
        let name = try Self.validateName(name)
        try await store.read { tx in
            let project = try Self.activeProject(tx, projectID, workspaceID)
            guard project.visibility == .public else { throw DomainError.refused("this project is private: members join by invitation") }
            guard let settings = try tx.environmentSettings(projectID: project.id, environment: environment), settings.allowRegister,
                  settings.authMethods.contains(.passkey)
            else { throw DomainError.refused("registration with a passkey is not enabled for this project") }
            guard try tx.user(email: email) == nil else { throw DomainError.conflict("an account with this email exists; sign in to join") }
        }
        return (email, name)
    }

    /// Registration whose only credential is a passkey (docs/account-security.md#passkeys): the user,
    /// the passkey and the membership are written together, so no account exists without its way in.
    /// `user.id` is the user handle the authenticator was given.
    public func register(_ user: LambaUser, passkey: Passkey, projectID: String, workspaceID: String,
                         environment: Environment) async throws -> (LambaUser, ProjectMember) {
        precondition(user.passwordHash == nil && passkey.userID == user.id)
        let email = try EmailAddress.normalize(user.email)
        return try await store.write { tx in
            guard let settings = try tx.environmentSettings(projectID: projectID, environment: environment), settings.authMethods.contains(.passkey) else {
                throw DomainError.refused("registration with a passkey is not enabled for this project")
            }
            var user = user
            user.email = email
            let admitted = try Self.registerNewUser(tx, user, projectID: projectID, workspaceID: workspaceID, environment: environment)
            guard try tx.passkey(rpID: passkey.rpID, credentialID: passkey.credentialID) == nil else {
                throw DomainError.conflict("this passkey is registered already")
            }
            try tx.insert(passkey)
            try tx.append(DomainEvent(type: .userPasskeyRegistered, actor: user.id, workspaceID: workspaceID, projectID: projectID, environment: environment,
                                      data: ["user_id": .string(user.id), "passkey_id": .string(passkey.id), "backup_eligible": .bool(passkey.backupEligible)]))
            return admitted
        }
    }

    /// A new user and their membership, inside the caller's transaction, after the same checks as
    /// before the credential was made: the settings may have changed meanwhile.
    static func registerNewUser(_ tx: any IdentityWriter, _ user: LambaUser, projectID: String, workspaceID: String,
                                environment: Environment) throws -> (LambaUser, ProjectMember) {
        let project = try Self.activeProject(tx, projectID, workspaceID)
        guard let settings = try tx.environmentSettings(projectID: project.id, environment: environment), settings.allowRegister,
            project.visibility == .public
        else { throw DomainError.refused("registration is not enabled for this project") }
        guard try tx.user(email: user.email) == nil else { throw DomainError.conflict("an account with this email exists; sign in to join") }
        try tx.insert(user)
        try tx.append(DomainEvent(type: .userCreated, actor: user.id, workspaceID: workspaceID, projectID: project.id, environment: environment,
                                  data: ["user_id": .string(user.id)]))
        let member = try Self.admit(tx, project: project, userID: user.id, roles: [try Self.joinRole(tx, settings)], via: .register, actor: user.id,
                                    eventType: .projectMemberRegistered, environment: environment)
        return (user, member)
    }

    /// Changes a Project Member's roles. Their runtime scopes in the Project end, so that the next
    /// access decision and the next token reflect the change (docs/sessions-and-scopes.md#role-changed).
    public func changeProjectMemberRoles(_ caller: ConsoleCaller, projectID: String, memberID: String, roles: [String]) async throws -> ProjectMember {
        try caller.require(.membersManage, inProject: projectID)
        return try await store.write { tx in
            let project = try Self.activeProject(tx, projectID, caller.workspaceID)
            guard var member = try tx.projectMember(id: memberID, projectID: project.id), member.status == .active else {
                throw DomainError.notFound("project member \(memberID)")
            }
            try Self.requireRoles(tx, projectID: project.id, roles)
            let previous = member.roles
            // The same roles again change nothing, so nothing is revoked and no event is written.
            guard Set(previous) != Set(roles) else { return member }
            member.roles = roles
            member.updatedAt = clock.now()
            try tx.update(member)
            // Only this user's scopes in this Project, in both environments (membership spans them).
            // The global session stays: who the person is did not change, only what they may do here,
            // and their other Projects are not affected (docs/sessions-and-scopes.md#revoke-granularity).
            try Self.invalidate(tx, .member(projectID: project.id, userID: member.userID), reason: "membership_role_changed", listingIDs: true,
                                DomainEvent(type: .projectMemberRoleChanged, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "project_member_id": .string(member.id), "user_id": .string(member.userID),
                "previous_roles": .array(previous.map(JSONValue.string)), "roles": .array(roles.map(JSONValue.string)),
            ]))
            return member
        }
    }

    /// Removes runtime access: the membership ends and its runtime scopes are revoked. Console access
    /// of the same person is untouched.
    public func removeProjectMember(_ caller: ConsoleCaller, projectID: String, memberID: String) async throws {
        try caller.require(.membersManage, inProject: projectID)
        try await store.write { tx in
            guard let project = try tx.project(id: projectID, workspaceID: caller.workspaceID) else { throw DomainError.notFound("project \(projectID)") }
            guard var member = try tx.projectMember(id: memberID, projectID: project.id), member.status == .active else {
                throw DomainError.notFound("project member \(memberID)")
            }
            member.status = .removed
            member.updatedAt = clock.now()
            try tx.update(member)
            // As for a role change: this user's scopes in this Project end; the global session and
            // their scopes in other Projects stay (they are still who they were, elsewhere).
            try Self.invalidate(tx, .member(projectID: project.id, userID: member.userID), reason: "membership_removed", listingIDs: true,
                                DomainEvent(type: .projectMemberRemoved, by: caller, workspaceID: caller.workspaceID, projectID: project.id, data: [
                "project_member_id": .string(member.id), "user_id": .string(member.userID),
            ]))
        }
    }

    /// "Project scope revoked" (docs/sessions-and-scopes.md#scope-revoked): an operator ends one runtime
    /// scope, e.g. a `sid` seen at introspection. Every token of every client bound to it dies; the
    /// membership, the global session and the user's other scopes stay, and the scope never comes back by
    /// itself.
    public func revokeRuntimeScope(_ caller: ConsoleCaller, projectID: String, scopeID: String) async throws -> RuntimeScope {
        try caller.require(.membersManage, inProject: projectID)
        return try await store.write { tx in
            guard let project = try tx.project(id: projectID, workspaceID: caller.workspaceID),
                let scope = try tx.runtimeScope(id: scopeID), scope.workspaceID == caller.workspaceID, scope.projectID == project.id
            else { throw DomainError.notFound("runtime scope \(scopeID)") }
            guard scope.isActive else { throw DomainError.conflict("runtime scope \(scopeID) is already revoked") }
            guard let revoked = try tx.revokeRuntimeScopes(.scope(id: scope.id), reason: "project_scope_revoked", at: clock.now()).first else {
                throw DomainError.conflict("runtime scope \(scopeID) is already revoked")
            }
            // The scope's own event is the trigger's event: one scope, one session, one environment.
            try Self.appendScopesRevoked(tx, [revoked], reason: "project_scope_revoked", actor: caller.actor,
                                     attribution: .init(caller.principal))
            return revoked
        }
    }

    // MARK: Rules shared by the flows

    static func admit(_ tx: any IdentityWriter, project: Project, userID: String, roles: [String], via: ProjectMember.JoinPath,
                      actor: String, attribution: DomainEvent.Attribution? = nil, eventType: EventType,
                      environment: Environment? = nil) throws -> ProjectMember {
        guard let workspace = try tx.workspace(id: project.workspaceID), workspace.status == .active else {
            throw DomainError.refused("the workspace is deactivated")
        }
        if var existing = try tx.projectMember(projectID: project.id, userID: userID) {
            guard existing.status == .removed else { throw DomainError.conflict("already a member of the project") }
            // A removed member who comes back starts again with the roles of this flow.
            existing.status = .active
            existing.roles = roles
            existing.joinedVia = via
            existing.updatedAt = Date()
            try checkMemberLimit(tx, project: project, workspace: workspace)
            try tx.update(existing)
            try appendAdmitted(tx, existing, actor: actor, attribution: attribution, eventType: eventType, environment: environment)
            return existing
        }
        try checkMemberLimit(tx, project: project, workspace: workspace)
        let member = ProjectMember(workspaceID: project.workspaceID, projectID: project.id, userID: userID, roles: roles, joinedVia: via)
        try tx.insert(member)
        try appendAdmitted(tx, member, actor: actor, attribution: attribution, eventType: eventType, environment: environment)
        return member
    }

    private static func appendAdmitted(_ tx: any IdentityWriter, _ member: ProjectMember, actor: String, attribution: DomainEvent.Attribution?,
                                       eventType: EventType, environment: Environment?) throws {
        var event = DomainEvent(type: eventType, actor: actor, workspaceID: member.workspaceID, projectID: member.projectID, environment: environment, data: [
            "project_member_id": .string(member.id), "user_id": .string(member.userID),
            "roles": .array(member.roles.map(JSONValue.string)), "joined_via": .string(member.joinedVia.rawValue),
        ])
        if let attribution { event.attribution = attribution }
        try tx.append(event)
    }

    /// The role join and register give: the environment's configured role while the catalog holds it,
    /// else the built-in viewer, which every catalog holds.
    static func joinRole(_ tx: any IdentityReader, _ settings: EnvironmentSettings) throws -> String {
        try tx.roles(projectID: settings.projectID).contains { $0.name == settings.defaultJoinRole } ? settings.defaultJoinRole : ProjectRole.viewer
    }

    static func checkMemberLimit(_ tx: any IdentityReader, project: Project, workspace: Workspace) throws {
        let maximum = workspace.plan.limits.projectMembersPerProject
        guard try tx.countActiveProjectMembers(projectID: project.id) < maximum else {
            throw DomainError.limitExceeded(limit: "project members per project", maximum: maximum)
        }
    }

    /// Team members and open team invites together may not pass the plan's team size.
    static func checkTeamLimit(_ tx: any IdentityReader, workspaceID: String, excludingInvite: String? = nil) throws {
        guard let workspace = try tx.workspace(id: workspaceID) else { throw DomainError.notFound("workspace") }
        let maximum = workspace.plan.limits.teamMembers
        let pending = try tx.invites(workspaceID: workspaceID, projectID: nil)
            .filter { $0.kind == .team && $0.isOpen && $0.expiresAt > Date() && $0.id != excludingInvite }.count
        guard try tx.teamMembers(workspaceID: workspaceID).count + pending < maximum else {
            throw DomainError.limitExceeded(limit: "team members", maximum: maximum)
        }
    }

    static func activeProject(_ tx: any IdentityReader, _ projectID: String, _ workspaceID: String) throws -> Project {
        guard let project = try tx.project(id: projectID, workspaceID: workspaceID) else { throw DomainError.notFound("project \(projectID)") }
        guard project.status == .active else { throw DomainError.refused("the project is deactivated") }
        return project
    }

    static func requireRole(_ tx: any IdentityReader, projectID: String, _ role: String) throws {
        try requireRoles(tx, projectID: projectID, [role])
    }

    /// Roles must exist in the Project's catalog; console role names are not Project roles.
    static func requireRoles(_ tx: any IdentityReader, projectID: String, _ roles: [String]) throws {
        guard !roles.isEmpty else { throw DomainError.invalid(field: "roles", reason: "must name at least one role") }
        guard roles.count <= 20, Set(roles).count == roles.count else { throw DomainError.invalid(field: "roles", reason: "must be distinct, at most 20") }
        let catalog = Set(try tx.roles(projectID: projectID).map(\.name))
        for role in roles where !catalog.contains(role) {
            throw DomainError.invalid(field: "roles", reason: "\(role) is not a role of this project")
        }
    }

    /// Nobody hands out more console power than they hold: only owners make owners.
    static func requireAssignable(_ role: WorkspaceRole, by caller: ConsoleCaller) throws(DomainError) {
        if role == .owner, caller.workspaceRole != .owner { throw .forbidden("only an owner may grant the owner role") }
        guard role.capabilities.isSubset(of: caller.workspaceRole.capabilities) else {
            throw .forbidden("the caller cannot grant \(role.rawValue)")
        }
    }

    /// Revokes the scopes that match and writes one `runtime_scope.revoked` event each; returns how
    /// many. For callers that write their trigger's event themselves (a session or scope a user
    /// ends at /me/sessions, the sessions an unlink ends); triggers use `invalidate`.
    @discardableResult
    static func revokeScopes(_ tx: any IdentityWriter, _ selector: RuntimeScopeSelector, reason: String, actor: String) throws -> Int {
        let scopes = try tx.revokeRuntimeScopes(selector, reason: reason, at: Date())
        try appendScopesRevoked(tx, scopes, reason: reason, actor: actor)
        return scopes.count
    }

    /// An invalidation trigger (docs/sessions-and-scopes.md#invalidation-triggers): revokes the scopes
    /// `selector` reaches, then writes the trigger's one event with its session context (what ended, and
    /// that `sessions` identity sessions ended with it), then one `runtime_scope.revoked` per scope, so
    /// consumers keyed by scope or session see each end after its cause. Scope and session ids are listed
    /// only for triggers that reach one user (`listingIDs`); Workspace- and Project-wide triggers give
    /// counts, so that one event stays small however many sessions there were.
    @discardableResult
    static func invalidate(_ tx: any IdentityWriter, _ selector: RuntimeScopeSelector, reason: String, sessions: [IdentitySession] = [],
                           listingIDs: Bool, at date: Date = Date(), _ event: DomainEvent) throws -> [RuntimeScope] {
        try invalidate(tx, [selector], reason: reason, sessions: sessions, listingIDs: listingIDs, at: date, event)
    }

    /// The same for several selectors; none revokes nothing (the trigger fired but took nobody's access away).
    @discardableResult
    static func invalidate(_ tx: any IdentityWriter, _ selectors: [RuntimeScopeSelector], reason: String, sessions: [IdentitySession] = [],
                           listingIDs: Bool, at date: Date = Date(), _ event: DomainEvent) throws -> [RuntimeScope] {
        let scopes = try selectors.flatMap { try tx.revokeRuntimeScopes($0, reason: reason, at: date) }
        var event = event
        event.data["reason"] = .string(reason)
        event.data["runtime_scopes_revoked"] = .integer(Int64(scopes.count))
        event.data["sessions_revoked"] = .integer(Int64(sessions.count))
        if listingIDs {
            event.data["runtime_scope_ids"] = .array(scopes.map(\.id).sorted().map(JSONValue.string))
            // The identity sessions the ended scopes were under; they themselves stay active.
            event.data["session_ids"] = .array(Set(scopes.map(\.sessionID)).sorted().map(JSONValue.string))
        }
        try tx.append(event)
        try appendScopesRevoked(tx, scopes, reason: reason, actor: event.actor, attribution: event.attribution)
        return scopes
    }

    /// One `runtime_scope.revoked` per scope, attributed like the change that ended them.
    static func appendScopesRevoked(_ tx: any IdentityWriter, _ scopes: [RuntimeScope], reason: String, actor: String,
                                    attribution: DomainEvent.Attribution? = nil) throws {
        for scope in scopes {
            var event = DomainEvent(type: .runtimeScopeRevoked, actor: actor, workspaceID: scope.workspaceID, projectID: scope.projectID,
                                    environment: scope.environment, sessionID: scope.sessionID, data: [
                "runtime_scope_id": .string(scope.id), "user_id": .string(scope.userID), "reason": .string(reason),
                "application_id": .string(scope.applicationID),
            ])
            if let attribution { event.attribution = attribution }
            try tx.append(event)
        }
    }

    public static func validatePassword(_ password: String) throws(DomainError) {
        guard password.count >= 10 else { throw .invalid(field: "password", reason: "must be at least 10 characters") }
        guard password.utf8.count <= PasswordHasher.maximumLength else { throw .invalid(field: "password", reason: "is too long") }
    }

    public static func validateName(_ name: String, field: String = "name") throws(DomainError) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(trimmed.count), !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalid(field: field, reason: "must be 1 to 200 printable characters")
        }
        return trimmed
    }
}
