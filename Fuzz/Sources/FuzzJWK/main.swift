import FuzzSupport
import LambaJOSE

// JWK and JWK Set import (RFC 7517, RFC 7518 §6, RFC 8037), then into OpenSSL. Properties: an accepted
// JWK writes back to JSON that reads as the same key; a JWK Set's public form carries no private member.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    if let jwk = try? JWK(jsonBytes: bytes) {
        let reread = try? JWK(json: jwk.json)
        require(reread == jwk, "JWK does not survive its own JSON")
        require(jwk.publicKey.isPrivate == false, "publicKey keeps d")
        _ = jwk.thumbprint()
        if let key = try? AsymmetricKey(jwk: jwk) {
            require(key.isPrivate == jwk.isPrivate, "imported key's privacy differs from the JWK's")
        }
        _ = try? AsymmetricKey(jwk: jwk.publicKey)
    }
    if let set = try? JWKSet(jsonBytes: bytes) {
        let published = set.publicJSON
        for key in published["keys"]?.arrayValue ?? [] {
            for name in ["d", "p", "q", "dp", "dq", "qi"] { require(key.objectValue?[name] == nil, "public JWKS member carries \(name)") }
        }
        _ = try? JWSVerifier(allowedAlgorithms: Set(JWSAlgorithm.allCases), jwks: set)
    }
    return 0
}
