public import Foundation
import LambaJOSE
import LambaPasswords

extension EventType {
    public static let consoleSessionStarted: EventType = "console_session.started"
    public static let consoleSessionEnded: EventType = "console_session.ended"
    public static let consoleSignInLinkIssued: EventType = "console_sign_in_link.issued"
    public static let teamMemberForcedLogout: EventType = "team_member.forced_logout"
    public static let workspaceReactivated: EventType = "workspace.reactivated"
    public static let installationUpdated: EventType = "installation.updated"
}

/// People in the console (docs/console-access.md): their console sessions, the Workspaces they are
/// Team Members of and may create, and the installation's administrators and settings. A console
/// session proves who the person is; in each Workspace only their Team membership gives capabilities,
/// and nothing here reads or grants a Project role (docs/access-model.md#no-fallback).
public struct ConsoleAccessAdministration: Sendable {
    public let store: any IdentityStore
    public let clock: WallClock
    public let lifetimes: ConsoleSessionLifetimes
    /// How long a one-time sign-in link may wait for its use.
    public static let signInLinkLifetime: TimeInterval = 24 * 3600

    public init(store: any IdentityStore, clock: WallClock = .system, lifetimes: ConsoleSessionLifetimes = ConsoleSessionLifetimes()) {
        self.store = store
        self.clock = clock
        self.lifetimes = lifetimes
    }

    /// A person signed in to the console, as one request sees them.
    public struct SignedIn: Sendable, Hashable {
        public let session: ConsoleSession
        public let user: LambaUser
        /// A Team Member (owner or admin) of the installation's Workspace.
        public let isAdministrator: Bool
        public let installation: Installation
    }

    // MARK: Sessions

    /// Starts a console session for the person whose sign-in at the console issuer entered
    /// `runtimeScopeID` (the ID token's `sid`); the cookie value is returned once and only its hash kept.
    public func startSession(userID: String, runtimeScopeID: String) async throws -> (ConsoleSession, secret: String) {
        let secret = OpaqueSecret.generate(prefix: "lmb_con_")
        let now = clock.now()
        let lifetimes = lifetimes
        let session = try await store.write { tx -> ConsoleSession in
            guard let installation = try tx.installation(), let scope = try tx.runtimeScope(id: runtimeScopeID), scope.isActive, scope.userID == userID,
                scope.projectID == installation.consoleProjectID
            else { throw DomainError.refused("the console issuer's sign-in ended before the console session began") }
            // The first Workspace of theirs that a tenant runs; the installation's own comes last.
            let active = try tx.workspaces(teamMemberUserID: userID).filter { $0.status == .active }
            let first = active.first { $0.id != installation.workspaceID } ?? active.first
            let session = ConsoleSession(userID: userID, tokenHash: secret.hash, workspaceID: first?.id, identitySessionID: scope.sessionID,
                                         runtimeScopeID: scope.id, createdAt: now, lifetimes: lifetimes)
            try tx.insert(session)
            try tx.append(DomainEvent(type: .consoleSessionStarted, actor: userID, workspaceID: nil, occurredAt: now, data: [
                "console_session_id": .string(session.id), "user_id": .string(userID),
            ]).through(consoleSession: session.id))
            return session
        }
        return (session, secret.value)
    }

