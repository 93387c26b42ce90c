import ArgumentParser
import Foundation
import LambaJOSE

struct JWTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jwt",
        abstract: "Sign and verify JWTs by hand.",
        subcommands: [Verify.self, Sign.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a JWT against a JWKS file; print its header and claims, or why it is refused."
        )

        @Option(help: "A JWK Set file (as served at /jwks).")
        var jwks: String

        @Option(name: .customLong("alg"), help: "An allowed algorithm (repeatable; default: all Lamba offers).")
        var algorithms: [String] = []

        @Option(help: "Required issuer.") var iss: String?
        @Option(help: "Required audience.") var aud: String?
        @Option(help: "Required typ header, e.g. at+jwt.") var typ: String?
        @Flag(help: "Do not require an exp claim.") var noExp = false

        @Argument(help: "The compact JWT.") var token: String

        func run() throws {
            let allowed = try algorithms.isEmpty
                ? Set(JWSAlgorithm.allCases)
                : Set(algorithms.map { name in
                    guard let a = JWSAlgorithm(rawValue: name) else { throw ValidationError("unknown algorithm \(name)") }
                    return a
                })
            let set = try JWKSet(jsonBytes: Array(Data(contentsOf: URL(fileURLWithPath: jwks))))
            let verifier = try JWSVerifier(allowedAlgorithms: allowed, jwks: set)
            let validation = JWTValidation(issuer: iss, audience: aud, type: typ, expiry: noExp ? .ifPresent : .required)
            do {
                let verified = try JWT.verify(token.trimmingCharacters(in: .whitespacesAndNewlines), with: verifier, validation: validation)
                print(JSON.encodeString(.object(["header": .object(verified.header.members), "claims": .object(verified.claims.members)])))
            } catch {
                FileHandle.standardError.write(Data("refused: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Sign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign a claim set with a sealed key file.")

        @Option(help: "A sealed key file written by `lamba keys generate`.") var key: String
        @Option(help: "typ header.") var typ: String = "JWT"
        @Argument(help: "The claims as a JSON object.") var claims: String

        func run() throws {
            let sealed = try SealedKeyFile.read(key)
            let privateKey = try sealed.open(with: MasterKeyLocation.resolve())
            let object = try JSON.decodeObject(Array(claims.utf8))
            print(try JWT.sign(JWTClaims(object), algorithm: sealed.algorithm, key: privateKey, kid: sealed.kid, typ: typ))
        }
    }
}
