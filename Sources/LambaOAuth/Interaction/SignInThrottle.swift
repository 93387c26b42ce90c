public import Foundation
internal import LambaJOSE
public import LambaModel

/// Failed password checks remembered for one Workspace and one normalized email, so that every
/// `lamba` process on the database refuses the same guesses (DESIGN.md "Scale"). The email is kept
/// only as its SHA-256 hash; unknown emails get a record exactly like existing ones.
public struct SignInThrottleRecord: Sendable, Hashable {
    public var workspaceID: String
    /// base64url SHA-256 of the normalized (trimmed, lowercased) email.
    public var emailHash: String
    /// Failures since `windowStartedAt`.
    public var failures: Int
    public var windowStartedAt: Date
    /// Lockouts so far; each lasts twice as long as the one before.
    public var lockouts: Int
    /// Password checks are refused, without running Argon2, until then.
    public var lockedUntil: Date?
    /// After this the record is forgotten (and may be deleted).
    public var expiresAt: Date

    public init(workspaceID: String, emailHash: String, failures: Int, windowStartedAt: Date, lockouts: Int, lockedUntil: Date?, expiresAt: Date) {
        self.workspaceID = workspaceID
        self.emailHash = emailHash
        self.failures = failures
        self.windowStartedAt = windowStartedAt
        self.lockouts = lockouts
        self.lockedUntil = lockedUntil
        self.expiresAt = expiresAt
    }
}

/// Sign-in failures per Workspace and email hash.
public protocol SignInThrottleStorage {
    /// The record, expired or not; nil when none. - Throws: the store's errors.
    func signInThrottle(workspaceID: String, emailHash: String) throws -> SignInThrottleRecord?
    /// Inserts or replaces the record, and deletes a bounded batch of records expired before `now`.
    /// - Throws: the store's errors.
    func save(_ throttle: SignInThrottleRecord, now: Date) throws
    /// Forgets the failures of an email (a successful sign-in). - Throws: the store's errors.
    func deleteSignInThrottle(workspaceID: String, emailHash: String) throws
}

/// Brute-force protection of every runtime password check (the hosted login and the "prove it's
/// you" page of social sign-in), as Keycloak's brute force detection or Auth0's brute-force
/// protection: after `maxFailures` failures within `window`, checks for that email are refused for
/// `firstLockout`, doubling with each further lockout up to `longestLockout`. While a lockout is
/// remembered (until `window` after it ends) one more failure starts the next, longer one.
///
/// The lockout is read in the same snapshot as the user; only failures write, and a success writes
/// (deletes the record) only when there is one, inside the session's own transaction.
enum SignInThrottle {
    static let maxFailures = 5
    static let window: TimeInterval = 15 * 60
    static let firstLockout: TimeInterval = 60
    static let longestLockout: TimeInterval = 60 * 60

    struct Key: Sendable, Hashable {
        var workspaceID: String
        var emailHash: String

        init(workspaceID: String, email: String) {
            self.workspaceID = workspaceID
            self.emailHash = OpaqueSecret.hash(email.trimmingCharacters(in: .whitespaces).lowercased())
        }
    }

    /// How long checks stay refused, or nil when they are not.
    static func lockedFor(_ record: SignInThrottleRecord?, at now: Date) -> TimeInterval? {
        guard let until = record?.lockedUntil, until > now else { return nil }
        return until.timeIntervalSince(now)
    }

    /// The record after one more failure at `now`; `started` when that failure starts a lockout. A
    /// failure while a lockout is in force (a concurrent request) changes nothing.
    static func failing(_ record: SignInThrottleRecord?, _ key: Key, at now: Date) -> (record: SignInThrottleRecord, started: Bool) {
        if let record, lockedFor(record, at: now) != nil { return (record, false) }
        var next = record.flatMap { $0.expiresAt > now ? $0 : nil } ?? SignInThrottleRecord(
            workspaceID: key.workspaceID, emailHash: key.emailHash, failures: 0, windowStartedAt: now, lockouts: 0, lockedUntil: nil, expiresAt: now)
        if now >= next.windowStartedAt.addingTimeInterval(window) {
            next.failures = 0
            next.windowStartedAt = now
        }
        next.failures += 1
        next.lockedUntil = nil
        let started = next.failures >= maxFailures || next.lockouts > 0
        if started {
            let delay = min(firstLockout * Double(1 << min(next.lockouts, 12)), longestLockout)
            next.lockouts += 1
            next.lockedUntil = now.addingTimeInterval(delay)
            next.failures = 0
            next.windowStartedAt = now
        }
        next.expiresAt = max(next.windowStartedAt, next.lockedUntil ?? now).addingTimeInterval(window)
        return (next, started)
    }

    /// The same words for existing and unknown accounts.
    static func message(_ remaining: TimeInterval) -> String {
        let minutes = max(1, (Int(remaining.rounded()) + 59) / 60)
        return "too many attempts; try again in \(minutes) minute\(minutes == 1 ? "" : "s")"
    }

    /// Records a failed check at `now`; returns the message of the lockout in force afterwards, if
    /// any. The first failure of a lockout emits `user.sign_in_throttled` when the account exists.
    static func recordFailure(_ records: Transactions<any SignInThrottleStorage & EventLog>, _ context: ProviderContext, _ key: Key, userID: String?,
                              at now: Date) async throws(OAuthError) -> String? {
        let remaining = try await records.write { tx -> TimeInterval? in
            let current = try tx.signInThrottle(workspaceID: key.workspaceID, emailHash: key.emailHash)
            let (next, started) = failing(current, key, at: now)
            guard next != current else { return lockedFor(next, at: now) }
            try tx.save(next, now: now)
            if started, let userID, let until = next.lockedUntil {
                try tx.append(DomainEvent(type: .userSignInThrottled, actor: "system", workspaceID: context.workspace.id, projectID: context.project.id,
                                          environment: context.environment, occurredAt: now, data: [
                    "user_id": .string(userID), "lockouts": .integer(Int64(next.lockouts)),
                    "locked_until": .string(until.formatted(.iso8601)), "lockout_seconds": .integer(Int64(until.timeIntervalSince(now).rounded())),
                ]))
            }
            return lockedFor(next, at: now)
        }
        return remaining.map(message)
    }
}
