import LambaJOSE
import Testing

@Suite("JWT claims (RFC 7519 §4, §7.2; RFC 9068)")
struct JWTTests {
    static let key = try! AsymmetricKey.generate(.ecP256)
    static let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(key, kid: "k")])
    static let now: Int64 = 1_800_000_000

    func token(_ edit: (inout JWTClaims) -> Void, typ: String = "at+jwt") throws -> String {
        var claims = JWTClaims()
        claims.issuer = "https://lamba.test/p/shop/production"
        claims.subject = "usr_1"
        claims.setAudience(["api://shop"])
        claims.expiration = NumericDate(secondsSince1970: Self.now + 300)
        claims.issuedAt = NumericDate(secondsSince1970: Self.now)
        claims.jwtID = "jti-1"
        edit(&claims)
        return try JWT.sign(claims, algorithm: .es256, key: Self.key, kid: "k", typ: typ)
    }

    func validation(_ edit: (inout JWTValidation) -> Void = { _ in }) -> JWTValidation {
        var v = JWTValidation(issuer: "https://lamba.test/p/shop/production", audience: "api://shop", type: JWT.accessTokenType, now: Self.now)
        edit(&v)
        return v
    }

    @Test("a valid access token verifies and its claims read back")
    func valid() throws {
        let verified = try JWT.verify(try token { _ in }, with: Self.verifier, validation: validation())
        #expect(verified.claims.subject == "usr_1")
        #expect(verified.claims.audience == ["api://shop"])
        #expect(verified.claims.jwtID == "jti-1")
        #expect(verified.header.typ == "at+jwt")
    }

    @Test("claims encode in the order they were set")
    func stableOrder() throws {
        let parts = try token { _ in }.split(separator: ".")
        let payload = try Base64URL.decode(String(parts[1]))
        #expect(String(decoding: payload, as: UTF8.self)
            == #"{"iss":"https://lamba.test/p/shop/production","sub":"usr_1","aud":"api://shop","exp":1800000300,"iat":1800000000,"jti":"jti-1"}"#)
    }

    @Test("exp in the past, beyond the leeway, is refused (§4.1.4)")
    func expired() throws {
        let t = try token { $0.expiration = NumericDate(secondsSince1970: Self.now - 61) }
        #expect(throws: JOSEError.expired) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
        let withinLeeway = try token { $0.expiration = NumericDate(secondsSince1970: Self.now - 59) }
        _ = try JWT.verify(withinLeeway, with: Self.verifier, validation: validation())
        let exactlyNow = try token { $0.expiration = NumericDate(secondsSince1970: Self.now) }
        #expect(throws: JOSEError.expired) { try JWT.verify(exactlyNow, with: Self.verifier, validation: validation { $0.leeway = 0 }) }
    }

    @Test("a missing exp is refused unless the caller opts out")
    func missingExp() throws {
        let t = try token { $0.expiration = nil }
        #expect(throws: JOSEError.missingClaim("exp")) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
        _ = try JWT.verify(t, with: Self.verifier, validation: validation { $0.expiry = .ifPresent })
    }

    @Test("nbf in the future is refused (§4.1.5)")
    func notBefore() throws {
        let t = try token { $0.notBefore = NumericDate(secondsSince1970: Self.now + 120) }
        #expect(throws: JOSEError.notYetValid) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
    }

    @Test("iat in the future is refused")
    func issuedInFuture() throws {
        let t = try token { $0.issuedAt = NumericDate(secondsSince1970: Self.now + 120) }
        #expect(throws: JOSEError.issuedInFuture) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
    }

    @Test("NumericDate claims that are not numbers are refused")
    func badDates() throws {
        let t = try token { $0["exp"] = "tomorrow" }
        #expect(throws: JOSEError.malformedClaims("exp is not a NumericDate")) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
        let fractional = try token { $0["exp"] = .real(Double(Self.now) + 300.5) }
        _ = try JWT.verify(fractional, with: Self.verifier, validation: validation())
    }

    @Test("a wrong issuer is refused")
    func issuer() throws {
        let t = try token { $0.issuer = "https://lamba.test/p/other/production" }
        #expect(throws: JOSEError.issuerMismatch) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
    }

    @Test("aud may be a string or an array; another audience is refused (§4.1.3)")
    func audience() throws {
        let many = try token { $0.setAudience(["api://other", "api://shop"]) }
        _ = try JWT.verify(many, with: Self.verifier, validation: validation())
        let other = try token { $0.setAudience(["api://other"]) }
        #expect(throws: JOSEError.audienceMismatch) { try JWT.verify(other, with: Self.verifier, validation: validation()) }
        let missing = try token { $0["aud"] = nil }
        #expect(throws: JOSEError.missingClaim("aud")) { try JWT.verify(missing, with: Self.verifier, validation: validation()) }
        let number = try token { $0["aud"] = 5 }
        #expect(throws: JOSEError.self) { try JWT.verify(number, with: Self.verifier, validation: validation()) }
    }

    @Test("typ must be at+jwt for access tokens (RFC 9068 §4); application/ prefix and case are accepted")
    func accessTokenType() throws {
        let idToken = try token({ _ in }, typ: "JWT")
        #expect(throws: JOSEError.typeMismatch(expected: "at+jwt", actual: "JWT")) {
            try JWT.verify(idToken, with: Self.verifier, validation: validation())
        }
        _ = try JWT.verify(try token({ _ in }, typ: "application/AT+JWT"), with: Self.verifier, validation: validation())
    }

    @Test("required claims are enforced")
    func required() throws {
        let t = try token { $0.jwtID = nil }
        #expect(throws: JOSEError.missingClaim("jti")) {
            try JWT.verify(t, with: Self.verifier, validation: validation { $0.requiredClaims = ["jti"] })
        }
    }

    @Test("a claim set that is not a JSON object is refused")
    func payloadNotObject() throws {
        let t = try JWS.sign(payload: bytes("[1,2]"), algorithm: .es256, key: Self.key, kid: "k", typ: "at+jwt")
        #expect(throws: JOSEError.self) { try JWT.verify(t, with: Self.verifier, validation: validation()) }
        let dup = try JWS.sign(payload: bytes(#"{"sub":"a","sub":"b","exp":1900000000}"#), algorithm: .es256, key: Self.key, kid: "k", typ: "at+jwt")
        #expect(throws: JOSEError.self) { try JWT.verify(dup, with: Self.verifier, validation: validation { $0.issuer = nil; $0.audience = nil }) }
    }
}
