/// The flags byte of authenticator data (WebAuthn L3 §6.1).
public struct AuthenticatorFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let userPresent = AuthenticatorFlags(rawValue: 1 << 0)
    public static let userVerified = AuthenticatorFlags(rawValue: 1 << 2)
    public static let backupEligible = AuthenticatorFlags(rawValue: 1 << 3)
    public static let backedUp = AuthenticatorFlags(rawValue: 1 << 4)
    public static let attestedCredentialData = AuthenticatorFlags(rawValue: 1 << 6)
    public static let extensionData = AuthenticatorFlags(rawValue: 1 << 7)
}

/// A new credential as the authenticator reports it (WebAuthn L3 §6.5.2).
public struct AttestedCredentialData: Sendable {
    public let aaguid: [UInt8]
    public let credentialID: [UInt8]
    public let publicKey: COSEKey
}

/// Authenticator data (WebAuthn L3 §6.1): rpIdHash, flags, signCount, then attested credential data
/// when AT is set and an extensions map when ED is set, and nothing after them.
public struct AuthenticatorData: Sendable {
    /// Credential IDs are at most 1023 bytes (WebAuthn L3 §5.8.3, §7.1 step 24).
    public static let maximumCredentialIDLength = 1023

    public let rpIDHash: [UInt8]
    public let flags: AuthenticatorFlags
    public let signCount: UInt32
    public let attestedCredentialData: AttestedCredentialData?
    public let extensions: CBORValue?
    /// The bytes as received; signatures are over these.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(WebAuthnError) {
        guard bytes.count >= 37 else { throw .malformedAuthenticatorData("shorter than 37 bytes") }
        self.bytes = bytes
        rpIDHash = Array(bytes[0..<32])
        flags = AuthenticatorFlags(rawValue: bytes[32])
        signCount = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
        // §6.1: BS may only be set on a backup-eligible credential.
        if flags.contains(.backedUp) && !flags.contains(.backupEligible) { throw .backupStateWithoutEligibility }

        var position = 37
        if flags.contains(.attestedCredentialData) {
            // §6.5.2: aaguid (16), credentialIdLength (u16, big-endian), credentialId, credentialPublicKey.
            guard bytes.count - position >= 18 else { throw .malformedAuthenticatorData("attested credential data is truncated") }
            let aaguid = Array(bytes[position..<position + 16])
            let idLength = Int(bytes[position + 16]) << 8 | Int(bytes[position + 17])
            position += 18
            guard idLength <= Self.maximumCredentialIDLength else { throw .malformedAuthenticatorData("the credential ID is longer than 1023 bytes") }
            guard bytes.count - position >= idLength else { throw .malformedAuthenticatorData("the credential ID is truncated") }
            let credentialID = Array(bytes[position..<position + idLength])
            position += idLength
            let (keyValue, keyLength) = try Self.item(bytes, at: position, what: "credential public key")
            let key = try COSEKey(value: keyValue, bytes: Array(bytes[position..<position + keyLength]))
            position += keyLength
            attestedCredentialData = AttestedCredentialData(aaguid: aaguid, credentialID: credentialID, publicKey: key)
        } else {
            attestedCredentialData = nil
        }
        if flags.contains(.extensionData) {
            let (value, length) = try Self.item(bytes, at: position, what: "extensions")
            guard value.mapValue != nil else { throw .malformedAuthenticatorData("extensions are not a map") }
            position += length
            extensions = value
        } else {
            extensions = nil
        }
        // With AT and ED clear nothing may follow signCount; with them set, nothing after their data.
        guard position == bytes.count else { throw .malformedAuthenticatorData("trailing bytes after the flagged data") }
    }

    private static func item(_ bytes: [UInt8], at position: Int, what: String) throws(WebAuthnError) -> (CBORValue, Int) {
        guard position < bytes.count else { throw .malformedAuthenticatorData("the \(what) flag is set but the data is missing") }
        do {
            return try CBOR.decodePrefix(bytes[position...])
        } catch {
            throw .malformedAuthenticatorData("\(what): \(error.description)")
        }
    }
}
