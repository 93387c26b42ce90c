import LambaJOSE

/// What the browser returns from navigator.credentials.get() (WebAuthn L3 §5.2.2), decoded from base64url.
public struct AssertionResponse: Sendable {
    public var credentialID: [UInt8]
    public var clientDataJSON: [UInt8]
    public var authenticatorData: [UInt8]
    public var signature: [UInt8]
    public var userHandle: [UInt8]?

    public init(credentialID: [UInt8], clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], userHandle: [UInt8]? = nil) {
        self.credentialID = credentialID
        self.clientDataJSON = clientDataJSON
        self.authenticatorData = authenticatorData
        self.signature = signature
        self.userHandle = userHandle
    }
}

/// A credential record as stored at registration (WebAuthn L3 §7.1 step 26), looked up by credential ID.
public struct StoredCredential: Sendable {
    public var id: [UInt8]
    /// The user handle (user.id) the credential was created for.
    public var userHandle: [UInt8]
    public var publicKey: [UInt8]
    public var algorithm: COSEAlgorithm
    public var signCount: UInt32
    public var backupEligible: Bool

    public init(id: [UInt8], userHandle: [UInt8], publicKey: [UInt8], algorithm: COSEAlgorithm, signCount: UInt32, backupEligible: Bool) {
        self.id = id
        self.userHandle = userHandle
        self.publicKey = publicKey
        self.algorithm = algorithm
        self.signCount = signCount
        self.backupEligible = backupEligible
    }
}

/// A verified assertion: what the caller writes back to the credential record (WebAuthn L3 §7.2 step 24).
public struct AuthenticationResult: Sendable, Equatable {
    public let signCount: UInt32
    public let backedUp: Bool
    public let userVerified: Bool
}

extension WebAuthnRelyingParty {
    /// Verifies an authentication ceremony (WebAuthn L3 §7.2) against the stored credential it names.
    public func verifyAuthentication(
        _ response: AssertionResponse, challenge: [UInt8], credential: StoredCredential
    ) throws(WebAuthnError) -> AuthenticationResult {
        // Steps 5–6: the assertion is for this credential, and for its user when a handle is returned.
        guard constantTimeEquals(response.credentialID, credential.id) else { throw .credentialNotAllowed }
        if let userHandle = response.userHandle, !constantTimeEquals(userHandle, credential.userHandle) {
            throw .userHandleMismatch
        }
        // Step 7: the stored key, read as it was stored.
        let key = try COSEKey(bytes: credential.publicKey)
        guard key.algorithm == credential.algorithm else { throw .malformedPublicKey("the stored key's alg is not the stored algorithm") }

        // Steps 9–14: the client data.
        let clientData = try CollectedClientData(json: response.clientDataJSON)
        try clientData.verify(type: "webauthn.get", challenge: challenge, origins: origins)

        // Steps 15–17, and BS without BE (step 18).
        let authData = try AuthenticatorData(bytes: response.authenticatorData)
        try verify(authData)
        // §6.1: an assertion never carries attested credential data.
        if authData.attestedCredentialData != nil { throw .malformedAuthenticatorData("an assertion carries attested credential data") }
        // Step 18: BE is fixed when the credential is created; a change means another credential or a fault.
        guard authData.flags.contains(.backupEligible) == credential.backupEligible else { throw .backupEligibilityChanged }

        // Steps 20–21: the signature over authenticatorData || SHA-256(clientDataJSON).
        guard key.verify(response.signature, for: authData.bytes + clientData.hash) else { throw .invalidSignature }

        // Step 22: a counter that does not grow may mean a cloned authenticator (§6.1.1). Zero on both
        // sides means the authenticator keeps no counter.
        if authData.signCount != 0 || credential.signCount != 0, authData.signCount <= credential.signCount {
            throw .signCountNotIncreased(stored: credential.signCount, received: authData.signCount)
        }
        return AuthenticationResult(
            signCount: authData.signCount, backedUp: authData.flags.contains(.backedUp),
            userVerified: authData.flags.contains(.userVerified)
        )
    }
}
