public import Foundation
import LambaJOSE
import LambaPasswords

/// A verified change of the account's email (docs/account-recovery.md#email-change). Asking for
/// one changes nothing: it stores a one-time link to the new address and tells the old one. Only
/// the link, confirmed on the hosted page of the Project environment where it was asked for,
/// makes the new address the account's email, verified.
public struct EmailChange: Sendable {
    /// Change links per user per hour.
    public static let requestsPerHour = 5

    /// How the caller showed it is the account's owner and not only a holder of its token.
    public enum Proof: Sendable {
        /// The current password, for a user who has one.
        case currentPassword(String)
        /// A recent sign-in of the token's session, for a user without a password (social sign-in only).
        case recentSignIn
    }

    /// A change waiting for its link to be confirmed.
    public struct Pending: Sendable, Equatable {
        public var newEmail: String
        public var expiresAt: Date
    }

    /// Composes the mail that carries the link to the new address, and the notice to the old one.
    public typealias Confirmation = @Sendable (_ user: LambaUser, _ newEmail: String, _ token: String) -> OutgoingMail
    public typealias Notice = @Sendable (_ user: LambaUser, _ newEmail: String) -> OutgoingMail

    let store: any IdentityStore
    let clock: WallClock

    public init(store: any IdentityStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// Asks for a change to `newEmail`. Whether that address has an account is not said here
    /// (docs/account-recovery.md#no-account-oracle): the confirmation refuses a taken address.
    /// A new request voids the user's earlier ones. Returns nil when the current password is wrong
    /// (the caller counts it toward the sign-in throttle).
    /// - Throws: `DomainError.invalid` for a malformed or unchanged address or a missing password,
    ///   `.refused` past the hourly limit.
    public func request(userID: String, newEmail: String, proof: Proof, _ context: AccountRecovery.Context,
                        confirmation: @escaping Confirmation, notice: @escaping Notice) async throws -> Pending? {
        let newEmail = try EmailAddress.normalize(newEmail)
        guard let user = try await store.read({ tx in try tx.user(id: userID) }), user.status == .active else { return nil }
        guard newEmail != user.email else { throw DomainError.invalid(field: "email", reason: "is the account's email already") }
        switch proof {
        case .currentPassword(let password):
            guard password.utf8.count <= PasswordHasher.maximumLength,
                  await PasswordHasher.verifyOffPool(password, against: user.passwordHash ?? PasswordHasher.decoyHash), user.passwordHash != nil
            else { return nil }
        case .recentSignIn:
            // Only an account without a password has nothing else to type.
            guard user.passwordHash == nil else { throw DomainError.invalid(field: "current_password", reason: "is required") }
        }
        let now = clock.now()
        let secret = OpaqueSecret.generate(prefix: "lmb_ec_")
        // The refusal past the limit commits its event, so the write answers it rather than throwing.
        let outcome: Pending? = try await store.write { tx in
            // The password checked above must still be the user's, and the email the one it started from.
            guard let current = try tx.user(id: userID), current.status == .active, current.passwordHash == user.passwordHash,
                  current.email == user.email
            else { throw DomainError.conflict("the account changed meanwhile; sign in again") }
            guard try tx.countAccountTokens(userID: userID, purpose: .emailChange, since: now.addingTimeInterval(-3600)) < Self.requestsPerHour else {
                try tx.append(DomainEvent(type: .accountLinkThrottled, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                          environment: context.environment, occurredAt: now,
                                          data: ["user_id": .string(userID), "purpose": .string(AccountToken.Purpose.emailChange.rawValue)]))
                return nil
            }
            try tx.voidAccountTokens(userID: userID, purpose: .emailChange, at: now)
            let expiresAt = now.addingTimeInterval(AccountToken.Purpose.emailChange.lifetime)
            try tx.insert(AccountToken(tokenHash: secret.hash, purpose: .emailChange, userID: userID, email: current.email,
                                       workspaceID: context.workspaceID, projectID: context.projectID, environment: context.environment,
                                       createdAt: now, expiresAt: expiresAt, newEmail: newEmail))
            try tx.enqueue(confirmation(current, newEmail, secret.value))
            try tx.enqueue(notice(current, newEmail))
            try tx.append(DomainEvent(type: .emailChangeRequested, actor: userID, workspaceID: context.workspaceID, projectID: context.projectID,
                                      environment: context.environment, occurredAt: now, data: ["user_id": .string(userID)]))
            return Pending(newEmail: newEmail, expiresAt: expiresAt)
        }
        guard let outcome else { throw DomainError.refused("too many email changes were asked for in the last hour; try again later") }
        return outcome
    }

    /// The change a link would make, without using it up (the page a mail scanner may fetch).
    public func pending(token: String, _ context: AccountRecovery.Context) async throws -> Pending? {
        let now = clock.now()
        return try await store.read { tx in
            guard let found = try tx.accountToken(hash: OpaqueSecret.hash(token)), Self.applies(found, context, at: now),
                  let newEmail = found.newEmail, let user = try tx.user(id: found.userID), user.email == found.email
            else { return nil }
            return Pending(newEmail: newEmail, expiresAt: found.expiresAt)
        }
    }

    /// The user's change waiting in this Project environment (`pending_email` on `GET /me`).
    public func pending(userID: String, _ context: AccountRecovery.Context) async throws -> Pending? {
        let now = clock.now()
        return try await store.read { tx in
            guard let found = try tx.pendingEmailChange(userID: userID, projectID: context.projectID, environment: context.environment, at: now),
                  let newEmail = found.newEmail, try tx.user(id: userID)?.email == found.email
            else { return nil }
            return Pending(newEmail: newEmail, expiresAt: found.expiresAt)
        }
    }

    /// Applies the change a link carries: the new address becomes the account's email, verified
    /// (the link proved the inbox). It is not a credential change
    /// (docs/sessions-and-scopes.md#invalidation-triggers): sessions and tokens stay, and userinfo
    /// answers the new address from now on. The account's other links, made for the old address, end.
    /// - Throws: `AccountRecovery.deadLink` (`DomainError.refused`) for a used, expired or foreign
    ///   link, or one made before the email changed otherwise; `DomainError.conflict` when the new
    ///   address belongs to another account by now.
    public func confirm(token: String, _ context: AccountRecovery.Context) async throws -> LambaUser {
        let hash = OpaqueSecret.hash(token)
        let now = clock.now()
        return try await store.write { tx in
            guard let found = try tx.accountToken(hash: hash), Self.applies(found, context, at: now), let newEmail = found.newEmail,
                  var user = try tx.user(id: found.userID), user.status == .active, user.email == found.email
            else { throw AccountRecovery.deadLink }
            // Checked before the write: PostgreSQL would abort the whole transaction on the unique index.
            if try tx.user(email: newEmail) != nil {
                throw DomainError.conflict("\(newEmail) belongs to another account now; ask for the change again with another address")
            }
            guard try tx.useAccountToken(hash: hash, at: now) else { throw AccountRecovery.deadLink }
            let previous = user.email
            user.email = newEmail
            user.emailVerified = true
            try tx.update(user)
            for purpose in AccountToken.Purpose.allCases { try tx.voidAccountTokens(userID: user.id, purpose: purpose, at: now) }
            try tx.append(DomainEvent(type: .userEmailChanged, actor: user.id, workspaceID: found.workspaceID, projectID: found.projectID,
                                      environment: found.environment, occurredAt: now, data: [
                "user_id": .string(user.id), "email": .string(newEmail), "previous_email": .string(previous),
            ]))
            return user
        }
    }

    /// A change link works only in the Project environment it was asked for, once, before it expires.
    static func applies(_ token: AccountToken, _ context: AccountRecovery.Context, at now: Date) -> Bool {
        token.purpose == .emailChange && token.isUsable(at: now) && token.workspaceID == context.workspaceID
            && token.projectID == context.projectID && token.environment == context.environment
    }
}
