public import LambaJOSE

/// The COSE algorithms Lamba accepts for credentials (RFC 9053 §2.1, §2.2; RFC 8812 §2).
public enum COSEAlgorithm: Int64, Sendable, CaseIterable {
    case es256 = -7
    case edDSA = -8
    case rs256 = -257

    /// The JWS algorithm that verifies the same signatures (for EdDSA, Ed25519 only).
    public var jwsAlgorithm: JWSAlgorithm {
        switch self {
        case .es256: .es256
        case .edDSA: .edDSA
        case .rs256: .rs256
        }
    }
}

/// A credential public key as a COSE_Key (RFC 9052 §7), kept in the bytes the authenticator sent so
/// that it can be stored and read again.
public struct COSEKey: Sendable {
    public let algorithm: COSEAlgorithm
    /// The encoded COSE_Key, as received.
    public let bytes: [UInt8]
    public let publicKey: AsymmetricKey

    /// Reads a stored COSE_Key; trailing bytes are refused.
    public init(bytes: [UInt8]) throws(WebAuthnError) {
        try self.init(value: CBOR.decode(bytes), bytes: bytes)
    }

    // COSE_Key labels (RFC 9052 §7.1) and key type parameters (RFC 9053 §7.1, §7.2; RFC 8230 §4).
    private static let kty = CBORValue.integer(1), alg = CBORValue.integer(3)
    private static let crv = CBORValue.integer(-1), x = CBORValue.integer(-2), y = CBORValue.integer(-3)
    private static let n = CBORValue.integer(-1), e = CBORValue.integer(-2)

    init(value: CBORValue, bytes: [UInt8]) throws(WebAuthnError) {
        guard value.mapValue != nil else { throw .malformedPublicKey("not a COSE_Key map") }
        guard let algValue = value[Self.alg]?.integerValue else { throw .malformedPublicKey("alg is missing") }
        guard let algorithm = COSEAlgorithm(rawValue: algValue) else { throw .unsupportedAlgorithm(algValue) }
        guard let kty = value[Self.kty]?.integerValue else { throw .malformedPublicKey("kty is missing") }
        var jwk: JWK
        switch algorithm {
        case .es256:
            // EC2 (kty 2) on P-256 (crv 1), uncompressed x and y of 32 bytes (RFC 9053 §7.1.1).
            guard kty == 2 else { throw .malformedPublicKey("ES256 needs kty EC2, not \(kty)") }
            guard value[Self.crv]?.integerValue == 1 else { throw .malformedPublicKey("ES256 needs curve P-256") }
            guard let x = value[Self.x]?.bytesValue, x.count == 32,
                let y = value[Self.y]?.bytesValue, y.count == 32
            else { throw .malformedPublicKey("P-256 x and y must be 32-byte strings") }
            jwk = JWK(keyType: .ec, curve: "P-256")
            jwk.x = x
            jwk.y = y
        case .edDSA:
            // OKP (kty 1) on Ed25519 (crv 6), x of 32 bytes (RFC 9053 §7.2).
            guard kty == 1 else { throw .malformedPublicKey("EdDSA needs kty OKP, not \(kty)") }
            guard value[Self.crv]?.integerValue == 6 else { throw .malformedPublicKey("EdDSA needs curve Ed25519") }
            guard let x = value[Self.x]?.bytesValue, x.count == 32 else { throw .malformedPublicKey("Ed25519 x must be a 32-byte string") }
            jwk = JWK(keyType: .okp, curve: "Ed25519")
            jwk.x = x
        case .rs256:
            // RSA (kty 3) with n and e (RFC 8230 §4).
            guard kty == 3 else { throw .malformedPublicKey("RS256 needs kty RSA, not \(kty)") }
            guard let n = value[Self.n]?.bytesValue, let e = value[Self.e]?.bytesValue, !n.isEmpty, !e.isEmpty
            else { throw .malformedPublicKey("RSA n and e must be byte strings") }
            jwk = JWK(keyType: .rsa)
            jwk.n = n
            jwk.e = e
        }
        do {
            self.publicKey = try AsymmetricKey(jwk: jwk)
        } catch {
            throw .malformedPublicKey(error.description)
        }
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// Verifies a WebAuthn signature: ES256 signatures are DER (WebAuthn L3 §6.5.6), the others as in JWS.
    func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch algorithm {
        case .es256: (try? publicKey.verifyES256DER(signature, for: message)) ?? false
        case .edDSA, .rs256: (try? publicKey.verify(signature, for: message, algorithm: algorithm.jwsAlgorithm)) ?? false
        }
    }
}
