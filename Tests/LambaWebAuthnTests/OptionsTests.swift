import LambaJOSE
import LambaWebAuthn
import Testing

@Suite("WebAuthn L3 §5.4, §5.5 ceremony options and challenges")
struct OptionsTests {
    @Test("§13.4.3: challenges are 32 random bytes")
    func challenges_areRandom() throws {
        let a = try WebAuthnChallenge.generate()
        let b = try WebAuthnChallenge.generate()
        #expect(a.count == 32 && b.count == 32 && a != b)
    }

    @Test("§5.4: creation options name the RP, the user, the algorithms and ask for a discoverable credential")
    func creationOptions_shape() {
        let rp = testRelyingParty()
        let options = rp.creationOptions(
            challenge: [0xFB, 0xFF], user: WebAuthnUser(id: [1, 2, 3], name: "ada@example.com", displayName: "Ada"), excludeCredentials: [[9, 9]],
            timeoutMilliseconds: 60_000
        )
        let expected: JSONValue = .object([
            "rp": .object(["id": "login.example.com", "name": "Example"]),
            "user": .object(["id": "AQID", "name": "ada@example.com", "displayName": "Ada"]),
            "challenge": "-_8",
            "pubKeyCredParams": [
                .object(["type": "public-key", "alg": -7]), .object(["type": "public-key", "alg": -8]), .object(["type": "public-key", "alg": -257]),
            ],
            "timeout": 60_000,
            "authenticatorSelection": .object(["residentKey": "required", "requireResidentKey": true, "userVerification": "required"]),
            "attestation": "none",
            "excludeCredentials": [.object(["type": "public-key", "id": "CQk"])],
        ])
        #expect(options == expected)
    }

    @Test("§5.5: request options carry the RP ID and may leave allowCredentials empty")
    func requestOptions_shape() {
        let rp = testRelyingParty(userVerification: .preferred)
        let expected: JSONValue = .object([
            "challenge": "AQ", "rpId": "login.example.com", "allowCredentials": [], "userVerification": "preferred", "timeout": 300_000,
        ])
        #expect(rp.requestOptions(challenge: [1]) == expected)
    }
}
