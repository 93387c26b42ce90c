import LambaJOSE
import LambaWebAuthn
import Testing

@Suite("WebAuthn L3 §6.1 authenticator data")
struct AuthenticatorDataTests {
    static let header: [UInt8] = Digest.sha256(Array("login.example.com".utf8))

    @Test("reads rpIdHash, flags and a big-endian signCount")
    func readsFixedFields() throws {
        let data = try AuthenticatorData(bytes: Self.header + [0x05, 0x01, 0x02, 0x03, 0x04])
        #expect(data.rpIDHash == Self.header)
        #expect(data.flags == [.userPresent, .userVerified])
        #expect(data.signCount == 0x0102_0304)
        #expect(data.attestedCredentialData == nil && data.extensions == nil)
    }

    @Test("data shorter than 37 bytes is refused")
    func short_isRefused() {
        #expect(throws: WebAuthnError.malformedAuthenticatorData("shorter than 37 bytes")) {
            try AuthenticatorData(bytes: Self.header + [0x01, 0, 0, 0])
        }
    }

    @Test("AT set with no credential data is refused")
    func attestedFlagWithoutData_isRefused() {
        #expect(throws: WebAuthnError.malformedAuthenticatorData("attested credential data is truncated")) {
            try AuthenticatorData(bytes: Self.header + [0x41, 0, 0, 0, 0])
        }
    }

    @Test("ED set with no extensions is refused")
    func extensionFlagWithoutData_isRefused() {
        #expect(throws: WebAuthnError.malformedAuthenticatorData("the extensions flag is set but the data is missing")) {
            try AuthenticatorData(bytes: Self.header + [0x81, 0, 0, 0, 0])
        }
    }

    @Test("extensions that are not a map are refused")
    func extensionsNotMap_isRefused() {
        #expect(throws: WebAuthnError.malformedAuthenticatorData("extensions are not a map")) {
            try AuthenticatorData(bytes: Self.header + [0x81, 0, 0, 0, 0, 0x80])
        }
    }

    @Test("bytes with AT and ED clear are refused")
    func trailingWithoutFlags_isRefused() {
        #expect(throws: WebAuthnError.malformedAuthenticatorData("trailing bytes after the flagged data")) {
            try AuthenticatorData(bytes: Self.header + [0x01, 0, 0, 0, 0, 0xA0])
        }
    }

    @Test("a credential ID longer than 1023 bytes is refused")
    func longCredentialID_isRefused() {
        let bytes = Self.header + [0x41, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0x04, 0x00] + [UInt8](repeating: 0, count: 1024)
        #expect(throws: WebAuthnError.malformedAuthenticatorData("the credential ID is longer than 1023 bytes")) {
            try AuthenticatorData(bytes: bytes)
        }
    }

    @Test("a credential ID length past the end is refused")
    func truncatedCredentialID_isRefused() {
        let bytes = Self.header + [0x41, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0x00, 0x10, 0x01]
        #expect(throws: WebAuthnError.malformedAuthenticatorData("the credential ID is truncated")) { try AuthenticatorData(bytes: bytes) }
    }

    @Test("every truncation of attested authenticator data throws")
    func everyTruncation_throws() throws {
        var ceremony = Ceremony.create([1])
        ceremony.extensions = TestCBOR.map([(.text("credProtect"), .integer(2))])
        let bytes = try SoftwareAuthenticator(.rs256).authenticatorData(ceremony, attested: true)
        _ = try AuthenticatorData(bytes: bytes)
        for cut in 0..<bytes.count {
            #expect(throws: WebAuthnError.self) { try AuthenticatorData(bytes: Array(bytes.prefix(cut))) }
        }
    }
}
