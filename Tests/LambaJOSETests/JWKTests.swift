import LambaJOSE
import Testing

@Suite("JWK and JWKS (RFC 7517, 7518 §6, 8037, 7638)")
struct JWKTests {
    @Test("RFC 7638 §3.1 thumbprint")
    func rfc7638Thumbprint() throws {
        let vector = try Vector("rfc7638-3.1-thumbprint")
        #expect(try vector.jwk.thumbprint() == vector.string("thumbprint"))
        #expect(try AsymmetricKey(jwk: vector.jwk).thumbprint() == vector.string("thumbprint"))
    }

    @Test("RFC 8037 A.3 Ed25519 thumbprint")
    func rfc8037Thumbprint() throws {
        let vector = try Vector("rfc8037-a4-ed25519")
        #expect(try vector.jwk.thumbprint() == vector.string("thumbprint"))
    }

    @Test("generated keys export and re-import, public and private", arguments: [AsymmetricKey.Kind.rsa, .ecP256, .ed25519])
    func generateExportImport(kind: AsymmetricKey.Kind) throws {
        let key = try AsymmetricKey.generate(kind)
        let privateJWK = try key.jwk(includingPrivate: true)
        let publicJWK = try key.jwk()
        #expect(privateJWK.isPrivate)
        #expect(!publicJWK.isPrivate)
        #expect(publicJWK.kid == privateJWK.kid)
        #expect(publicJWK.kid == publicJWK.thumbprint())

        // JSON round trip.
        let reread = try JWK(jsonBytes: JSON.encode(privateJWK.json))
        #expect(reread == privateJWK)

        let imported = try AsymmetricKey(jwk: reread)
        #expect(imported.isPrivate && imported.kind == kind)
        let signature = try imported.sign(bytes("m"), algorithm: .defaultAlgorithm(for: kind))
        let publicOnly = try AsymmetricKey(jwk: publicJWK)
        #expect(!publicOnly.isPrivate)
        #expect(try publicOnly.verify(signature, for: bytes("m"), algorithm: .defaultAlgorithm(for: kind)))
        #expect(throws: JOSEError.self) { try publicOnly.sign(bytes("m"), algorithm: .defaultAlgorithm(for: kind)) }
    }

    @Test("PKCS #8, SPKI and PEM round trips keep the key")
    func derAndPEM() throws {
        for kind in [AsymmetricKey.Kind.rsa, .ecP256, .ed25519] {
            let key = try AsymmetricKey.generate(kind)
            let again = try AsymmetricKey(pkcs8DER: key.pkcs8DER())
            #expect(try again.thumbprint() == key.thumbprint())
            let publicKey = try AsymmetricKey(pem: key.publicPEM())
            #expect(!publicKey.isPrivate)
            #expect(try publicKey.thumbprint() == key.thumbprint())
            #expect(try key.spkiDER().count > 32)
        }
    }

    @Test("RSA keys under 2048 bits are refused")
    func shortRSARefused() throws {
        #expect(throws: JOSEError.self) { try AsymmetricKey.generate(.rsa, rsaBits: 1024) }
        var jwk = try AsymmetricKey.generate(.rsa).jwk()
        jwk.n = Array(jwk.n!.prefix(128))
        #expect(throws: JOSEError.self) { try JWK(jsonBytes: JSON.encode(jwk.json)) }
    }

    @Test("an EC point off the curve is refused")
    func pointOffCurveRefused() throws {
        var jwk = try AsymmetricKey.generate(.ecP256).jwk()
        jwk.y![31] ^= 0x01
        #expect(throws: JOSEError.self) { try AsymmetricKey(jwk: jwk) }
    }

    @Test("a private key that does not match its public half is refused", arguments: [AsymmetricKey.Kind.ecP256, .ed25519, .rsa])
    func mismatchedPrivateRefused(kind: AsymmetricKey.Kind) throws {
        var one = try AsymmetricKey.generate(kind).jwk(includingPrivate: true)
        let other = try AsymmetricKey.generate(kind).jwk(includingPrivate: true)
        switch kind {
        case .ecP256, .ed25519: one.d = other.d
        case .rsa: one.d = other.d; one.p = other.p; one.q = other.q; one.dp = other.dp; one.dq = other.dq; one.qi = other.qi
        }
        #expect(throws: JOSEError.self) { try AsymmetricKey(jwk: one) }
    }

    @Test("unsupported types and curves are named in the refusal")
    func unsupportedRefused() {
        let cases: [(String, String)] = [
            (#"{"kty":"oct","k":"AAAA"}"#, "oct"),
            (#"{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"}"#, "P-384"),
            (#"{"kty":"OKP","crv":"X25519","x":"AAAA"}"#, "X25519"),
            (#"{"kty":"RSA","n":"AAAA","e":"AQAB","oth":[]}"#, "oth"),
        ]
        for (json, word) in cases {
            do {
                _ = try JWK(jsonBytes: bytes(json))
                Issue.record("accepted \(json)")
            } catch {
                guard case .unsupportedKey(let why) = error else { Issue.record("wrong error \(error)"); continue }
                #expect(why.contains(word))
            }
        }
    }

    @Test("malformed JWKs are refused", arguments: [
        #"{"crv":"P-256"}"#, #"{"kty":5}"#, #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"}"#,
        #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU=","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        #"{"kty":"OKP","crv":"Ed25519","x":"AAAA"}"#, "[1]", "{",
    ])
    func malformedRefused(json: String) {
        #expect(throws: JOSEError.self) { try JWK(jsonBytes: bytes(json)) }
    }

    @Test("a JWKS skips unsupported keys and never publishes private members")
    func jwks() throws {
        let key = try AsymmetricKey.generate(.ecP256)
        var set = JWKSet(keys: [try key.jwk(includingPrivate: true)])
        let published = JSON.encodeString(.object(set.publicJSON))
        #expect(!published.contains("\"d\""))
        set = try JWKSet(jsonBytes: bytes(#"{"keys":[{"kty":"oct","k":"AAAA"},"# + String(published.dropFirst(9))))
        #expect(set.keys.count == 1)
        #expect(set.keys[0].kid == (try key.thumbprint()))
    }
}
