import LambaJOSE
import Testing

@Suite("JWS compact serialization (RFC 7515, 7518 §3, 8037, 8725)")
struct JWSTests {
    static let all = Set(JWSAlgorithm.allCases)

    @Test("RFC 7515 A.2: RS256 signature matches the appendix byte for byte")
    func rfc7515A2() throws {
        let vector = try Vector("rfc7515-a2-rs256")
        let key = try AsymmetricKey(jwk: vector.jwk)
        let signature = try key.sign(bytes(vector.string("signing_input")), algorithm: .rs256)
        #expect(vector.string("signing_input") + "." + Base64URL.encode(signature) == vector.string("compact"))

        let verifier = JWSVerifier(allowedAlgorithms: [.rs256], keys: [.init(try AsymmetricKey(jwk: vector.jwk.publicKey), kid: nil)])
        let verified = try JWS.verify(vector.string("compact"), with: verifier)
        #expect(verified.payload == bytes(vector.string("payload")))
    }

    @Test("RFC 7515 A.3: the appendix ES256 JWS verifies (R || S form)")
    func rfc7515A3() throws {
        let vector = try Vector("rfc7515-a3-es256")
        let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(try AsymmetricKey(jwk: vector.jwk.publicKey), kid: nil)])
        let verified = try JWS.verify(vector.string("compact"), with: verifier)
        #expect(verified.payload == bytes(vector.string("payload")))

        // Our own ES256 signatures with the same key are 64 raw octets and verify too.
        let key = try AsymmetricKey(jwk: vector.jwk)
        let signature = try key.sign(bytes(vector.string("signing_input")), algorithm: .es256)
        #expect(signature.count == 64)
        #expect(try key.verify(signature, for: bytes(vector.string("signing_input")), algorithm: .es256))
    }

    @Test("RFC 8037 A.4: Ed25519 signature matches the appendix byte for byte")
    func rfc8037A4() throws {
        let vector = try Vector("rfc8037-a4-ed25519")
        let key = try AsymmetricKey(jwk: vector.jwk)
        let compact = try JWS.sign(payload: bytes(vector.string("payload")), algorithm: .edDSA, key: key, kid: nil)
        #expect(compact == vector.string("compact"))
        let verifier = JWSVerifier(allowedAlgorithms: [.edDSA], keys: [.init(try AsymmetricKey(jwk: vector.jwk.publicKey), kid: nil)])
        #expect(try JWS.verify(compact, with: verifier).payload == bytes(vector.string("payload")))
    }

    @Test("sign and verify round trip for every algorithm", arguments: JWSAlgorithm.allCases)
    func roundTrip(algorithm: JWSAlgorithm) throws {
        let key = try AsymmetricKey.generate(algorithm.keyKind)
        let kid = try key.thumbprint()
        let compact = try JWS.sign(payload: bytes("hello"), algorithm: algorithm, key: key, kid: kid, typ: "JWT")
        let verifier = JWSVerifier(allowedAlgorithms: Self.all, keys: [.init(key, kid: kid)])
        let verified = try JWS.verify(compact, with: verifier)
        #expect(verified.payload == bytes("hello"))
        #expect(verified.header.algorithm == algorithm)
        #expect(verified.kid == kid)
        #expect(compact.hasPrefix(Base64URL.encode(bytes(#"{"alg":"\#(algorithm.rawValue)","typ":"JWT","kid":"\#(kid)"}"#))))
    }

    @Test("a changed payload, header or signature fails", arguments: JWSAlgorithm.allCases)
    func tamperingFails(algorithm: JWSAlgorithm) throws {
        let key = try AsymmetricKey.generate(algorithm.keyKind)
        let compact = try JWS.sign(payload: bytes(#"{"sub":"alice"}"#), algorithm: algorithm, key: key, kid: "k1")
        let verifier = JWSVerifier(allowedAlgorithms: Self.all, keys: [.init(key, kid: "k1")])
        let parts = compact.split(separator: ".").map(String.init)

        let otherPayload = parts[0] + "." + Base64URL.encode(bytes(#"{"sub":"mallory"}"#)) + "." + parts[2]
        #expect(throws: JOSEError.invalidSignature) { try JWS.verify(otherPayload, with: verifier) }

        var signature = try Base64URL.decode(parts[2])
        signature[signature.count / 2] ^= 0x01
        let flipped = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)
        #expect(throws: JOSEError.invalidSignature) { try JWS.verify(flipped, with: verifier) }

        let truncated = parts[0] + "." + parts[1] + "." + Base64URL.encode(signature.dropLast())
        #expect(throws: JOSEError.invalidSignature) { try JWS.verify(truncated, with: verifier) }
    }

    @Test("a signature by another key of the same type fails")
    func wrongKeyFails() throws {
        let signer = try AsymmetricKey.generate(.ecP256)
        let other = try AsymmetricKey.generate(.ecP256)
        let compact = try JWS.sign(payload: bytes("x"), algorithm: .es256, key: signer, kid: nil)
        let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(other, kid: nil)])
        #expect(throws: JOSEError.invalidSignature) { try JWS.verify(compact, with: verifier) }
    }

    // MARK: Refusals, each with its own error (RFC 8725 §2.1, §3.1, §3.2)

    static let ecKey = try! AsymmetricKey.generate(.ecP256)
    static let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(ecKey, kid: "ec1")])

    @Test("alg none is refused", arguments: ["none", "None", "NONE"])
    func algNoneRefused(alg: String) {
        let token = Base64URL.encode(bytes(#"{"alg":"\#(alg)"}"#)) + "." + Base64URL.encode(bytes("{}")) + "."
        // The unsecured form (RFC 7515 §7.1, empty signature) is refused as alg none, not as malformed.
        #expect(throws: JOSEError.algorithmNone) { try JWS.verify(token, with: Self.verifier) }
        let withSignature = handmadeJWS(header: #"{"alg":"\#(alg)"}"#, payload: "{}")
        #expect(throws: JOSEError.algorithmNone) { try JWS.verify(withSignature, with: Self.verifier) }
    }

    @Test("HMAC algorithms are refused even with a key the caller holds", arguments: ["HS256", "HS384", "HS512"])
    func hmacRefused(alg: String) throws {
        // The classic confusion: an HMAC keyed with the public key's bytes.
        let pem = try Self.ecKey.publicPEM()
        let input = Base64URL.encode(bytes(#"{"alg":"\#(alg)","kid":"ec1"}"#)) + "." + Base64URL.encode(bytes("{}"))
        let mac = Digest.hmac(.sha256, key: bytes(pem), data: bytes(input))
        #expect(throws: JOSEError.hmacAlgorithmRefused(alg)) { try JWS.verify(input + "." + Base64URL.encode(mac), with: Self.verifier) }
    }

    @Test("an algorithm the caller did not allow is refused")
    func notAllowedRefused() throws {
        let rsa = try AsymmetricKey.generate(.rsa)
        let token = try JWS.sign(payload: bytes("{}"), algorithm: .ps256, key: rsa, kid: "r1")
        let verifier = JWSVerifier(allowedAlgorithms: [.rs256], keys: [.init(rsa, kid: "r1")])
        #expect(throws: JOSEError.algorithmNotAllowed("PS256")) { try JWS.verify(token, with: verifier) }
        #expect(throws: JOSEError.unsupportedAlgorithm("ES512")) {
            try JWS.verify(handmadeJWS(header: #"{"alg":"ES512"}"#, payload: "{}"), with: verifier)
        }
    }

    @Test("an alg that does not fit the named key is refused")
    func algorithmKeyMismatchRefused() throws {
        let rsa = try AsymmetricKey.generate(.rsa)
        let verifier = JWSVerifier(allowedAlgorithms: Self.all, keys: [.init(rsa, kid: "r1")])
        let token = handmadeJWS(header: #"{"alg":"ES256","kid":"r1"}"#, payload: "{}", signature: [UInt8](repeating: 1, count: 64))
        #expect(throws: JOSEError.algorithmKeyMismatch(algorithm: "ES256", keyType: "RSA")) { try JWS.verify(token, with: verifier) }
        #expect(throws: JOSEError.self) { try Self.ecKey.sign(bytes("x"), algorithm: .rs256) }
    }

    @Test("a key pinned to one algorithm does not verify another")
    func pinnedAlgorithm() throws {
        let rsa = try AsymmetricKey.generate(.rsa)
        let token = try JWS.sign(payload: bytes("{}"), algorithm: .ps256, key: rsa, kid: "r1")
        let verifier = JWSVerifier(allowedAlgorithms: Self.all, keys: [.init(rsa, kid: "r1", algorithm: .rs256)])
        #expect(throws: JOSEError.self) { try JWS.verify(token, with: verifier) }
    }

    @Test("headers that carry or point at a key are refused", arguments: ["jku", "x5u", "jwk", "x5c"])
    func keyCarryingHeadersRefused(name: String) throws {
        let token = try JWS.sign(
            payload: bytes("{}"), algorithm: .es256, key: Self.ecKey, kid: "ec1",
            extraHeader: [name: name == "jwk" ? .object(try Self.ecKey.jwk().json) : "https://attacker.example/k"])
        #expect(throws: JOSEError.forbiddenHeader(name)) { try JWS.verify(token, with: Self.verifier) }
    }

    @Test("an unknown critical header is refused; an understood one is accepted")
    func critRefused() throws {
        let token = try JWS.sign(
            payload: bytes("{}"), algorithm: .es256, key: Self.ecKey, kid: "ec1",
            extraHeader: ["crit": ["x-lamba"], "x-lamba": true])
        #expect(throws: JOSEError.unknownCriticalHeader("x-lamba")) { try JWS.verify(token, with: Self.verifier) }
        var understanding = Self.verifier
        understanding.understoodCriticalHeaders = ["x-lamba"]
        _ = try JWS.verify(token, with: understanding)

        for crit: JSONValue in [[], ["alg"], ["x-missing"], [1], "x-lamba"] {
            let bad = try JWS.sign(payload: bytes("{}"), algorithm: .es256, key: Self.ecKey, kid: "ec1", extraHeader: ["crit": crit, "x-lamba": true])
            #expect(throws: JOSEError.self) { try JWS.verify(bad, with: understanding) }
        }
    }

    @Test("an unknown kid is refused")
    func unknownKid() throws {
        let token = try JWS.sign(payload: bytes("{}"), algorithm: .es256, key: Self.ecKey, kid: "nope")
        #expect(throws: JOSEError.noMatchingKey(kid: "nope")) { try JWS.verify(token, with: Self.verifier) }
    }

    @Test("malformed serializations are refused", arguments: [
        "", "a", "a.b", "a.b.c.d", ".e30.AA", "e30..", "e30.e30.", "eyJhbGciOiJFUzI1NiJ9.e30=.AAAA", "!!.e30.AA",
        "eyJhbGciOiJFUzI1NiJ9.e30.",
    ])
    func malformedRefused(token: String) {
        #expect(throws: JOSEError.self) { try JWS.verify(token, with: Self.verifier) }
    }

    @Test("a header with duplicate members is refused")
    func duplicateHeaderRefused() {
        let token = handmadeJWS(header: #"{"alg":"ES256","alg":"none"}"#, payload: "{}")
        #expect {
            try JWS.verify(token, with: Self.verifier)
        } throws: { error in
            guard case JOSEError.malformedJSON(let json) = error else { return false }
            return json.kind == .duplicateMemberName
        }
    }

    @Test("a header that is not an object, or lacks alg, is refused", arguments: ["[]", "\"ES256\"", "{}", #"{"alg":1}"#, #"{"alg":"ES256","kid":7}"#])
    func badHeaderRefused(header: String) {
        #expect(throws: JOSEError.self) { try JWS.verify(handmadeJWS(header: header, payload: "{}"), with: Self.verifier) }
    }

    @Test("oversized tokens are refused before decoding")
    func oversizedRefused() {
        let huge = "eyJhbGciOiJFUzI1NiJ9." + String(repeating: "A", count: 70_000) + ".AA"
        #expect(throws: JOSEError.malformedCompactSerialization) { try JWS.verify(huge, with: Self.verifier) }
    }

    @Test("verification with many threads at once gives the same answers")
    func concurrentUse() async throws {
        let key = try AsymmetricKey.generate(.ecP256)
        let token = try JWS.sign(payload: bytes("{}"), algorithm: .es256, key: key, kid: "k")
        let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(key, kid: "k")])
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    if i % 2 == 0 { return (try? JWS.verify(token, with: verifier)) != nil }
                    let signed = try JWS.sign(payload: bytes("\(i)"), algorithm: .es256, key: key, kid: "k")
                    return (try? JWS.verify(signed, with: verifier)) != nil
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