    /// The person behind a console session cookie, or nil when the session is unknown, ended,
    /// idle or past its absolute lifetime, or when the console issuer's runtime scope under it has
    /// ended (signed out there, forced out, the user deactivated). A live session's idle expiry moves on.
    public func signedIn(token: String) async throws -> SignedIn? {
        guard token.utf8.count <= 256 else { return nil }
        let hash = OpaqueSecret.hash(token)
        let now = clock.now()
        let found = try await store.read { tx -> SignedIn? in
            guard let session = try tx.consoleSession(tokenHash: hash), session.isActive(at: now), let installation = try tx.installation() else { return nil }
            guard case .success(let live) = try RuntimeScopeLiveness.check(tx, scopeID: session.runtimeScopeID, userID: session.userID,
                                                                          projectID: installation.consoleProjectID, environment: .production)
            else { return nil }
            let admin = try tx.teamMember(workspaceID: installation.workspaceID, userID: session.userID)
            return SignedIn(session: session, user: live.user, isAdministrator: admin.map { [.owner, .admin].contains($0.workspaceRole) } ?? false,
                            installation: installation)
        }
        guard let found, now.timeIntervalSince(found.session.lastSeenAt) >= lifetimes.touchInterval else { return found }
        var session = found.session
        session.lastSeenAt = now
        session.idleExpiresAt = min(now.addingTimeInterval(lifetimes.idle), session.expiresAt)
        let touched = session
        try await store.write { tx in try tx.update(touched) }
        return SignedIn(session: touched, user: found.user, isAdministrator: found.isAdministrator, installation: found.installation)
    }

    /// The caller a signed-in person is in `workspaceID` (else the Workspace the session selected):
    /// their Team membership there, or `notFound` when they have none (whether or not the Workspace
    /// exists), or `forbidden` when a forced logout or deactivation ended this session there.
    public func caller(_ person: SignedIn, workspaceID requested: String?) async throws -> ConsoleCaller {
        guard let workspaceID = requested ?? person.session.workspaceID else {
            throw DomainError.notFound("workspace: choose one with PUT /console/v1/session/workspace or create one")
        }
        let session = person.session
        return try await store.read { tx in
            guard let workspace = try tx.workspace(id: workspaceID), workspace.status == .active,
                let member = try tx.teamMember(workspaceID: workspaceID, userID: session.userID)
            else { throw DomainError.notFound("workspace \(workspaceID)") }
            let cutoffs = [workspace.securityPosture.sessionsValidAfter, try tx.consoleSessionsValidAfter(workspaceID: workspaceID, userID: session.userID)]
            if cutoffs.contains(where: { $0.map { session.createdAt <= $0 } ?? false }) {
                throw DomainError.forbidden("this console session was ended in the workspace: sign in again")
            }
            return ConsoleCaller(principal: .user(id: session.userID, consoleSessionID: session.id), workspaceID: workspaceID,
                                 workspaceRole: member.workspaceRole, projectConsoleRoles: member.projectConsoleRoles)
        }
    }

    /// Signing out ends the console session and, with it, the console issuer's runtime scope and
    /// identity session it stood on, so the next sign-in asks again.
    public func signOut(_ person: SignedIn) async throws {
        let now = clock.now()
        let session = person.session
        try await store.write { tx in
            guard var current = try tx.consoleSession(id: session.id), current.revokedAt == nil else { return }
            current.revokedAt = now
            current.revokeReason = "signed_out"
            try tx.update(current)
            try Self.endIssuerSession(tx, current, installation: person.installation, reason: "signed_out", at: now)
            try tx.append(DomainEvent(type: .consoleSessionEnded, actor: session.userID, workspaceID: nil, occurredAt: now, data: [
                "console_session_id": .string(session.id), "user_id": .string(session.userID), "reason": "signed_out",
            ]).through(consoleSession: session.id))
        }
    }

    static func endIssuerSession(_ tx: any IdentityWriter, _ session: ConsoleSession, installation: Installation, reason: String, at now: Date) throws {
        for scope in try tx.revokeRuntimeScopes(.session(sessionID: session.identitySessionID), reason: reason, at: now) {
            try tx.append(DomainEvent(type: .runtimeScopeRevoked, actor: session.userID, workspaceID: scope.workspaceID, projectID: scope.projectID,
                                      environment: scope.environment, sessionID: scope.sessionID, occurredAt: now, data: [
                "runtime_scope_id": .string(scope.id), "user_id": .string(scope.userID), "reason": .string(reason),
                "application_id": .string(scope.applicationID),
            ]))
        }
        if var identity = try tx.identitySession(id: session.identitySessionID), identity.revokedAt == nil {
            identity.revokedAt = now
            identity.revokeReason = reason
            try tx.update(identity)
            try tx.append(DomainEvent(type: .sessionRevoked, actor: session.userID, workspaceID: identity.workspaceID, sessionID: identity.id,
                                      occurredAt: now, data: ["session_id": .string(identity.id), "user_id": .string(identity.userID), "reason": .string(reason)]))
        }
    }

