import LambaJOSE

/// What the browser returns from navigator.credentials.create() (WebAuthn L3 §5.2.1), decoded from base64url.
public struct RegistrationResponse: Sendable {
    public var clientDataJSON: [UInt8]
    public var attestationObject: [UInt8]

    public init(clientDataJSON: [UInt8], attestationObject: [UInt8]) {
        self.clientDataJSON = clientDataJSON
        self.attestationObject = attestationObject
    }
}

/// A verified new credential: what the caller stores to check later assertions (WebAuthn L3 §7.1 step 26).
public struct RegisteredCredential: Sendable {
    public let id: [UInt8]
    /// The COSE_Key bytes, to be stored as they are.
    public let publicKey: [UInt8]
    public let algorithm: COSEAlgorithm
    public let signCount: UInt32
    public let aaguid: [UInt8]
    public let backupEligible: Bool
    public let backedUp: Bool
    public let userVerified: Bool
}

extension WebAuthnRelyingParty {
    /// Verifies a registration ceremony (WebAuthn L3 §7.1) for the challenge this server issued.
    public func verifyRegistration(_ response: RegistrationResponse, challenge: [UInt8]) throws(WebAuthnError) -> RegisteredCredential {
        // Steps 5–11: the client data, and its hash.
        let clientData = try CollectedClientData(json: response.clientDataJSON)
        try clientData.verify(type: "webauthn.create", challenge: challenge, origins: origins)

        // Step 12: the attestation object is a CBOR map {fmt, attStmt, authData} (§6.5.4).
        let attestation = try AttestationObject(bytes: response.attestationObject)
        let authData = try AuthenticatorData(bytes: attestation.authData)

        // Steps 13–16.
        try verify(authData)
        guard let credential = authData.attestedCredentialData else { throw .attestedCredentialDataMissing }
        // Step 18: an algorithm this RP offered in pubKeyCredParams.
        let algorithm = credential.publicKey.algorithm
        guard algorithms.contains(algorithm) else { throw .algorithmNotAllowed(algorithm.rawValue) }

        // Steps 20–21: only `none` and packed self attestation are accepted (§8.7, §8.2).
        try attestation.verify(authData: authData, clientDataHash: clientData.hash, credentialKey: credential.publicKey)

        return RegisteredCredential(
            id: credential.credentialID, publicKey: credential.publicKey.bytes, algorithm: algorithm,
            signCount: authData.signCount, aaguid: credential.aaguid,
            backupEligible: authData.flags.contains(.backupEligible), backedUp: authData.flags.contains(.backedUp),
            userVerified: authData.flags.contains(.userVerified)
        )
    }
}
