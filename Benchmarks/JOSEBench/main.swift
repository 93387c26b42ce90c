// Sign and verify throughput of LambaJOSE per algorithm, one thread, for comparison with
// `openssl speed` on the same machine (Benchmarks/jose.sh runs both and prints the ratios).
import Foundation
import LambaJOSE

// Usage: lamba-jose-bench [seconds] [alg...]
let arguments = Array(CommandLine.arguments.dropFirst())
let seconds = Double(arguments.first ?? "3") ?? 3
let chosen = arguments.dropFirst().compactMap(JWSAlgorithm.init(rawValue:))

/// Runs `body` repeatedly for `seconds` and returns operations per second.
func rate(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    // Warm up.
    for _ in 0..<20 { try body() }
    var count = 0
    let start = clock.now
    let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
    while clock.now < deadline {
        for _ in 0..<16 { try body() }
        count += 16
    }
    let elapsed = clock.now - start
    let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(count) / secondsElapsed
}

var claims = JWTClaims()
claims.issuer = "https://lamba.example/p/shop/production"
claims.subject = "usr_01HZY3J5V6W7X8Y9Z0A1B2C3D4"
claims.setAudience(["api://shop"])
claims.expiration = NumericDate(secondsSince1970: 2_000_000_000)
claims.issuedAt = NumericDate(secondsSince1970: 1_900_000_000)
claims.jwtID = "at_01HZY3J5V6W7X8Y9Z0A1B2C3D4"
claims["client_id"] = "shop-web"
claims["scope"] = "openid profile"
claims["sid"] = "rs_01HZY3J5V6W7X8Y9Z0A1B2C3D4"

// A short message, like the 32-byte input `openssl speed` signs.
let message = [UInt8](repeating: 0x61, count: 32)

var rows: [JSONValue] = []
for algorithm in chosen.isEmpty ? JWSAlgorithm.allCases : chosen {
    let key = try AsymmetricKey.generate(algorithm.keyKind)
    let kid = try key.thumbprint()
    let signature = try key.sign(message, algorithm: algorithm)
    let token = try JWT.sign(claims, algorithm: algorithm, key: key, kid: kid, typ: JWT.accessTokenType)
    let verifier = JWSVerifier(allowedAlgorithms: [algorithm], keys: [.init(key, kid: kid)])
    let validation = JWTValidation(issuer: claims.issuer, audience: "api://shop", type: JWT.accessTokenType, now: 1_900_000_100)

    let sign = try rate { _ = try key.sign(message, algorithm: algorithm) }
    let verify = try rate {
        let ok = try key.verify(signature, for: message, algorithm: algorithm)
        precondition(ok)
    }
    let jwtSign = try rate { _ = try JWT.sign(claims, algorithm: algorithm, key: key, kid: kid, typ: JWT.accessTokenType) }
    let jwtVerify = try rate { _ = try JWT.verify(token, with: verifier, validation: validation) }
    rows.append(.object([
        "alg": .string(algorithm.rawValue),
        "sign_per_s": .integer(Int64(sign)),
        "verify_per_s": .integer(Int64(verify)),
        "jwt_sign_per_s": .integer(Int64(jwtSign)),
        "jwt_verify_per_s": .integer(Int64(jwtVerify)),
    ]))
}
print(JSON.encodeString(.array(rows)))
