import LambaJOSE
import LambaWebAuthn
import Testing

@Suite("WebAuthn L3 §7.1 registering a new credential")
struct RegistrationTests {
    let rp = testRelyingParty()
    let challenge: [UInt8] = Array(repeating: 0x42, count: 32)

    @Test("a none-attested registration verifies and reports the credential", arguments: COSEAlgorithm.allCases)
    func noneAttestation_verifies(algorithm: COSEAlgorithm) throws {
        let authenticator = try SoftwareAuthenticator(algorithm)
        var ceremony = Ceremony.create(challenge)
        ceremony.flags = [.userPresent, .userVerified, .backupEligible, .backedUp]
        ceremony.signCount = 7
        let credential = try rp.verifyRegistration(try authenticator.register(ceremony), challenge: challenge)
        #expect(credential.id == authenticator.credentialID)
        #expect(credential.publicKey == (try authenticator.coseKey()))
        #expect(credential.algorithm == algorithm)
        #expect(credential.signCount == 7)
        #expect(credential.aaguid == authenticator.aaguid)
        #expect(credential.backupEligible && credential.backedUp && credential.userVerified)
    }

    @Test("§8.2.1 packed self attestation verifies with the credential key", arguments: COSEAlgorithm.allCases)
    func packedSelfAttestation_verifies(algorithm: COSEAlgorithm) throws {
        let authenticator = try SoftwareAuthenticator(algorithm)
        let response = try authenticator.register(.create(challenge), attestation: .packedSelf)
        let credential = try rp.verifyRegistration(response, challenge: challenge)
        #expect(credential.algorithm == algorithm)
        #expect(!credential.backupEligible && !credential.backedUp)
    }

