import Foundation
import LambaJOSE
import Testing

/// RFC 7519 §2 NumericDate, bounded: a claim's number comes from whoever signed the token, so no
/// value may reach arithmetic or a `Date` unbounded. Each hostile value below once trapped (Int64
/// overflow) and took the whole server down.
@Suite("NumericDate (RFC 7519 §2) and hostile time claims")
struct NumericDateTests {
    static let key = try! AsymmetricKey.generate(.ecP256)
    static let verifier = JWSVerifier(allowedAlgorithms: [.es256], keys: [.init(key, kid: "k")])
    static let now: Int64 = 1_800_000_000

    func token(_ name: String, _ value: JSONValue) throws -> String {
        var claims = JWTClaims()
        claims.issuer = "https://lamba.test/p/shop/sandbox"
        claims.subject = "cli_1"
        claims.expiration = NumericDate(secondsSince1970: Self.now + 60)
        claims[name] = value
        return try JWT.sign(claims, algorithm: .es256, key: Self.key, kid: "k")
    }

    static let outOfRange: [(String, JSONValue)] = [
        ("exp", .integer(.max)), ("exp", .integer(.max - 59)), ("exp", .integer(9_300_000_000_000_000)), ("exp", .integer(6_900_000_000_000_000_001)),
        ("exp", .integer(.min)), ("exp", .integer(-1)), ("exp", .integer(253_402_300_800)), ("exp", .real(1e19)), ("exp", .real(9.2e18)),
        ("exp", .real(-1e300)), ("exp", .real(9.4e15)), ("nbf", .integer(.max)), ("nbf", .integer(.min)), ("iat", .integer(.max)),
        ("iat", .integer(.min)), ("iat", .real(1e300)),
    ]

    @Test("test_numericDateOutOfRange_isMalformedClaims_forEveryExpiryRule", arguments: [JWTValidation.Expiry.required, .ifPresent, .requiredButMayHavePassed])
    func test_numericDateOutOfRange_isMalformedClaims(expiry: JWTValidation.Expiry) throws {
        for (name, value) in Self.outOfRange {
            let t = try token(name, value)
            #expect(throws: JOSEError.malformedClaims("\(name) is outside the years 1970 to 9999")) {
                try JWT.verify(t, with: Self.verifier, validation: JWTValidation(leeway: JWTValidation.maximumLeeway, expiry: expiry, now: Self.now))
            }
        }
    }

    @Test("test_hugeLeeway_isHeldToTheMaximum_soNbfAndIatStayChecked")
    func test_hugeLeeway_isHeldToTheMaximum() throws {
        let nbf = try token("nbf", .integer(Self.now + JWTValidation.maximumLeeway + 1))
        #expect(throws: JOSEError.notYetValid) { try JWT.verify(nbf, with: Self.verifier, validation: JWTValidation(leeway: .max, now: Self.now)) }
        let iat = try token("iat", .integer(Self.now + JWTValidation.maximumLeeway + 1))
        #expect(throws: JOSEError.issuedInFuture) { try JWT.verify(iat, with: Self.verifier, validation: JWTValidation(leeway: .max, now: Self.now)) }
        let negative = try token("nbf", .integer(Self.now + 1))
        #expect(throws: JOSEError.notYetValid) { try JWT.verify(negative, with: Self.verifier, validation: JWTValidation(leeway: .min, now: Self.now)) }
    }

    @Test("test_requiredButMayHavePassed_acceptsAPassedExp_butChecksNbfAndIat (OpenID RP-Initiated Logout §2)")
    func test_requiredButMayHavePassed() throws {
        var claims = JWTClaims()
        claims.expiration = NumericDate(secondsSince1970: Self.now - 86_400)
        let passed = try JWT.sign(claims, algorithm: .es256, key: Self.key, kid: "k")
        let validation = JWTValidation(expiry: .requiredButMayHavePassed, now: Self.now)
        _ = try JWT.verify(passed, with: Self.verifier, validation: validation)
        #expect(throws: JOSEError.expired) { try JWT.verify(passed, with: Self.verifier, validation: JWTValidation(now: Self.now)) }
        let future = try token("iat", .integer(Self.now + 3600))
        #expect(throws: JOSEError.issuedInFuture) { try JWT.verify(future, with: Self.verifier, validation: validation) }
        let noExp = try JWT.sign(JWTClaims(), algorithm: .es256, key: Self.key, kid: "k")
        #expect(throws: JOSEError.missingClaim("exp")) { try JWT.verify(noExp, with: Self.verifier, validation: validation) }
    }

    @Test("test_numericDate_boundsAndFractions")
    func test_numericDate_bounds() throws {
        #expect(NumericDate(secondsSince1970: -1) == nil)
        #expect(NumericDate(secondsSince1970: NumericDate.latestSeconds + 1) == nil)
        #expect(NumericDate(secondsSince1970: 0) == .earliest)
        #expect(try NumericDate(claim: .real(1_800_000_000.9), name: "exp").secondsSince1970 == 1_800_000_000)
        #expect(try NumericDate(claim: .real(0.5), name: "exp").secondsSince1970 == 0)
        #expect(throws: JOSEError.malformedClaims("exp is not a NumericDate")) { try NumericDate(claim: .string("1800000000"), name: "exp") }
        #expect(throws: JOSEError.malformedClaims("exp is not a NumericDate")) { try NumericDate(claim: .bool(true), name: "exp") }
        // Saturating moves and clamped dates never trap.
        #expect(NumericDate.latest.advanced(by: .max) == .latest)
        #expect(NumericDate.earliest.advanced(by: .min) == .earliest)
        #expect(NumericDate(Date(timeIntervalSince1970: 1e300)) == .latest)
        #expect(NumericDate(Date(timeIntervalSince1970: -.infinity)) == .earliest)
        #expect(NumericDate(Date(timeIntervalSince1970: .nan)) == .earliest)
        #expect(NumericDate(clamping: .max) == .latest)
        #expect(NumericDate.latest.date == Date(timeIntervalSince1970: 253_402_300_799))
    }
}
