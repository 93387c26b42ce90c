import LambaOAuth
import Testing

/// `application/x-www-form-urlencoded` (RFC 6749 Appendix B), as the token, revocation,
/// introspection and access check endpoints read their bodies.
@Suite("form encoding")
struct FormEncodingTests {
    @Test("pairs decode in order with duplicates kept; + is a space; %XX is a byte; a missing = is an empty value")
    func decode_keepsOrderAndDuplicates() throws {
        let parameters = try OAuthParameters.decode("grant_type=refresh_token&scope=a+b&scope=%61%2Bc&flag&token=eyJ.x-y_z&=orphan&&note=%C3%A9")
        #expect(parameters.pairs.map(\.name) == ["grant_type", "scope", "scope", "flag", "token", "note"])
        #expect(parameters.pairs.map(\.value) == ["refresh_token", "a b", "a+c", "", "eyJ.x-y_z", "é"])
        let equalsInValue = try OAuthParameters.decode(Array("a=b=c".utf8))
        #expect(equalsInValue.pairs.first?.value == "b=c")
    }

    @Test("malformed escapes and bytes that are not UTF-8 are invalid_request, with or without escapes")
    func decode_refusesMalformedInput() {
        for body in ["a=%zz", "a=%", "a=%4", "a=b%", "%=x"] {
            #expect(throws: OAuthError.self) { try OAuthParameters.decode(body) }
        }
        #expect(throws: OAuthError.self) { try OAuthParameters.decode([UInt8(ascii: "a"), UInt8(ascii: "="), 0xFF, 0xFE]) }
        #expect(throws: OAuthError.self) { try OAuthParameters.decode("a=%FF%FE") }
        #expect(throws: OAuthError.self) { try OAuthParameters.decode([UInt8](repeating: UInt8(ascii: "a"), count: 64 * 1024 + 1)) }
    }

    @Test("encoding and decoding round-trip")
    func encode_roundTrips() throws {
        let pairs = [("redirect_uri", "http://127.0.0.1:8080/cb?x=1&y=2"), ("name", "Zoë Smith"), ("empty", "")]
        let decoded = try OAuthParameters.decode(OAuthParameters.encode(pairs))
        #expect(decoded.pairs.map(\.name) == pairs.map(\.0))
        #expect(decoded.pairs.map(\.value) == pairs.map(\.1))
    }
}
