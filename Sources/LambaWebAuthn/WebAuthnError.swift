/// Every reason a WebAuthn ceremony is refused. Each check has its own case so that callers and tests
/// can tell a wrong origin from a forged signature; `description` is a short human message.
public enum WebAuthnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// CBOR that is not well formed or not in the subset WebAuthn uses (RFC 8949).
    case malformedCBOR(String)
    case malformedClientData(String)
    /// `type` in the client data is not the ceremony's (`webauthn.create` / `webauthn.get`).
    case wrongCeremonyType(expected: String)
    case challengeMismatch
    case originNotAllowed
    /// The ceremony ran in a cross-origin iframe; Lamba's pages never embed it.
    case crossOriginRefused
    case malformedAuthenticatorData(String)
    case rpIDHashMismatch
    case userNotPresent
    case userNotVerified
    /// BS set without BE (WebAuthn L3 §6.1, flags).
    case backupStateWithoutEligibility
    case attestedCredentialDataMissing
    case malformedAttestationObject(String)
    /// Only `none` and `packed` self attestation are accepted.
    case unsupportedAttestationFormat(String)
    /// A `packed` statement with an `x5c` chain: full attestation needs trust anchors Lamba does not keep.
    case fullAttestationRefused
    case attestationAlgorithmMismatch
    case malformedPublicKey(String)
    case unsupportedAlgorithm(Int64)
    case algorithmNotAllowed(Int64)
    case invalidSignature
    /// The counter did not grow: the authenticator may have been cloned (WebAuthn L3 §6.1.1).
    case signCountNotIncreased(stored: UInt32, received: UInt32)
    /// The BE flag differs from the one recorded at registration.
    case backupEligibilityChanged
    case credentialNotAllowed
    case userHandleMismatch

    public var description: String {
        switch self {
        case .malformedCBOR(let why): "the CBOR is malformed: \(why)"
        case .malformedClientData(let why): "the client data is malformed: \(why)"
        case .wrongCeremonyType(let expected): "the client data type is not \(expected)"
        case .challengeMismatch: "the challenge does not match"
        case .originNotAllowed: "the origin is not allowed"
        case .crossOriginRefused: "a cross-origin ceremony is not allowed"
        case .malformedAuthenticatorData(let why): "the authenticator data is malformed: \(why)"
        case .rpIDHashMismatch: "the authenticator data is for another RP ID"
        case .userNotPresent: "the user was not present"
        case .userNotVerified: "the user was not verified"
        case .backupStateWithoutEligibility: "the credential is marked backed up but not backup eligible"
        case .attestedCredentialDataMissing: "the authenticator data carries no credential"
        case .malformedAttestationObject(let why): "the attestation object is malformed: \(why)"
        case .unsupportedAttestationFormat(let fmt): "the attestation format \(fmt) is not supported"
        case .fullAttestationRefused: "attestation with a certificate chain is not accepted"
        case .attestationAlgorithmMismatch: "the attestation algorithm is not the credential key's"
        case .malformedPublicKey(let why): "the credential public key is malformed: \(why)"
        case .unsupportedAlgorithm(let alg): "the COSE algorithm \(alg) is not supported"
        case .algorithmNotAllowed(let alg): "the COSE algorithm \(alg) is not allowed"
        case .invalidSignature: "the signature does not verify"
        case .signCountNotIncreased(let stored, let received):
            "the signature counter did not increase (\(stored) then \(received)): possibly a cloned authenticator"
        case .backupEligibilityChanged: "the credential's backup eligibility changed"
        case .credentialNotAllowed: "the credential is not the expected one"
        case .userHandleMismatch: "the user handle does not match the credential's user"
        }
    }
}
