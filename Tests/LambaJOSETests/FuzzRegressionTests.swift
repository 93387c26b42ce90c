import LambaJOSE
import Testing

/// Inputs found while fuzzing (Fuzz/README.md), kept as they were found.
@Suite("fuzz regressions (LambaJOSE)")
struct FuzzRegressionTests {
    /// An RSA JWK whose modulus has `bytes` octets, the first 0xC0 (so the top bit is set), then 0x01s.
    static func rsaJWK(modulusBytes bytes: Int) -> String {
        let n = Base64URL.encode([0xC0] + [UInt8](repeating: 0x01, count: bytes - 1))
        return #"{"kty":"RSA","n":"\#(n)","e":"AQAB"}"#
    }

    @Test("an RSA modulus over 4096 bits is an unsupported key, refused before OpenSSL's primality check of the modulus")
    func rsaModulusOver4096Bits_isUnsupported() throws {
        #expect(throws: JOSEError.unsupportedKey("RSA modulus of 16384 bits; at most 4096 supported")) {
            try JWK(jsonBytes: Array(Self.rsaJWK(modulusBytes: 2048).utf8))
        }
        #expect(throws: JOSEError.unsupportedKey("RSA modulus of 4104 bits; at most 4096 supported")) {
            try JWK(jsonBytes: Array(Self.rsaJWK(modulusBytes: 513).utf8))
        }
        #expect(try JWK(jsonBytes: Array(Self.rsaJWK(modulusBytes: 512).utf8)).n?.count == 512)
    }

    @Test("a JWK Set skips an RSA key over 4096 bits, as it skips other unsupported keys (RFC 7517 §5)")
    func jwkSet_skipsOversizedRSAKey() throws {
        let ec = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
        let set = try JWKSet(jsonBytes: Array(#"{"keys":[\#(Self.rsaJWK(modulusBytes: 2048)),\#(ec)]}"#.utf8))
        #expect(set.keys.map(\.keyType) == [.ec])
    }

    @Test("an object with 100,000 members decodes in order, in linear time")
    func manyMembers_decodeLinearly() throws {
        let count = 100_000
        let document = "{" + (0..<count).map { #""m\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        let clock = ContinuousClock()
        let started = clock.now
        let object = try JSON.decodeObject(Array(document.utf8), limits: JSONLimits(maxBytes: 4 << 20, maxDepth: 2))
        // Searching the members for each new name took minutes here; appending takes milliseconds.
        #expect(clock.now - started < .seconds(10))
        #expect(object.count == count)
        #expect(object.names.first == "m0" && object.names.last == "m99999")
        #expect(object["m54321"] == .integer(54321))
    }
}
