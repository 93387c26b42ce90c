public import Foundation
import LambaJOSE
import LambaPasswords

/// A one-time link sent by email: a password reset, an email verification or the confirmation of
/// an email change (docs/account-recovery.md). Only the SHA-256 of the token is stored; a token works once,
/// before it expires, and only for the purpose and the email it was made for.
public struct AccountToken: Sendable, Hashable {
    public enum Purpose: String, Sendable, Hashable, CaseIterable {
        case passwordReset = "password_reset"
        case emailVerification = "email_verification"
        /// Confirms a change of the account's email; the link goes to the new address.
        case emailChange = "email_change"

        /// Short-lived: a reset link is a password; a verification link only proves the inbox.
        public var lifetime: TimeInterval {
            switch self {
            case .passwordReset: 30 * 60
            case .emailVerification, .emailChange: 24 * 3600
            }
        }
    }

    public var tokenHash: String
    public var purpose: Purpose
    public var userID: String
    /// The account's email when the link was made: the link works only while it still is. For a
    /// verification or a reset it is also the address the link went to.
    public var email: String
    /// An email change's new address, where its link went (docs/account-recovery.md#email-change).
    public var newEmail: String?
    /// Where it was asked for: the Project environment whose pages and mail the person saw.
    public var workspaceID: String
    public var projectID: String
    public var environment: Environment
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(tokenHash: String, purpose: Purpose, userID: String, email: String, workspaceID: String, projectID: String,
                environment: Environment, createdAt: Date, expiresAt: Date, usedAt: Date? = nil, newEmail: String? = nil) {
        self.tokenHash = tokenHash
        self.purpose = purpose
        self.userID = userID
        self.email = email
        self.newEmail = newEmail
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    public func isUsable(at date: Date) -> Bool { usedAt == nil && date < expiresAt }
}

/// An email waiting in the durable outbox (docs/account-recovery.md#mail-outbox): written in the
/// transaction of the change that sends it, delivered by the mail dispatcher with retries.
public struct OutgoingMail: Sendable, Hashable {
    public var id: String
    public var workspaceID: String
    public var projectID: String?
    public var environment: Environment?
    /// What it is (a `MailKind`: `password_reset`, `invite`, …), for the delivery log.
    public var kind: String
    public var recipient: String
    public var subject: String
    public var text: String
    public var html: String
    public var createdAt: Date

    public init(id: String = EntityID.generate(.mail), workspaceID: String, projectID: String?, environment: Environment?, kind: String,
                recipient: String, subject: String, text: String, html: String, createdAt: Date) {
        self.id = id
        self.workspaceID = workspaceID
        self.projectID = projectID
        self.environment = environment
        self.kind = kind
        self.recipient = recipient
        self.subject = subject
        self.text = text
        self.html = html
        self.createdAt = createdAt
    }
}

public protocol AccountTokenReader {
    func accountToken(hash: String) throws -> AccountToken?
    /// How many tokens of `purpose` were made for the user since `date` (the rate limit).
    func countAccountTokens(userID: String, purpose: AccountToken.Purpose, since date: Date) throws -> Int
    /// The user's newest email change asked for in this Project environment that can still be
    /// confirmed at `date`, if any.
    func pendingEmailChange(userID: String, projectID: String, environment: Environment, at date: Date) throws -> AccountToken?
}

public protocol AccountTokenWriter: AccountTokenReader {
    func insert(_ token: AccountToken) throws
    /// Marks the token used; false when it was used already (a replay or a race lost).
    func useAccountToken(hash: String, at date: Date) throws -> Bool
    /// Ends the user's other unused tokens of `purpose`: a reset or a verification makes the rest void.
    func voidAccountTokens(userID: String, purpose: AccountToken.Purpose, at date: Date) throws
}

public protocol MailOutbox {
    func enqueue(_ mail: OutgoingMail) throws
}

/// Password reset and email verification, the rules (docs/account-recovery.md).
public struct AccountRecovery: Sendable {
    /// Reset links per user per hour; more requests are answered alike and send nothing.
    public static let resetsPerHour = 3
    public static let verificationsPerHour = 5

    /// Where a link is asked for, and the Project it speaks for.
    public struct Context: Sendable {
        public var workspaceID: String
        public var projectID: String
        public var environment: Environment
        public init(workspaceID: String, projectID: String, environment: Environment) {
            self.workspaceID = workspaceID
            self.projectID = projectID
            self.environment = environment
        }
    }

    /// Composes the mail that carries a link, from the user and the token's value.
    public typealias Compose = @Sendable (_ user: LambaUser, _ token: String) -> OutgoingMail

    let store: any IdentityStore
    let clock: WallClock

