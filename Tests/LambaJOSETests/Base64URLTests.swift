import LambaJOSE
import Testing

@Suite("base64url (RFC 7515 §2, RFC 4648 §5)")
struct Base64URLTests {
    @Test("round-trips every length without padding")
    func roundTrip() throws {
        for length in 0..<70 {
            let input = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let encoded = Base64URL.encode(input)
            #expect(!encoded.contains("="))
            #expect(!encoded.contains("+") && !encoded.contains("/"))
            #expect(try Base64URL.decode(encoded) == input)
        }
    }

    @Test("known values")
    func knownValues() throws {
        #expect(Base64URL.encode(bytes("{\"alg\":\"ES256\"}")) == "eyJhbGciOiJFUzI1NiJ9")
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(try Base64URL.decode("-_8") == [0xFB, 0xFF])
    }

    @Test("padded input is refused", arguments: ["eyJhbGciOiJFUzI1NiJ9==", "-_8=", "AA=="])
    func paddingRefused(input: String) {
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode(input) }
    }

    @Test("characters outside the URL-safe alphabet are refused", arguments: ["+/8", "ab c", "ab\ncd", "abc.", "é"])
    func alphabetRefused(input: String) {
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode(input) }
    }

    @Test("non-canonical trailing bits are refused")
    func nonCanonicalRefused() {
        // "-_8" is canonical for FB FF; "-_9" carries a set unused bit and must not decode to the same bytes.
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode("-_9") }
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode("AB") }
        #expect((try? Base64URL.decode("AA")) == [0])
    }

    @Test("an impossible length is refused")
    func impossibleLength() {
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode("A") }
        #expect(throws: JOSEError.invalidBase64URL) { try Base64URL.decode("AAAAA") }
    }
}
