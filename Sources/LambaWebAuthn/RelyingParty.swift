import LambaJOSE

/// Whether a ceremony must carry the UV flag (WebAuthn L3 §5.8.6).
public enum UserVerificationRequirement: String, Sendable {
    case required
    /// Asked for, not enforced: UV is reported, its absence is not an error.
    case preferred
}

/// One relying party's WebAuthn settings: its RP ID, the origins its pages are served from, and the
/// checks it holds ceremonies to. Framework-free; the caller keeps challenges and credentials.
public struct WebAuthnRelyingParty: Sendable {
    /// The RP ID (WebAuthn L3 §5.1.2): a registrable domain, such as `login.example.com`.
    public let id: String
    /// The name shown by the browser's passkey dialog.
    public let name: String
    /// The exact origins (`https://login.example.com`) allowed in client data.
    public let origins: Set<String>
    public let userVerification: UserVerificationRequirement
    /// The credential algorithms offered and accepted, most preferred first.
    public let algorithms: [COSEAlgorithm]

    public init(
        id: String, name: String, origins: Set<String>, userVerification: UserVerificationRequirement = .required,
        algorithms: [COSEAlgorithm] = [.es256, .edDSA, .rs256]
    ) {
        self.id = id
        self.name = name
        self.origins = origins
        self.userVerification = userVerification
        self.algorithms = algorithms
    }

    /// The checks on authenticator data shared by both ceremonies.
    func verify(_ authData: AuthenticatorData) throws(WebAuthnError) {
        // §7.1 step 13 / §7.2 step 15: the rpIdHash is SHA-256 of this RP ID.
        guard constantTimeEquals(authData.rpIDHash, Digest.sha256(Array(id.utf8))) else { throw .rpIDHashMismatch }
        // §7.1 step 14 / §7.2 step 16: the user was present.
        guard authData.flags.contains(.userPresent) else { throw .userNotPresent }
        // §7.1 step 15 / §7.2 step 17: the user was verified, when this RP requires it.
        if userVerification == .required, !authData.flags.contains(.userVerified) { throw .userNotVerified }
        // §7.1 step 16 / §7.2 step 18: BS without BE is checked when the authenticator data is parsed.
    }
}