    // MARK: Workspaces of a person

    public struct Membership: Sendable, Hashable {
        public let workspace: Workspace
        public let member: TeamMember
    }

    /// The Workspaces the person is a Team Member of, deactivated ones included (an owner may reactivate them).
    public func workspaces(_ person: SignedIn) async throws -> [Membership] {
        let userID = person.user.id
        return try await store.read { tx in
            try tx.workspaces(teamMemberUserID: userID).compactMap { workspace in
                try tx.teamMember(workspaceID: workspace.id, userID: userID).map { Membership(workspace: workspace, member: $0) }
            }
        }
    }

    /// Makes `workspaceID` the session's Workspace; `notFound` unless the person is a Team Member of it.
    public func select(_ person: SignedIn, workspaceID: String) async throws -> SignedIn {
        _ = try await caller(person, workspaceID: workspaceID)
        var session = person.session
        session.workspaceID = workspaceID
        let selected = session
        try await store.write { tx in try tx.update(selected) }
        return SignedIn(session: selected, user: person.user, isAdministrator: person.isAdministrator, installation: person.installation)
    }

    /// A new Workspace with the person as its owner, as the installation's policy allows
    /// (docs/console-access.md#many-workspaces); the session switches to it.
    public func createWorkspace(_ person: SignedIn, slug: String, name: String) async throws -> Workspace {
        try Slug.validate(slug, field: "slug")
        let name = try MemberLifecycle.validateName(name)
        let now = clock.now()
        let session = person.session
        let isAdministrator = person.isAdministrator
        return try await store.write { tx in
            guard let installation = try tx.installation() else { throw DomainError.refused("the installation is not set up") }
            switch installation.workspaceCreation {
            case .open: break
            case .inviteOnly:
                let invited = try tx.workspaces(teamMemberUserID: session.userID).contains { $0.id != installation.workspaceID }
                guard invited || isAdministrator else {
                    throw DomainError.forbidden("on this installation Workspaces are created by people already invited to one, and by administrators")
                }
            case .administrators:
                guard isAdministrator else { throw DomainError.forbidden("on this installation only administrators create Workspaces") }
            }
            guard try tx.workspace(slug: slug) == nil else { throw DomainError.conflict("workspace \(slug) exists") }
            let workspace = Workspace(slug: slug, name: name, createdAt: now)
            try tx.insert(workspace)
            let owner = TeamMember(workspaceID: workspace.id, userID: session.userID, workspaceRole: .owner, createdAt: now)
            try tx.insert(owner)
            let actor = ConsoleCaller(principal: .user(id: session.userID, consoleSessionID: session.id), workspaceID: workspace.id, workspaceRole: .owner)
            try tx.append(DomainEvent(type: .workspaceCreated, by: actor, workspaceID: workspace.id, occurredAt: now, data: [
                "workspace_id": .string(workspace.id), "slug": .string(workspace.slug), "owner_user_id": .string(session.userID),
            ]))
            try tx.append(DomainEvent(type: .teamMemberAdded, by: actor, workspaceID: workspace.id, occurredAt: now, data: [
                "team_member_id": .string(owner.id), "user_id": .string(session.userID), "workspace_role": "owner",
            ]))
            var selected = session
            selected.workspaceID = workspace.id
            try tx.update(selected)
            return workspace
        }
    }

