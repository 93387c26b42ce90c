import LambaWebAuthn
import Testing

@Suite("strict CBOR decoding (RFC 8949) of what WebAuthn sends")
struct CBORTests {
    @Test("decodes the kinds WebAuthn uses")
    func decodesWebAuthnKinds() throws {
        // {1: 2, 3: -7, -1: h'0102', "fmt": "none", "a": [true, false, null]}
        let bytes: [UInt8] = [
            0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x42, 0x01, 0x02, 0x63, 0x66, 0x6D, 0x74, 0x64, 0x6E, 0x6F, 0x6E, 0x65,
            0x61, 0x61, 0x83, 0xF5, 0xF4, 0xF6,
        ]
        let value = try CBOR.decode(bytes)
        #expect(value[.integer(1)] == .unsigned(2))
        #expect(value[.integer(3)]?.integerValue == -7)
        #expect(value[.integer(-1)] == .bytes([1, 2]))
        #expect(value[.text("fmt")] == .text("none"))
        #expect(value[.text("a")] == .array([.bool(true), .bool(false), .null]))
    }

    @Test("decodePrefix reports the bytes the first item used")
    func decodePrefix_reportsLength() throws {
        let bytes: [UInt8] = [0xA1, 0x01, 0x02, 0xA0, 0xFF]
        let (value, length) = try CBOR.decodePrefix(bytes[...])
        #expect(value == TestCBOR.map([(.integer(1), .integer(2))]))
        #expect(length == 3)
        let (second, secondLength) = try CBOR.decodePrefix(bytes[3...])
        #expect(second == .map([]) && secondLength == 1)
    }

    @Test("round-trips 64-bit integers")
    func integers_roundTrip() throws {
        for value in [CBORValue.unsigned(0), .unsigned(23), .unsigned(24), .unsigned(UInt64.max), .negative(0), .negative(UInt64.max)] {
            #expect(try CBOR.decode(TestCBOR.encode(value)) == value)
        }
        #expect(CBORValue.negative(UInt64.max).integerValue == nil)
        #expect(CBORValue.integer(Int64.min).integerValue == Int64.min)
    }

    @Test("16 levels of nesting are accepted, 17 refused")
    func nestingLimit() throws {
        _ = try CBOR.decode([UInt8](repeating: 0x81, count: 15) + [0x00])
        #expect(throws: WebAuthnError.malformedCBOR("nested more than 16 levels")) {
            try CBOR.decode([UInt8](repeating: 0x81, count: 16) + [0x00])
        }
    }

    static let hostile: [(String, [UInt8])] = [
        ("empty", []),
        ("truncated byte string", [0x45, 0x01, 0x02]),
        ("truncated head", [0x19, 0x01]),
        ("truncated map", [0xA2, 0x01, 0x02, 0x03]),
        ("byte string of 2^64-1 bytes", [0x5B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("text string of 2^64-1 bytes", [0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("array of 2^64-1 items", [0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("map of 2^64-1 entries", [0xBB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        ("array of 2^32-1 items", [0x9A, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]),
        ("byte string longer than the input by one", [0x43, 0x01, 0x02]),
        ("deep nesting", [UInt8](repeating: 0x81, count: 10_000) + [0x00]),
        ("deep map nesting", [UInt8](repeating: 0xA1, count: 10_000).flatMap { [$0, 0x00] }),
        ("indefinite byte string", [0x5F, 0x41, 0x00, 0xFF]),
        ("indefinite text string", [0x7F, 0x61, 0x61, 0xFF]),
        ("indefinite array", [0x9F, 0x00, 0xFF]),
        ("indefinite map", [0xBF, 0x01, 0x02, 0xFF]),
        ("lone break", [0xFF]),
        ("duplicate integer keys", [0xA2, 0x01, 0x00, 0x01, 0x01]),
        ("duplicate text keys", [0xA2, 0x61, 0x61, 0x00, 0x61, 0x61, 0x01]),
        ("invalid UTF-8", [0x62, 0xC3, 0x28]),
        ("UTF-8 surrogate", [0x63, 0xED, 0xA0, 0x80]),
        ("tag", [0xC0, 0x60]),
        ("half float", [0xF9, 0x3C, 0x00]),
        ("double", [0xFB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
        ("undefined", [0xF7]),
        ("reserved additional information", [0x1C]),
        ("trailing bytes", [0x00, 0x00]),
    ]

    @Test("hostile input throws, never traps or allocates its declared length", arguments: hostile)
    func hostileInput_throws(name: String, bytes: [UInt8]) {
        #expect(throws: WebAuthnError.self, "\(name)") { try CBOR.decode(bytes) }
    }

    @Test("every truncation of a valid attestation object throws")
    func everyTruncation_throws() throws {
        let response = try SoftwareAuthenticator(.es256).register(.create([1, 2, 3]), attestation: .packedSelf)
        let bytes = response.attestationObject
        for cut in 0..<bytes.count {
            #expect(throws: WebAuthnError.self) { try CBOR.decode(Array(bytes.prefix(cut))) }
        }
        _ = try CBOR.decode(bytes)
    }
}
