#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JWT claim set (RFC 7519 §4) with typed access to the registered claims. Members keep the order
/// they were set in, so the same claims always encode to the same bytes.
public struct JWTClaims: Sendable, Equatable {
    public var members: JSONObject

    public init(_ members: JSONObject = JSONObject()) { self.members = members }

    public subscript(name: String) -> JSONValue? {
        get { members[name] }
        set { members[name] = newValue }
    }

    public var issuer: String? {
        get { members["iss"]?.stringValue }
        set { members["iss"] = newValue.map(JSONValue.string) }
    }

    public var subject: String? {
        get { members["sub"]?.stringValue }
        set { members["sub"] = newValue.map(JSONValue.string) }
    }

    /// `aud` as a list, whether it was written as one string or an array (RFC 7519 §4.1.3).
    public var audience: [String] {
        switch members["aud"] {
        case .string(let one): [one]
        case .array(let many): many.compactMap(\.stringValue)
        default: []
        }
    }

    /// Sets `aud`: one audience as a string, several as an array.
    public mutating func setAudience(_ audiences: [String]) {
        members["aud"] = audiences.count == 1 ? .string(audiences[0]) : .array(audiences.map(JSONValue.string))
    }

    /// `exp`, when present and a NumericDate in range; `JWT.verify` has refused any other value.
    public var expiration: NumericDate? {
        get { members["exp"].flatMap { try? NumericDate(claim: $0, name: "exp") } }
        set { members["exp"] = newValue.map(JSONValue.init) }
    }

    public var notBefore: NumericDate? {
        get { members["nbf"].flatMap { try? NumericDate(claim: $0, name: "nbf") } }
        set { members["nbf"] = newValue.map(JSONValue.init) }
    }

    public var issuedAt: NumericDate? {
        get { members["iat"].flatMap { try? NumericDate(claim: $0, name: "iat") } }
        set { members["iat"] = newValue.map(JSONValue.init) }
    }

    public var jwtID: String? {
        get { members["jti"]?.stringValue }
        set { members["jti"] = newValue.map(JSONValue.string) }
    }
}

/// What a relying party checks beyond the signature (RFC 7519 §7.2, RFC 8725 §3.8–3.11).
public struct JWTValidation: Sendable {
    /// How `exp` is held against the clock.
    public enum Expiry: Sendable, Equatable {
        /// Present, and the clock is before it (RFC 7519 §4.1.4).
        case required
        /// Checked against the clock when present.
        case ifPresent
        /// Present and well-formed but not compared with the clock: the caller compares it itself
        /// (a token remembered across uses) or the spec accepts a passed one (an ID token hint,
        /// OpenID RP-Initiated Logout §2). `nbf` and `iat` are still checked.
        case requiredButMayHavePassed
    }

    /// The largest leeway honoured: a bigger one would switch the time checks off.
    public static let maximumLeeway: Int64 = 600

    /// Required `iss`, compared exactly.
    public var issuer: String?
    /// An audience that must be among `aud`.
    public var audience: String?
    /// Required `typ` header, e.g. `at+jwt` for access tokens (RFC 9068 §4); the `application/`
    /// prefix may be present and case does not matter (RFC 7515 §4.1.9).
    public var type: String?
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds; held to 0…`maximumLeeway`.
    public var leeway: Int64
    public var expiry: Expiry
    /// Claims that must be present, beyond those implied above (e.g. `jti`, `sub`).
    public var requiredClaims: [String]
    /// The current time in seconds since the epoch; nil reads the clock.
    public var now: Int64?

    public init(
        issuer: String? = nil, audience: String? = nil, type: String? = nil, leeway: Int64 = 60,
        expiry: Expiry = .required, requiredClaims: [String] = [], now: Int64? = nil
    ) {
        self.issuer = issuer
        self.audience = audience
        self.type = type
        self.leeway = leeway
        self.expiry = expiry
        self.requiredClaims = requiredClaims
        self.now = now
    }
}

public struct VerifiedJWT: Sendable {
    public let header: JWSHeader
    public let claims: JWTClaims
    public let kid: String?
}

public enum JWT {
    /// `typ` of an RFC 9068 access token.
    public static let accessTokenType = "at+jwt"

    public static func sign(
        _ claims: JWTClaims, algorithm: JWSAlgorithm, key: AsymmetricKey, kid: String?, typ: String = "JWT"
    ) throws -> String {
        try JWS.sign(payload: JSON.encode(claims.members), algorithm: algorithm, key: key, kid: kid, typ: typ)
    }

    /// Verifies the signature with `verifier`, then the claims with `validation`.
    public static func verify(_ token: String, with verifier: JWSVerifier, validation: JWTValidation) throws(JOSEError) -> VerifiedJWT {
        let jws = try JWS.verify(token, with: verifier)
        let members: JSONObject
        do {
            members = try JSON.decodeObject(jws.payload, limits: .jose)
        } catch {
            throw .malformedJSON(error)
        }
        let claims = JWTClaims(members)
        try validate(claims, header: jws.header, validation)
        return VerifiedJWT(header: jws.header, claims: claims, kid: jws.kid)
    }

    static func validate(_ claims: JWTClaims, header: JWSHeader, _ validation: JWTValidation) throws(JOSEError) {
        if let expected = validation.type {
            guard let actual = header.typ, normalizedType(actual) == normalizedType(expected) else {
                throw .typeMismatch(expected: expected, actual: header.typ)
            }
        }
        // Every date is bounded (NumericDate) and the leeway too, so the sums below cannot overflow.
        let now = NumericDate(clamping: validation.now ?? Int64(time(nil)))
        let leeway = min(max(validation.leeway, 0), JWTValidation.maximumLeeway)
        let exp = try numericDate(claims, "exp")
        let nbf = try numericDate(claims, "nbf")
        let iat = try numericDate(claims, "iat")
        if validation.expiry != .ifPresent, exp == nil { throw .missingClaim("exp") }
        // RFC 7519 §4.1.4: the token is valid strictly before exp.
        if validation.expiry != .requiredButMayHavePassed, let exp, now >= exp.advanced(by: leeway) { throw .expired }
        // RFC 7519 §4.1.5: not before nbf.
        if let nbf, now.advanced(by: leeway) < nbf { throw .notYetValid }
        // RFC 7519 §4.1.6: iat is when the token was made; one made after now (past the leeway) is refused.
        if let iat, now.advanced(by: leeway) < iat { throw .issuedInFuture }

        if let issuer = validation.issuer {
            guard let iss = claims["iss"] else { throw .missingClaim("iss") }
            guard iss.stringValue == issuer else { throw .issuerMismatch }
        }
        if let audience = validation.audience {
            guard let aud = claims["aud"] else { throw .missingClaim("aud") }
            switch aud {
            case .string, .array: break
            default: throw .malformedClaims("aud is neither a string nor an array")
            }
            guard claims.audience.contains(audience) else { throw .audienceMismatch }
        }
        for name in validation.requiredClaims where claims[name] == nil {
            throw .missingClaim(name)
        }
        if let jti = claims["jti"], jti.stringValue == nil { throw .malformedClaims("jti is not a string") }
        if let sub = claims["sub"], sub.stringValue == nil { throw .malformedClaims("sub is not a string") }
    }

    private static func numericDate(_ claims: JWTClaims, _ name: String) throws(JOSEError) -> NumericDate? {
        guard let value = claims[name] else { return nil }
        return try NumericDate(claim: value, name: name)
    }

    private static func normalizedType(_ typ: String) -> String {
        let lower = typ.lowercased()
        return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
    }
}
