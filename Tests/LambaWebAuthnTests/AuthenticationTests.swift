import LambaJOSE
import LambaWebAuthn
import Testing

@Suite("WebAuthn L3 §7.2 verifying an authentication assertion")
struct AuthenticationTests {
    let rp = testRelyingParty()
    let challenge: [UInt8] = Array(repeating: 0x24, count: 32)

    @Test("a valid assertion verifies and reports the new counter", arguments: COSEAlgorithm.allCases)
    func validAssertion_verifies(algorithm: COSEAlgorithm) throws {
        let authenticator = try SoftwareAuthenticator(algorithm)
        let result = try rp.verifyAuthentication(
            try authenticator.assert(.get(challenge, signCount: 5)), challenge: challenge, credential: try authenticator.storedCredential(signCount: 4)
        )
        #expect(result.signCount == 5 && !result.backedUp && result.userVerified)
    }

    @Test("a credential registered here verifies its assertions", arguments: COSEAlgorithm.allCases)
    func registeredCredential_verifiesAssertion(algorithm: COSEAlgorithm) throws {
        let authenticator = try SoftwareAuthenticator(algorithm)
        let registered = try rp.verifyRegistration(try authenticator.register(.create(challenge), attestation: .packedSelf), challenge: challenge)
        let stored = StoredCredential(
            id: registered.id, userHandle: SoftwareAuthenticator.userHandle, publicKey: registered.publicKey, algorithm: registered.algorithm,
            signCount: registered.signCount, backupEligible: registered.backupEligible
        )
        let result = try rp.verifyAuthentication(try authenticator.assert(.get(challenge)), challenge: challenge, credential: stored)
        #expect(result.signCount == 1)
    }

    @Test("§7.2 step 11: the client data type must be webauthn.get")
    func wrongType_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.type = "webauthn.create"
        #expect(throws: WebAuthnError.wrongCeremonyType(expected: "webauthn.get")) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 12: the challenge must be the one issued")
    func wrongChallenge_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let response = try authenticator.assert(.get(Array(repeating: 0x25, count: 32)))
        #expect(throws: WebAuthnError.challengeMismatch) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 13: the origin must be one of the RP's")
    func wrongOrigin_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.origin = "https://evil.example.com"
        #expect(throws: WebAuthnError.originNotAllowed) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 14: crossOrigin true is refused")
    func crossOrigin_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.crossOrigin = true
        #expect(throws: WebAuthnError.crossOriginRefused) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 15: rpIdHash must be SHA-256 of the RP ID")
    func wrongRPIDHash_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.rpID = "evil.example.com"
        #expect(throws: WebAuthnError.rpIDHashMismatch) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 16: the UP flag must be set")
    func userNotPresent_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.flags = [.userVerified]
        #expect(throws: WebAuthnError.userNotPresent) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 17: the UV flag must be set when user verification is required")
    func userNotVerified_isRefusedWhenRequired() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.flags = [.userPresent]
        let response = try authenticator.assert(ceremony)
        #expect(throws: WebAuthnError.userNotVerified) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
        let result = try testRelyingParty(userVerification: .preferred).verifyAuthentication(
            response, challenge: challenge, credential: try authenticator.storedCredential()
        )
        #expect(!result.userVerified)
    }

    @Test("§7.2 step 18: BE must equal the BE recorded at registration")
    func backupEligibilityChange_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.flags = [.userPresent, .userVerified, .backupEligible]
        #expect(throws: WebAuthnError.backupEligibilityChanged) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
        #expect(throws: WebAuthnError.backupEligibilityChanged) {
            try rp.verifyAuthentication(
                try authenticator.assert(.get(challenge)), challenge: challenge, credential: try authenticator.storedCredential(backupEligible: true)
            )
        }
    }

    @Test("§7.2 step 18: BS is reported")
    func backupState_isReported() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.flags = [.userPresent, .userVerified, .backupEligible, .backedUp]
        let result = try rp.verifyAuthentication(
            try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential(backupEligible: true)
        )
        #expect(result.backedUp)
    }

    @Test("§6.1: BS without BE is refused in an assertion")
    func backedUpWithoutEligibility_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.flags = [.userPresent, .userVerified, .backedUp]
        #expect(throws: WebAuthnError.backupStateWithoutEligibility) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 21: a signature that does not verify is refused", arguments: COSEAlgorithm.allCases)
    func badSignature_isRefused(algorithm: COSEAlgorithm) throws {
        let authenticator = try SoftwareAuthenticator(algorithm)
        var response = try authenticator.assert(.get(challenge))
        response.signature[response.signature.count - 1] ^= 0x01
        #expect(throws: WebAuthnError.invalidSignature) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 21: a signature by another key is refused")
    func otherKeySignature_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let impostor = try SoftwareAuthenticator(.es256)
        var response = try impostor.assert(.get(challenge))
        response.credentialID = authenticator.credentialID
        #expect(throws: WebAuthnError.invalidSignature) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 21: a signature over other authenticator data is refused")
    func tamperedAuthenticatorData_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var response = try authenticator.assert(.get(challenge, signCount: 9))
        response.authenticatorData[36] = 10
        #expect(throws: WebAuthnError.invalidSignature) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§7.2 step 22: a counter that does not increase is refused as a possible clone", arguments: [(5, 5), (5, 4), (5, 0), (0, 0)] as [(UInt32, UInt32)])
    func counterRegression_isRefused(stored: UInt32, received: UInt32) throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let response = try authenticator.assert(.get(challenge, signCount: received))
        let credential = try authenticator.storedCredential(signCount: stored)
        if stored == 0 && received == 0 {
            // Both zero: the authenticator keeps no counter (§6.1.1).
            #expect(try rp.verifyAuthentication(response, challenge: challenge, credential: credential).signCount == 0)
        } else {
            #expect(throws: WebAuthnError.signCountNotIncreased(stored: stored, received: received)) {
                try rp.verifyAuthentication(response, challenge: challenge, credential: credential)
            }
        }
    }

    @Test("§7.2 step 6: a returned user handle must be the credential's user")
    func otherUserHandle_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let response = try authenticator.assert(.get(challenge), userHandle: Array("user-0002".utf8))
        #expect(throws: WebAuthnError.userHandleMismatch) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
        _ = try rp.verifyAuthentication(
            try authenticator.assert(.get(challenge), userHandle: nil), challenge: challenge, credential: try authenticator.storedCredential()
        )
    }

    @Test("§7.2 step 5: the assertion must name the stored credential")
    func otherCredentialID_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var response = try authenticator.assert(.get(challenge))
        response.credentialID = [1, 2, 3]
        #expect(throws: WebAuthnError.credentialNotAllowed) {
            try rp.verifyAuthentication(response, challenge: challenge, credential: try authenticator.storedCredential())
        }
    }

    @Test("§6.1: bytes after the authenticator data of an assertion are refused")
    func trailingBytes_areRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var ceremony = Ceremony.get(challenge)
        ceremony.trailing = [0xA0]
        #expect(throws: WebAuthnError.malformedAuthenticatorData("trailing bytes after the flagged data")) {
            try rp.verifyAuthentication(try authenticator.assert(ceremony), challenge: challenge, credential: try authenticator.storedCredential())
        }
    }
}
