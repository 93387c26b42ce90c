import Foundation
import LambaJOSE
import Testing

@Suite("Private keys at rest (AES-256-GCM under the master key)")
struct MasterKeyTests {
    @Test("a sealed key opens under its master key and kid")
    func sealAndOpen() throws {
        let master = try MasterKey.generate()
        for algorithm in JWSAlgorithm.allCases {
            let sealed = try SealedSigningKey.generate(algorithm, masterKey: master)
            let key = try sealed.open(with: master)
            let token = try JWS.sign(payload: bytes("x"), algorithm: algorithm, key: key, kid: sealed.kid)
            let verifier = try JWSVerifier(allowedAlgorithms: [algorithm], jwks: JWKSet(keys: [sealed.publicJWK]))
            _ = try JWS.verify(token, with: verifier)
            // JSON round trip of the stored form.
            #expect(try SealedSigningKey(json: JSON.decodeObject(JSON.encode(sealed.json))) == sealed)
        }
    }

    @Test("the sealed form holds no private key material in the clear")
    func noPlaintext() throws {
        let master = try MasterKey.generate()
        let key = try AsymmetricKey.generate(.ecP256)
        let d = try key.jwk(includingPrivate: true).d!
        let box = try key.sealed(with: master, kid: "k")
        let der = try key.pkcs8DER()
        #expect(!contains(box, d))
        #expect(!contains(box, Array(der.suffix(40))))
    }

    @Test("another master key, another kid, or a changed byte does not open")
    func wrongKeyFails() throws {
        let master = try MasterKey.generate()
        let sealed = try SealedSigningKey.generate(.es256, masterKey: master)
        #expect(throws: (any Error).self) { try sealed.open(with: MasterKey.generate()) }
        let moved = SealedSigningKey(kid: "other", algorithm: .es256, publicJWK: sealed.publicJWK, sealedPrivateKey: sealed.sealedPrivateKey)
        #expect(throws: (any Error).self) { try moved.open(with: master) }
        for index in [0, 5, sealed.sealedPrivateKey.count / 2, sealed.sealedPrivateKey.count - 1] {
            var bytes = sealed.sealedPrivateKey
            bytes[index] ^= 0x80
            let tampered = SealedSigningKey(kid: sealed.kid, algorithm: .es256, publicJWK: sealed.publicJWK, sealedPrivateKey: bytes)
            #expect(throws: (any Error).self) { try tampered.open(with: master) }
        }
        #expect(throws: JOSEError.self) { try master.open([1, 2, 3]) }
    }

    @Test("master keys are read from base64url or hex and must be 32 bytes")
    func encodings() throws {
        let master = try MasterKey.generate()
        let reread = try MasterKey(encoded: master.encoded + "\n")
        let box = try master.seal(bytes("secret"))
        #expect(try reread.open(box) == bytes("secret"))
        let hex = String(repeating: "ab", count: 32)
        _ = try MasterKey(encoded: hex)
        #expect(throws: JOSEError.self) { try MasterKey(encoded: "c2hvcnQ") }
        #expect(throws: JOSEError.self) { try MasterKey(encoded: String(repeating: "zz", count: 32)) }
    }

    @Test("constant-time comparison answers like ==")
    func constantTime() {
        #expect(constantTimeEquals(bytes("abc"), bytes("abc")))
        #expect(!constantTimeEquals(bytes("abc"), bytes("abd")))
        #expect(!constantTimeEquals(bytes("abc"), bytes("abcd")))
        #expect(constantTimeEquals([UInt8](), [UInt8]()))
    }

    @Test("SHA-256 and HMAC-SHA256 known answers")
    func digests() {
        #expect(Base64URL.encode(Digest.sha256(bytes("abc"))) == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
        // RFC 4231 test case 2.
        #expect(Digest.hmac(.sha256, key: bytes("Jefe"), data: bytes("what do ya want for nothing?")).map { String(format: "%02x", $0) }.joined()
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}
