import LambaJOSE
import LambaWebAuthn

/// A CBOR encoder for building test inputs (RFC 8949 §3, shortest heads).
enum TestCBOR {
    static func encode(_ value: CBORValue) -> [UInt8] {
        switch value {
        case .unsigned(let n): head(0, n)
        case .negative(let n): head(1, n)
        case .bytes(let b): head(2, UInt64(b.count)) + b
        case .text(let t): head(3, UInt64(t.utf8.count)) + Array(t.utf8)
        case .array(let a): head(4, UInt64(a.count)) + a.flatMap(encode)
        case .map(let m): head(5, UInt64(m.count)) + m.flatMap { encode($0.key) + encode($0.value) }
        case .bool(let b): [b ? 0xF5 : 0xF4]
        case .null: [0xF6]
        }
    }

    static func head(_ major: UInt8, _ n: UInt64) -> [UInt8] {
        let m = major << 5
        switch n {
        case 0..<24: return [m | UInt8(n)]
        case 24...0xFF: return [m | 24, UInt8(n)]
        case 0x100...0xFFFF: return [m | 25] + bigEndian(n, 2)
        case 0x1_0000...0xFFFF_FFFF: return [m | 26] + bigEndian(n, 4)
        default: return [m | 27] + bigEndian(n, 8)
        }
    }

    static func bigEndian(_ n: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    }

    static func map(_ pairs: [(CBORValue, CBORValue)]) -> CBORValue {
        .map(pairs.map { CBORMapEntry(key: $0.0, value: $0.1) })
    }
}

/// One ceremony's inputs as a browser and authenticator would produce them; tests change one field.
struct Ceremony {
    static let rpID = "login.example.com"
    static let origin = "https://login.example.com"

    var type: String
    var challenge: [UInt8]
    var origin = Ceremony.origin
    var crossOrigin: Bool? = false
    var topOrigin: String?
    var rpID = Ceremony.rpID
    var flags: AuthenticatorFlags = [.userPresent, .userVerified]
    var signCount: UInt32 = 0
    var extensions: CBORValue?
    /// Bytes appended to the authenticator data after everything the flags announce.
    var trailing: [UInt8] = []

    static func create(_ challenge: [UInt8]) -> Ceremony { Ceremony(type: "webauthn.create", challenge: challenge) }
    static func get(_ challenge: [UInt8], signCount: UInt32 = 1) -> Ceremony {
        Ceremony(type: "webauthn.get", challenge: challenge, signCount: signCount)
    }

    var clientDataJSON: [UInt8] {
        var object: JSONObject = ["type": .string(type), "challenge": .string(Base64URL.encode(challenge)), "origin": .string(origin)]
        if let crossOrigin { object["crossOrigin"] = .bool(crossOrigin) }
        if let topOrigin { object["topOrigin"] = .string(topOrigin) }
        return JSON.encode(object)
    }
}

/// The attestation statement the software authenticator attaches.
enum TestAttestation {
    case none
    case packedSelf
    /// A packed self statement that claims another algorithm than the key's.
    case packedSelfClaiming(Int64)
    /// A packed statement with a (fake) certificate chain: full attestation.
    case packedWithChain
    case format(String)
}

/// A software authenticator with a real key: builds authenticator data, attestation objects and
/// assertions the way WebAuthn L3 §6.1, §6.5 and §8 describe.
struct SoftwareAuthenticator {
    let algorithm: COSEAlgorithm
    let key: AsymmetricKey
    let credentialID: [UInt8]
    let aaguid: [UInt8] = Array(repeating: 0xAA, count: 16)

    init(_ algorithm: COSEAlgorithm) throws {
        self.algorithm = algorithm
        switch algorithm {
        case .es256: key = try AsymmetricKey.generate(.ecP256)
        case .edDSA: key = try AsymmetricKey.generate(.ed25519)
        case .rs256: key = try AsymmetricKey.generate(.rsa)
        }
        credentialID = try SecureRandom.bytes(32)
    }

    /// The COSE_Key of the credential (RFC 9053 §7, RFC 8230 §4).
    func coseKey() throws -> [UInt8] {
        let jwk = try key.jwk()
        let alg = CBORValue.integer(algorithm.rawValue)
        let value: CBORValue
        switch algorithm {
        case .es256:
            value = TestCBOR.map([
                (.integer(1), .integer(2)), (.integer(3), alg), (.integer(-1), .integer(1)),
                (.integer(-2), .bytes(jwk.x ?? [])), (.integer(-3), .bytes(jwk.y ?? [])),
            ])
        case .edDSA:
            value = TestCBOR.map([(.integer(1), .integer(1)), (.integer(3), alg), (.integer(-1), .integer(6)), (.integer(-2), .bytes(jwk.x ?? []))])
        case .rs256:
            value = TestCBOR.map([(.integer(1), .integer(3)), (.integer(3), alg), (.integer(-1), .bytes(jwk.n ?? [])), (.integer(-2), .bytes(jwk.e ?? []))])
        }
        return TestCBOR.encode(value)
    }