    /// Reactivation, by an owner of the Workspace or an installation administrator. What the
    /// deactivation ended stays ended: sessions, runtime scopes and tokens do not come back.
    public func reactivateWorkspace(_ person: SignedIn, workspaceID: String) async throws -> Workspace {
        let now = clock.now()
        let userID = person.user.id, sessionID = person.session.id
        let isAdministrator = person.isAdministrator
        return try await store.write { tx in
            guard let workspace = try tx.workspace(id: workspaceID) else { throw DomainError.notFound("workspace \(workspaceID)") }
            let member = try tx.teamMember(workspaceID: workspaceID, userID: userID)
            guard member != nil || isAdministrator else { throw DomainError.notFound("workspace \(workspaceID)") }
            guard member?.workspaceRole == .owner || isAdministrator else {
                throw DomainError.forbidden("only an owner or an administrator may reactivate the workspace")
            }
            return try Self.reactivate(tx, workspace, DomainEvent(type: .workspaceReactivated, actor: userID, workspaceID: workspace.id,
                                                                  occurredAt: now, data: ["workspace_id": .string(workspace.id)])
                .through(consoleSession: sessionID))
        }
    }

    /// Reactivation by the CLI on the database (an operator of the installation).
    public func reactivateWorkspace(slug: String, actor: String) async throws -> Workspace {
        let now = clock.now()
        return try await store.write { tx in
            guard let workspace = try tx.workspace(slug: slug) else { throw DomainError.notFound("workspace \(slug)") }
            return try Self.reactivate(tx, workspace, DomainEvent(type: .workspaceReactivated, actor: actor, workspaceID: workspace.id,
                                                                  occurredAt: now, data: ["workspace_id": .string(workspace.id)]))
        }
    }

    /// The Workspace becomes active again; what deactivation ended stays ended (docs/console-access.md#deactivation).
    private static func reactivate(_ tx: any IdentityWriter, _ workspace: Workspace, _ event: DomainEvent) throws -> Workspace {
        guard workspace.status == .deactivated else { throw DomainError.refused("the workspace is active") }
        var workspace = workspace
        workspace.status = .active
        try tx.update(workspace)
        try tx.append(event)
        return workspace
    }

    /// Forced logout of one Team Member: every console session of theirs that started before now
    /// stops acting in this Workspace (other Workspaces are theirs to keep), and the sessions
    /// working in it end.
    public func forceLogout(_ caller: ConsoleCaller, teamMemberID: String) async throws -> Int {
        try caller.require(.securityManage)
        let now = clock.now()
        return try await store.write { tx in
            guard let member = try tx.teamMember(id: teamMemberID, workspaceID: caller.workspaceID) else {
                throw DomainError.notFound("team member \(teamMemberID)")
            }
            if member.workspaceRole == .owner, caller.workspaceRole != .owner {
                throw DomainError.forbidden("only an owner may force an owner out")
            }
            try tx.setConsoleSessionsValidAfter(workspaceID: caller.workspaceID, userID: member.userID, now)
            let ended = try tx.revokeConsoleSessions(userID: member.userID, workspaceID: caller.workspaceID, reason: "forced_logout", at: now)
            try tx.append(DomainEvent(type: .teamMemberForcedLogout, by: caller, workspaceID: caller.workspaceID, occurredAt: now, data: [
                "team_member_id": .string(member.id), "user_id": .string(member.userID),
                "console_sessions_ended": .array(ended.map { .string($0.id) }),
            ]))
            return ended.count
        }
    }

    // MARK: Installation

    public func updateInstallation(_ person: SignedIn, workspaceCreation: WorkspaceCreationPolicy) async throws -> Installation {
        guard person.isAdministrator else { throw DomainError.forbidden("only administrators change the installation") }
        return try await setWorkspaceCreation(workspaceCreation, actor: person.user.id, consoleSessionID: person.session.id)
    }

