import LambaWebAuthn
import Testing

@Suite("COSE keys (RFC 9052 §7, RFC 9053 §7) to public keys")
struct COSEKeyTests {
    static func key(_ pairs: [(Int64, CBORValue)]) -> [UInt8] {
        TestCBOR.encode(TestCBOR.map(pairs.map { (CBORValue.integer($0.0), $0.1) }))
    }

    @Test("keys from the software authenticator read back with their algorithm", arguments: COSEAlgorithm.allCases)
    func generatedKeys_read(algorithm: COSEAlgorithm) throws {
        let bytes = try SoftwareAuthenticator(algorithm).coseKey()
        let key = try COSEKey(bytes: bytes)
        #expect(key.algorithm == algorithm)
        #expect(key.bytes == bytes)
    }

    @Test("an algorithm other than -7, -8 and -257 is refused", arguments: [-35, -36, -37, -47, 1, -65535] as [Int64])
    func otherAlgorithm_isRefused(alg: Int64) {
        #expect(throws: WebAuthnError.unsupportedAlgorithm(alg)) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(alg)), (-1, .integer(1))]))
        }
    }

    @Test("a key type that does not fit the algorithm is refused")
    func mismatchedKeyType_isRefused() throws {
        let x = CBORValue.bytes(Array(repeating: 1, count: 32))
        #expect(throws: WebAuthnError.malformedPublicKey("ES256 needs kty EC2, not 1")) {
            try COSEKey(bytes: Self.key([(1, .integer(1)), (3, .integer(-7)), (-1, .integer(1)), (-2, x), (-3, x)]))
        }
        #expect(throws: WebAuthnError.malformedPublicKey("EdDSA needs kty OKP, not 2")) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(-8)), (-1, .integer(6)), (-2, x)]))
        }
        #expect(throws: WebAuthnError.malformedPublicKey("RS256 needs kty RSA, not 2")) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(-257)), (-1, x), (-2, .bytes([1, 0, 1]))]))
        }
    }

    @Test("a curve other than P-256 for ES256 or Ed25519 for EdDSA is refused")
    func otherCurve_isRefused() {
        let x = CBORValue.bytes(Array(repeating: 1, count: 32))
        #expect(throws: WebAuthnError.malformedPublicKey("ES256 needs curve P-256")) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(-7)), (-1, .integer(2)), (-2, x), (-3, x)]))
        }
        #expect(throws: WebAuthnError.malformedPublicKey("EdDSA needs curve Ed25519")) {
            try COSEKey(bytes: Self.key([(1, .integer(1)), (3, .integer(-8)), (-1, .integer(7)), (-2, x)]))
        }
    }

    @Test("coordinates of the wrong length and points off the curve are refused")
    func badCoordinates_areRefused() {
        let short = CBORValue.bytes(Array(repeating: 1, count: 31))
        let x = CBORValue.bytes(Array(repeating: 1, count: 32))
        #expect(throws: WebAuthnError.malformedPublicKey("P-256 x and y must be 32-byte strings")) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(-7)), (-1, .integer(1)), (-2, short), (-3, x)]))
        }
        #expect(throws: WebAuthnError.self) {
            try COSEKey(bytes: Self.key([(1, .integer(2)), (3, .integer(-7)), (-1, .integer(1)), (-2, x), (-3, x)]))
        }
    }

    @Test("a key without alg is refused")
    func missingAlgorithm_isRefused() {
        #expect(throws: WebAuthnError.malformedPublicKey("alg is missing")) { try COSEKey(bytes: Self.key([(1, .integer(2))])) }
    }
}
