import FuzzSupport
import LambaJOSE

// Compact JWS parsing (RFC 7515 §7.1) and JWT claim validation (RFC 7519 §7.2). Two kinds of input,
// chosen by the first byte:
//  - `.`-containing text (any first byte but 0x01): a compact token, verified as a JWS and as a JWT
//    against the RFC 7515 A.2/A.3 and RFC 8037 keys, so that the appendix tokens verify and their
//    mutations exercise every check before the signature.
//  - 0x01, a JOSE header, a newline, a claim set: signed here with the RFC 8037 Ed25519 key exactly as
//    given, so the signature holds and claim validation sees arbitrary claims. Claim validation is
//    internal to LambaJOSE; this reaches it through the public `JWT.verify`.
let rsa = try! AsymmetricKey(jwk: JWK(json: vector("rfc7515-a2-rs256")["jwk"]!.objectValue!))
let ec = try! AsymmetricKey(jwk: JWK(json: vector("rfc7515-a3-es256")["jwk"]!.objectValue!))
let ed = try! AsymmetricKey(jwk: JWK(json: vector("rfc8037-a4-ed25519")["jwk"]!.objectValue!))
let verifier = JWSVerifier(
    allowedAlgorithms: Set(JWSAlgorithm.allCases),
    keys: [.init(rsa, kid: nil), .init(ec, kid: "ec-1"), .init(ec, kid: nil), .init(ed, kid: "ed-1", algorithm: .edDSA), .init(ed, kid: nil)],
    understoodCriticalHeaders: ["b64x"])
let validations = [
    JWTValidation(expiry: .ifPresent, now: 1_300_819_000),
    JWTValidation(issuer: "https://lamba.test/p/shop/production", audience: "api://shop", type: JWT.accessTokenType, leeway: 60,
                  requiredClaims: ["jti", "sub"], now: 1_800_000_000),
    JWTValidation(issuer: "joe", leeway: 0, now: 1_300_819_379),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let token: String
    if bytes.first == 0x01 {
        let body = bytes.dropFirst()
        let newline = body.firstIndex(of: 0x0A) ?? body.endIndex
        let header = Base64URL.encodeToBytes(body[..<newline])
        let claims = Base64URL.encodeToBytes(newline < body.endIndex ? body[(newline + 1)...] : [])
        let input = header + [UInt8(ascii: ".")] + claims
        guard let signature = try? ed.sign(input, algorithm: .edDSA) else { return 0 }
        token = String(decoding: input + [UInt8(ascii: ".")] + Base64URL.encodeToBytes(signature), as: UTF8.self)
    } else {
        token = String(decoding: bytes, as: UTF8.self)
    }
    let jws = try? JWS.verify(token, with: verifier)
    for validation in validations {
        do {
            let jwt = try JWT.verify(token, with: verifier, validation: validation)
            require(jws != nil, "JWT.verify accepted what JWS.verify refused")
            if let issuer = validation.issuer { require(jwt.claims.issuer == issuer, "accepted a foreign issuer") }
            if let audience = validation.audience { require(jwt.claims.audience.contains(audience), "accepted a foreign audience") }
            if validation.expiry != .ifPresent { require(jwt.claims["exp"] != nil, "accepted a token without exp") }
            for name in validation.requiredClaims { require(jwt.claims[name] != nil, "accepted a token without \(name)") }
            _ = (jwt.claims.subject, jwt.claims.jwtID, jwt.claims.expiration, jwt.claims.notBefore, jwt.claims.issuedAt)
        } catch {
            _ = String(describing: error)
        }
    }
    return 0
}