    /// A WebAuthn signature: DER for ES256 (WebAuthn L3 §6.5.6), as JWS for the others.
    func sign(_ message: [UInt8]) throws -> [UInt8] {
        let signature = try key.sign(message, algorithm: algorithm.jwsAlgorithm)
        return algorithm == .es256 ? Self.der(raw: signature) : signature
    }

    func authenticatorData(_ c: Ceremony, attested: Bool) throws -> [UInt8] {
        var flags = c.flags
        if attested { flags.insert(.attestedCredentialData) }
        if c.extensions != nil { flags.insert(.extensionData) }
        var data = Digest.sha256(Array(c.rpID.utf8)) + [flags.rawValue] + TestCBOR.bigEndian(UInt64(c.signCount), 4)
        if attested {
            data += aaguid + TestCBOR.bigEndian(UInt64(credentialID.count), 2) + credentialID + (try coseKey())
        }
        if let extensions = c.extensions { data += TestCBOR.encode(extensions) }
        return data + c.trailing
    }

    func register(_ c: Ceremony, attestation: TestAttestation = .none) throws -> RegistrationResponse {
        let clientDataJSON = c.clientDataJSON
        let authData = try authenticatorData(c, attested: true)
        let signed = authData + Digest.sha256(clientDataJSON)
        let format: String
        let statement: CBORValue
        switch attestation {
        case .none:
            (format, statement) = ("none", .map([]))
        case .packedSelf:
            (format, statement) = ("packed", TestCBOR.map([(.text("alg"), .integer(algorithm.rawValue)), (.text("sig"), .bytes(try sign(signed)))]))
        case .packedSelfClaiming(let alg):
            (format, statement) = ("packed", TestCBOR.map([(.text("alg"), .integer(alg)), (.text("sig"), .bytes(try sign(signed)))]))
        case .packedWithChain:
            (format, statement) = (
                "packed",
                TestCBOR.map([
                    (.text("alg"), .integer(algorithm.rawValue)), (.text("sig"), .bytes(try sign(signed))),
                    (.text("x5c"), .array([.bytes([0x30, 0x03, 0x02, 0x01, 0x00])])),
                ])
            )
        case .format(let name):
            (format, statement) = (name, .map([]))
        }
        let object = TestCBOR.map([(.text("fmt"), .text(format)), (.text("attStmt"), statement), (.text("authData"), .bytes(authData))])
        return RegistrationResponse(clientDataJSON: clientDataJSON, attestationObject: TestCBOR.encode(object))
    }

    func assert(_ c: Ceremony, userHandle: [UInt8]? = SoftwareAuthenticator.userHandle) throws -> AssertionResponse {
        let clientDataJSON = c.clientDataJSON
        let authData = try authenticatorData(c, attested: false)
        let signature = try sign(authData + Digest.sha256(clientDataJSON))
        return AssertionResponse(
            credentialID: credentialID, clientDataJSON: clientDataJSON, authenticatorData: authData, signature: signature, userHandle: userHandle
        )
    }

    static let userHandle: [UInt8] = Array("user-0001".utf8)

    func storedCredential(signCount: UInt32 = 0, backupEligible: Bool = false) throws -> StoredCredential {
        StoredCredential(
            id: credentialID, userHandle: Self.userHandle, publicKey: try coseKey(), algorithm: algorithm, signCount: signCount,
            backupEligible: backupEligible
        )
    }

    /// Raw R || S to an ECDSA-Sig-Value (SEC 1 §C.5) in DER.
    static func der(raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let half = raw.count / 2
        let body = integer(raw[0..<half]) + integer(raw[half...])
        return [0x30, UInt8(body.count)] + body
    }
}

/// The relying party every test uses unless it says otherwise.
func testRelyingParty(userVerification: UserVerificationRequirement = .required, algorithms: [COSEAlgorithm] = COSEAlgorithm.allCases)
    -> WebAuthnRelyingParty
{
    WebAuthnRelyingParty(
        id: Ceremony.rpID, name: "Example", origins: [Ceremony.origin, "https://other.example.com"], userVerification: userVerification,
        algorithms: algorithms
    )
}