    /// The setting (nil: only read it), as an administrator or the CLI on the database sets it.
    public func setWorkspaceCreation(_ workspaceCreation: WorkspaceCreationPolicy?, actor userID: String,
                                     consoleSessionID: String? = nil) async throws -> Installation {
        let now = clock.now()
        return try await store.write { tx in
            guard var installation = try tx.installation() else { throw DomainError.refused("the installation is not set up") }
            guard let workspaceCreation else { return installation }
            installation.workspaceCreation = workspaceCreation
            try tx.update(installation)
            try Self.applyCreationPolicy(tx, installation)
            let event = DomainEvent(type: .installationUpdated, actor: userID, workspaceID: installation.workspaceID, occurredAt: now, data: [
                "workspace_creation": .string(workspaceCreation.rawValue),
            ])
            try tx.append(consoleSessionID.map { event.through(consoleSession: $0) } ?? event)
            return installation
        }
    }

    /// Registration at the console issuer is offered exactly when anyone may create a Workspace;
    /// anyone with a Lamba account may always sign in (and then sees only their Team memberships).
    static func applyCreationPolicy(_ tx: any IdentityWriter, _ installation: Installation) throws {
        guard var settings = try tx.environmentSettings(projectID: installation.consoleProjectID, environment: .production) else { return }
        settings.allowRegister = installation.workspaceCreation == .open
        settings.allowPublicJoin = true
        try tx.save(settings)
    }

    /// Issues a one-time sign-in link for an administrator (or any person, given by email), shown
    /// once; using it lets them choose a password and signs them in.
    public func issueSignInLink(email: String, actor: String) async throws -> (LambaUser, token: String) {
        let email = try EmailAddress.normalize(email)
        let secret = OpaqueSecret.generate(prefix: "lmb_sl_")
        let now = clock.now()
        let user = try await store.write { tx -> LambaUser in
            guard let user = try tx.user(email: email), user.status == .active else { throw DomainError.notFound("user \(email)") }
            try tx.insert(ConsoleSignInLink(tokenHash: secret.hash, userID: user.id, createdAt: now, expiresAt: now.addingTimeInterval(Self.signInLinkLifetime)))
            try tx.append(DomainEvent(type: .consoleSignInLinkIssued, actor: actor, workspaceID: nil, occurredAt: now, data: ["user_id": .string(user.id)]))
            return user
        }
        return (user, secret.value)
    }

    /// The person a sign-in link is for, while it is unused and unexpired.
    public func signInLinkUser(token: String) async throws -> LambaUser? {
        guard token.utf8.count <= 256 else { return nil }
        let hash = OpaqueSecret.hash(token)
        let now = clock.now()
        return try await store.read { tx in
            guard let link = try tx.consoleSignInLink(tokenHash: hash), link.usedAt == nil, now < link.expiresAt,
                let user = try tx.user(id: link.userID), user.status == .active
            else { return nil }
            return user
        }
    }

    /// Spends a sign-in link: sets the password chosen (required when the person has none yet)
    /// and marks the link used, in one transaction, so a link signs in at most once.
    public func redeemSignInLink(token: String, newPassword: String?) async throws -> LambaUser {
        guard token.utf8.count <= 256 else { throw DomainError.notFound("sign-in link") }
        if let newPassword { try MemberLifecycle.validatePassword(newPassword) }
        let hash = OpaqueSecret.hash(token)
        let passwordHash = try await newPassword.asyncMap { try await PasswordHasher.hashOffPool($0) }
        let now = clock.now()
        return try await store.write { tx in
            guard var link = try tx.consoleSignInLink(tokenHash: hash), link.usedAt == nil, now < link.expiresAt,
                var user = try tx.user(id: link.userID), user.status == .active
            else { throw DomainError.notFound("sign-in link (used, expired or unknown)") }
            guard passwordHash != nil || user.passwordHash != nil else { throw DomainError.invalid(field: "password", reason: "is required: choose one") }
            link.usedAt = now
            try tx.update(link)
            if let passwordHash {
                user.passwordHash = passwordHash
                try tx.update(user)
            }
            return user
        }
    }
}

extension Optional where Wrapped: Sendable {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
