/// Every reason LambaJOSE refuses a key, a JWS or a JWT. Each refusal has its own case so that callers
/// and tests can tell an `alg: none` token from a forged signature.
public enum JOSEError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidBase64URL
    case malformedJSON(JSONError)
    /// A compact serialization that is not three base64url parts separated by dots.
    case malformedCompactSerialization
    case malformedHeader(String)
    /// `alg: none` (RFC 7518 §3.6): an unsecured JWS is never accepted.
    case algorithmNone
    /// HS256/384/512: a shared-secret MAC is never accepted where a public key is expected.
    case hmacAlgorithmRefused(String)
    /// An algorithm Lamba implements but the caller did not allow.
    case algorithmNotAllowed(String)
    case unsupportedAlgorithm(String)
    /// The algorithm does not fit the key (RS256 with an EC key, ES256 with RSA, ...).
    case algorithmKeyMismatch(algorithm: String, keyType: String)
    /// A `crit` header member names an extension the caller does not understand (RFC 7515 §4.1.11).
    case unknownCriticalHeader(String)
    /// A header that would let the token choose its own verification key (`jku`, `x5u`, `jwk`, `x5c`).
    case forbiddenHeader(String)
    case noMatchingKey(kid: String?)
    case invalidSignature

    case invalidKey(String)
    case unsupportedKey(String)

    case malformedClaims(String)
    case missingClaim(String)
    case expired
    case notYetValid
    case issuedInFuture
    case issuerMismatch
    case audienceMismatch
    case typeMismatch(expected: String, actual: String?)

    case crypto(CryptoError)

    public var description: String {
        switch self {
        case .invalidBase64URL: "invalid base64url"
        case .malformedJSON(let e): "malformed JSON: \(e)"
        case .malformedCompactSerialization: "not a JWS compact serialization"
        case .malformedHeader(let why): "malformed JOSE header: \(why)"
        case .algorithmNone: "unsecured JWS (alg none) refused"
        case .hmacAlgorithmRefused(let alg): "HMAC algorithm \(alg) refused"
        case .algorithmNotAllowed(let alg): "algorithm \(alg) not allowed"
        case .unsupportedAlgorithm(let alg): "unsupported algorithm \(alg)"
        case .algorithmKeyMismatch(let alg, let kty): "algorithm \(alg) does not fit a \(kty) key"
        case .unknownCriticalHeader(let name): "critical header \(name) not understood"
        case .forbiddenHeader(let name): "header \(name) refused"
        case .noMatchingKey(let kid): kid.map { "no key with kid \($0)" } ?? "no key fits the token"
        case .invalidSignature: "signature does not verify"
        case .invalidKey(let why): "invalid key: \(why)"
        case .unsupportedKey(let why): "unsupported key: \(why)"
        case .malformedClaims(let why): "malformed claims: \(why)"
        case .missingClaim(let name): "missing claim \(name)"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .issuedInFuture: "token issued in the future"
        case .issuerMismatch: "issuer mismatch"
        case .audienceMismatch: "audience mismatch"
        case .typeMismatch(let expected, let actual): "typ \(actual ?? "(none)") is not \(expected)"
        case .crypto(let e): e.description
        }
    }
}
