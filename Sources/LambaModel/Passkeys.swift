public import Foundation

/// A user's passkey (docs/account-security.md#passkeys): a WebAuthn credential bound to one RP ID,
/// the host of the environment's issuer. The public key is kept as the COSE_Key bytes the
/// authenticator sent; the counter and backup state are what the last ceremony reported.
public struct Passkey: Sendable, Hashable {
    public var id: String
    public var userID: String
    /// The RP ID the credential is scoped to (WebAuthn L3 §5.1.2).
    public var rpID: String
    public var credentialID: [UInt8]
    public var publicKey: [UInt8]
    /// The COSE algorithm identifier (-7 ES256, -8 EdDSA, -257 RS256).
    public var algorithm: Int64
    public var signCount: Int64
    /// Backup eligible (BE): a synced passkey; fixed when it is created (WebAuthn L3 §6.1 flags).
    public var backupEligible: Bool
    public var backedUp: Bool
    public var aaguid: [UInt8]
    /// The name the user gave it, to tell passkeys apart in the list.
    public var name: String
    public var createdAt: Date
    public var lastUsedAt: Date?

    public init(id: String = EntityID.generate(.passkey), userID: String, rpID: String, credentialID: [UInt8], publicKey: [UInt8], algorithm: Int64,
                signCount: Int64, backupEligible: Bool, backedUp: Bool, aaguid: [UInt8], name: String, createdAt: Date, lastUsedAt: Date? = nil) {
        self.id = id
        self.userID = userID
        self.rpID = rpID
        self.credentialID = credentialID
        self.publicKey = publicKey
        self.algorithm = algorithm
        self.signCount = signCount
        self.backupEligible = backupEligible
        self.backedUp = backedUp
        self.aaguid = aaguid
        self.name = name
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }
}

public protocol PasskeyReader {
    func passkeys(userID: String) throws -> [Passkey]
    func passkey(rpID: String, credentialID: [UInt8]) throws -> Passkey?
    func passkeyCount(userID: String) throws -> Int
}

public protocol PasskeyWriter: PasskeyReader {
    /// Throws `StoreError.uniqueViolation` when the credential id is registered already for the RP ID.
    func insert(_ passkey: Passkey) throws
    /// Writes a ceremony's counter and backup state; false when another ceremony changed the counter
    /// since `expectedSignCount` was read (a race lost: only one assertion per counter value counts).
    func recordPasskeyUse(id: String, expectedSignCount: Int64, signCount: Int64, backedUp: Bool, at date: Date) throws -> Bool
    func deletePasskey(id: String, userID: String) throws -> Bool
    /// Marks a ceremony challenge used until it expires; false when it was used already (a replay).
    func useWebAuthnChallenge(hash: String, expiresAt: Date, now: Date) throws -> Bool
}

extension EventType {
    public static let userPasskeyRegistered: EventType = "user.passkey_registered"
    public static let userPasskeyRemoved: EventType = "user.passkey_removed"
}