    public init(store: any IdentityStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// "Forgot password": sends a link when the email belongs to an active user with a password,
    /// within the rate limit. The caller answers the same in every case, so nothing here tells
    /// whether an account exists. Returns whether a mail was queued (for tests and metrics only).
    @discardableResult
    public func requestPasswordReset(email: String, _ context: Context, compose: @escaping Compose) async throws -> Bool {
        guard let email = try? EmailAddress.normalize(email) else { return false }
        return try await issue(.passwordReset, context, compose: compose) { tx in
            guard let user = try tx.user(email: email), user.status == .active, user.passwordHash != nil else { return nil }
            return user
        }
    }

    /// Sends (or sends again) the link that verifies the user's current email.
    @discardableResult
    public func requestEmailVerification(userID: String, _ context: Context, compose: @escaping Compose) async throws -> Bool {
        try await issue(.emailVerification, context, compose: compose) { tx in
            guard let user = try tx.user(id: userID), user.status == .active, !user.emailVerified else { return nil }
            return user
        }
    }

    private func issue(_ purpose: AccountToken.Purpose, _ context: Context, compose: @escaping Compose,
                       who: @escaping @Sendable (any IdentityWriter) throws -> LambaUser?) async throws -> Bool {
        let now = clock.now()
        let secret = OpaqueSecret.generate(prefix: purpose == .passwordReset ? "lmb_pr_" : "lmb_ev_")
        return try await store.write { tx in
            guard let user = try who(tx) else { return false }
            let limit = purpose == .passwordReset ? Self.resetsPerHour : Self.verificationsPerHour
            guard try tx.countAccountTokens(userID: user.id, purpose: purpose, since: now.addingTimeInterval(-3600)) < limit else {
                try tx.append(DomainEvent(type: .accountLinkThrottled, actor: "system", workspaceID: context.workspaceID, projectID: context.projectID,
                                          environment: context.environment, occurredAt: now,
                                          data: ["user_id": .string(user.id), "purpose": .string(purpose.rawValue)]))
                return false
            }
            try tx.insert(AccountToken(tokenHash: secret.hash, purpose: purpose, userID: user.id, email: user.email, workspaceID: context.workspaceID,
                                       projectID: context.projectID, environment: context.environment, createdAt: now,
                                       expiresAt: now.addingTimeInterval(purpose.lifetime)))
            try tx.enqueue(compose(user, secret.value))
            try tx.append(DomainEvent(type: purpose == .passwordReset ? .passwordResetRequested : .emailVerificationSent, actor: "system",
                                      workspaceID: context.workspaceID, projectID: context.projectID, environment: context.environment,
                                      occurredAt: now, data: ["user_id": .string(user.id)]))
            return true
        }
    }

    /// Whether a reset link can still be used (the page that asks for the new password).
    public func resetLinkIsUsable(_ token: String) async throws -> Bool {
        let now = clock.now()
        return try await store.read { tx in
            guard let found = try tx.accountToken(hash: OpaqueSecret.hash(token)), found.purpose == .passwordReset else { return false }
            return found.isUsable(at: now)
        }
    }

    /// Sets a new password through a reset link. A password reset is a credential change
    /// (docs/sessions-and-scopes.md#invalidation-triggers): every identity session, runtime scope and
    /// console session of the user ends, in every Workspace, and the user is told by mail.
    public func resetPassword(token: String, newPassword: String, notify: @escaping @Sendable (LambaUser) -> OutgoingMail) async throws -> LambaUser {
        try MemberLifecycle.validatePassword(newPassword)
        let hash = OpaqueSecret.hash(token)
        let now = clock.now()
        // Refuse a dead link before spending a password hash on it.
        guard try await store.read({ tx in try tx.accountToken(hash: hash) })?.isUsable(at: now) == true else { throw Self.deadLink }
        let passwordHash = try await PasswordHasher.hashOffPool(newPassword)
        return try await store.write { tx in
            guard let found = try tx.accountToken(hash: hash), found.purpose == .passwordReset, found.isUsable(at: now),
                  var user = try tx.user(id: found.userID), user.status == .active, user.email == found.email,
                  try tx.useAccountToken(hash: hash, at: now)
            else { throw Self.deadLink }
            user.passwordHash = passwordHash
            // The link proved the inbox.
            user.emailVerified = true
            try tx.update(user)
            try tx.voidAccountTokens(userID: user.id, purpose: .passwordReset, at: now)
            let ended = try Self.endEverySession(tx, userID: user.id, reason: "password_reset", at: now)
            try tx.append(DomainEvent(type: .userPasswordReset, actor: user.id, workspaceID: found.workspaceID, projectID: found.projectID,
                                      environment: found.environment, occurredAt: now, data: [
                "user_id": .string(user.id), "reason": "password_reset", "sessions_revoked": .integer(Int64(ended.sessions)),
                "runtime_scopes_revoked": .integer(Int64(ended.scopes)), "console_sessions_revoked": .integer(Int64(ended.consoleSessions)),
            ]))
            try tx.enqueue(notify(user))
            return user
        }
    }

    /// Changes the password of a signed-in user who typed the current one. Like a reset it is a
    /// credential change: every session of the user ends, this one too, and the user is told by mail.
    /// A wrong current password is `nil` (the caller counts it toward the sign-in throttle).
    public func changePassword(userID: String, currentPassword: String, newPassword: String, _ context: Context,
                               notify: @escaping @Sendable (LambaUser) -> OutgoingMail) async throws -> LambaUser? {
        try MemberLifecycle.validatePassword(newPassword)
        guard currentPassword.utf8.count <= PasswordHasher.maximumLength,
              let user = try await store.read({ tx in try tx.user(id: userID) }), user.status == .active
        else { return nil }
        guard await PasswordHasher.verifyOffPool(currentPassword, against: user.passwordHash ?? PasswordHasher.decoyHash), user.passwordHash != nil else {
            return nil
        }
        let passwordHash = try await PasswordHasher.hashOffPool(newPassword)
        let now = clock.now()
        return try await store.write { tx in
            // The hash checked above must still be the user's: a concurrent change wins once.
            guard var current = try tx.user(id: userID), current.passwordHash == user.passwordHash, current.status == .active else {
                throw DomainError.conflict("the password was changed meanwhile; sign in again")
            }
            current.passwordHash = passwordHash
            try tx.update(current)
            try tx.voidAccountTokens(userID: userID, purpose: .passwordReset, at: now)
            let ended = try Self.endEverySession(tx, userID: userID, reason: "password_changed", at: now)
            try tx.append(DomainEvent(type: .userPasswordChanged, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                      environment: context.environment, occurredAt: now, data: [
                "user_id": .string(userID), "reason": "password_changed", "sessions_revoked": .integer(Int64(ended.sessions)),
                "runtime_scopes_revoked": .integer(Int64(ended.scopes)), "console_sessions_revoked": .integer(Int64(ended.consoleSessions)),
            ]))
            try tx.enqueue(notify(current))
            return current
        }
    }

    /// Verifies the email a verification link was sent to, if it is still the user's.
    public func verifyEmail(token: String) async throws -> LambaUser {
        let hash = OpaqueSecret.hash(token)
        let now = clock.now()
        return try await store.write { tx in
            guard let found = try tx.accountToken(hash: hash), found.purpose == .emailVerification, found.isUsable(at: now),
                  var user = try tx.user(id: found.userID), user.status == .active, user.email == found.email,
                  try tx.useAccountToken(hash: hash, at: now)
            else { throw Self.deadLink }
            try tx.voidAccountTokens(userID: user.id, purpose: .emailVerification, at: now)
            guard !user.emailVerified else { return user }
            user.emailVerified = true
            try tx.update(user)
            try tx.append(DomainEvent(type: .userEmailVerified, actor: user.id, workspaceID: found.workspaceID, projectID: found.projectID,
                                      environment: found.environment, occurredAt: now, data: ["user_id": .string(user.id), "email": .string(user.email)]))
            return user
        }
    }

    static let deadLink = DomainError.refused("this link was used already, has expired or is not valid")

    /// Every sign-in of the user, everywhere: the runtime scopes and identity sessions of each
    /// Workspace they hold any in, and their console sessions.
    static func endEverySession(_ tx: any IdentityWriter, userID: String, reason: String, at now: Date) throws -> (sessions: Int, scopes: Int, consoleSessions: Int) {
        let workspaces = Set(try tx.runtimeScopes(userID: userID, activeOnly: true).map(\.workspaceID))
            .union(try tx.identitySessionWorkspaces(userID: userID))
        var sessions = 0, scopes = 0
        for workspaceID in workspaces.sorted() {
            let ended = try tx.revokeRuntimeScopes(.user(workspaceID: workspaceID, userID: userID), reason: reason, at: now)
            try MemberLifecycle.appendScopesRevoked(tx, ended, reason: reason, actor: userID)
            scopes += ended.count
            for session in try tx.revokeIdentitySessions(workspaceID: workspaceID, userID: userID, reason: reason, at: now) {
                sessions += 1
                try tx.append(DomainEvent(type: .sessionRevoked, actor: userID, workspaceID: session.workspaceID, sessionID: session.id, occurredAt: now,
                                          data: ["session_id": .string(session.id), "user_id": .string(userID), "reason": .string(reason)]))
            }
        }
        let console = try tx.revokeConsoleSessions(userID: userID, workspaceID: nil, reason: reason, at: now)
        return (sessions, scopes, console.count)
    }
}

extension EventType {
    public static let passwordResetRequested: EventType = "user.password_reset_requested"
    public static let userPasswordReset: EventType = "user.password_reset"
    public static let userPasswordChanged: EventType = "user.password_changed"
    public static let emailVerificationSent: EventType = "user.email_verification_sent"
    public static let userEmailVerified: EventType = "user.email_verified"
    public static let emailChangeRequested: EventType = "user.email_change_requested"
    public static let userEmailChanged: EventType = "user.email_changed"
    /// More links asked for than the hourly limit allows: none was sent.
    public static let accountLinkThrottled: EventType = "user.account_link_throttled"
    public static let mailDelivered: EventType = "mail.delivered"
    public static let mailFailed: EventType = "mail.failed"
}