    @Test("§7.1 step 7: the client data type must be webauthn.create")
    func wrongType_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.type = "webauthn.get"
        #expect(throws: WebAuthnError.wrongCeremonyType(expected: "webauthn.create")) {
            try rp.verifyRegistration(try SoftwareAuthenticator(.es256).register(ceremony), challenge: challenge)
        }
    }

    @Test("§7.1 step 8: the challenge must be the one issued")
    func wrongChallenge_isRefused() throws {
        let response = try SoftwareAuthenticator(.es256).register(.create(Array(repeating: 0x43, count: 32)))
        #expect(throws: WebAuthnError.challengeMismatch) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 9: the origin must be exactly one of the RP's", arguments: [
        "https://evil.example.com", "https://login.example.com.evil.test", "http://login.example.com", "https://login.example.com/",
    ])
    func wrongOrigin_isRefused(origin: String) throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.origin = origin
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.originNotAllowed) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 9: every allowed origin is accepted")
    func secondOrigin_isAccepted() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.origin = "https://other.example.com"
        _ = try rp.verifyRegistration(try SoftwareAuthenticator(.es256).register(ceremony), challenge: challenge)
    }

    @Test("§7.1 step 10: crossOrigin true is refused")
    func crossOrigin_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.crossOrigin = true
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.crossOriginRefused) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 10: a topOrigin is refused")
    func topOrigin_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.crossOrigin = true
        ceremony.topOrigin = "https://framer.example.net"
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.crossOriginRefused) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 10: a missing crossOrigin member means false")
    func missingCrossOrigin_isAccepted() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.crossOrigin = nil
        _ = try rp.verifyRegistration(try SoftwareAuthenticator(.es256).register(ceremony), challenge: challenge)
    }

    @Test("§7.1 step 13: rpIdHash must be SHA-256 of the RP ID")
    func wrongRPIDHash_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.rpID = "example.com"
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.rpIDHashMismatch) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 14: the UP flag must be set")
    func userNotPresent_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.flags = [.userVerified]
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.userNotPresent) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 15: the UV flag must be set when user verification is required")
    func userNotVerified_isRefusedWhenRequired() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.flags = [.userPresent]
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.userNotVerified) { try rp.verifyRegistration(response, challenge: challenge) }
        let credential = try testRelyingParty(userVerification: .preferred).verifyRegistration(response, challenge: challenge)
        #expect(!credential.userVerified)
    }

    @Test("§7.1 step 16 (§6.1): BS set without BE is refused")
    func backedUpWithoutEligibility_isRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.flags = [.userPresent, .userVerified, .backedUp]
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.backupStateWithoutEligibility) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 18: the credential algorithm must be one the RP offered")
    func algorithmNotOffered_isRefused() throws {
        let response = try SoftwareAuthenticator(.edDSA).register(.create(challenge))
        #expect(throws: WebAuthnError.algorithmNotAllowed(-8)) {
            try testRelyingParty(algorithms: [.es256]).verifyRegistration(response, challenge: challenge)
        }
    }

    @Test("§7.1 step 21 (§8.2.1): a packed self signature that does not verify is refused")
    func packedSelfBadSignature_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        var response = try authenticator.register(.create(challenge), attestation: .packedSelf)
        // The client data changes after signing, so the signature covers another hash.
        response.clientDataJSON = Ceremony.create(challenge).clientDataJSON + Array(" ".utf8)
        #expect(throws: WebAuthnError.invalidSignature) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 21 (§8.2.1): a packed self statement's alg must be the credential key's")
    func packedSelfAlgorithmMismatch_isRefused() throws {
        let response = try SoftwareAuthenticator(.es256).register(.create(challenge), attestation: .packedSelfClaiming(-257))
        #expect(throws: WebAuthnError.attestationAlgorithmMismatch) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 21: packed full attestation (x5c) is refused")
    func packedWithChain_isRefused() throws {
        let response = try SoftwareAuthenticator(.es256).register(.create(challenge), attestation: .packedWithChain)
        #expect(throws: WebAuthnError.fullAttestationRefused) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§7.1 step 20: an attestation format other than none and packed is refused", arguments: ["fido-u2f", "tpm", "apple", ""])
    func unknownFormat_isRefused(format: String) throws {
        let response = try SoftwareAuthenticator(.es256).register(.create(challenge), attestation: .format(format))
        #expect(throws: WebAuthnError.unsupportedAttestationFormat(format)) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§8.7: a none statement must be an empty map")
    func nonEmptyNoneStatement_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let authData = try authenticator.authenticatorData(.create(challenge), attested: true)
        let object = TestCBOR.map([
            (.text("fmt"), .text("none")), (.text("attStmt"), TestCBOR.map([(.text("alg"), .integer(-7))])), (.text("authData"), .bytes(authData)),
        ])
        let response = RegistrationResponse(clientDataJSON: Ceremony.create(challenge).clientDataJSON, attestationObject: TestCBOR.encode(object))
        #expect(throws: WebAuthnError.malformedAttestationObject("a none statement must be empty")) {
            try rp.verifyRegistration(response, challenge: challenge)
        }
    }

    @Test("§6.1: bytes after the attested credential data are refused")
    func trailingAuthenticatorDataBytes_areRefused() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.trailing = [0x00]
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        #expect(throws: WebAuthnError.malformedAuthenticatorData("trailing bytes after the flagged data")) {
            try rp.verifyRegistration(response, challenge: challenge)
        }
    }

    @Test("§6.5.4: bytes after the attestation object are refused")
    func trailingAttestationObjectBytes_areRefused() throws {
        var response = try SoftwareAuthenticator(.es256).register(.create(challenge))
        response.attestationObject += [0x00]
        #expect(throws: WebAuthnError.malformedCBOR("trailing bytes after the item")) { try rp.verifyRegistration(response, challenge: challenge) }
    }

    @Test("§6.1: an extensions map after the credential key is parsed when ED is set")
    func extensions_areParsed() throws {
        var ceremony = Ceremony.create(challenge)
        ceremony.extensions = TestCBOR.map([(.text("credProtect"), .integer(2))])
        let response = try SoftwareAuthenticator(.es256).register(ceremony)
        _ = try rp.verifyRegistration(response, challenge: challenge)
    }

    @Test("§7.1 step 12: a registration without attested credential data is refused")
    func missingAttestedCredentialData_isRefused() throws {
        let authenticator = try SoftwareAuthenticator(.es256)
        let authData = try authenticator.authenticatorData(.create(challenge), attested: false)
        let object = TestCBOR.map([(.text("fmt"), .text("none")), (.text("attStmt"), .map([])), (.text("authData"), .bytes(authData))])
        let response = RegistrationResponse(clientDataJSON: Ceremony.create(challenge).clientDataJSON, attestationObject: TestCBOR.encode(object))
        #expect(throws: WebAuthnError.attestedCredentialDataMissing) { try rp.verifyRegistration(response, challenge: challenge) }
    }
}
