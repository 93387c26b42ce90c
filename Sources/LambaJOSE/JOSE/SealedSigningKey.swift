/// A signing key as Lamba keeps it at rest: the public JWK in the clear (for JWKS) and the private key
/// sealed under the master key, bound to its `kid`.
public struct SealedSigningKey: Sendable, Equatable {
    public let kid: String
    public let algorithm: JWSAlgorithm
    public let publicJWK: JWK
    public let sealedPrivateKey: [UInt8]

    /// Generates a key for `algorithm` and seals it; `kid` is the RFC 7638 thumbprint.
    public static func generate(_ algorithm: JWSAlgorithm, masterKey: MasterKey) throws -> SealedSigningKey {
        let key = try AsymmetricKey.generate(algorithm.keyKind)
        var jwk = try key.jwk()
        jwk.alg = algorithm.rawValue
        jwk.use = "sig"
        let kid = jwk.kid!
        return SealedSigningKey(kid: kid, algorithm: algorithm, publicJWK: jwk, sealedPrivateKey: try key.sealed(with: masterKey, kid: kid))
    }

    public init(kid: String, algorithm: JWSAlgorithm, publicJWK: JWK, sealedPrivateKey: [UInt8]) {
        self.kid = kid
        self.algorithm = algorithm
        self.publicJWK = publicJWK
        self.sealedPrivateKey = sealedPrivateKey
    }

    /// Opens the private key; fails when the master key is not the one it was sealed under.
    public func open(with masterKey: MasterKey) throws -> AsymmetricKey {
        let key = try AsymmetricKey(sealed: sealedPrivateKey, masterKey: masterKey, kid: kid)
        guard try key.thumbprint() == publicJWK.thumbprint() else {
            throw JOSEError.invalidKey("sealed private key does not match its public JWK")
        }
        return key
    }

    public var json: JSONObject {
        [
            "kid": .string(kid),
            "alg": .string(algorithm.rawValue),
            "public": .object(publicJWK.json),
            "sealed": .string(Base64URL.encode(sealedPrivateKey)),
        ]
    }

    public init(json: JSONObject) throws(JOSEError) {
        guard let kid = json["kid"]?.stringValue, let alg = json["alg"]?.stringValue,
            let publicJSON = json["public"]?.objectValue, let sealed = json["sealed"]?.stringValue
        else { throw .invalidKey("sealed key needs kid, alg, public and sealed") }
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw .unsupportedAlgorithm(alg) }
        let jwk = try JWK(json: publicJSON)
        guard !jwk.isPrivate else { throw .invalidKey("public member holds a private key") }
        self.init(kid: kid, algorithm: algorithm, publicJWK: jwk, sealedPrivateKey: try Base64URL.decode(sealed))
    }
}
