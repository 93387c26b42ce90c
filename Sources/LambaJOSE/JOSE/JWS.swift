/// A JWS header as read from a token: the parsed members plus the algorithm, already checked.
public struct JWSHeader: Sendable, Equatable {
    public let algorithm: JWSAlgorithm
    public let members: JSONObject

    public var kid: String? { members["kid"]?.stringValue }
    public var typ: String? { members["typ"]?.stringValue }
}

/// What a caller trusts when verifying: the algorithms it allows and the keys it holds. Nothing in the
/// token chooses either (RFC 8725 §3.1, §3.2).
public struct JWSVerifier: Sendable {
    public struct Key: Sendable {
        public let key: AsymmetricKey
        public let kid: String?
        /// When set, the key verifies only this algorithm (a JWK's `alg`).
        public let algorithm: JWSAlgorithm?

        public init(_ key: AsymmetricKey, kid: String?, algorithm: JWSAlgorithm? = nil) {
            self.key = key
            self.kid = kid
            self.algorithm = algorithm
        }
    }

    public var allowedAlgorithms: Set<JWSAlgorithm>
    public var keys: [Key]
    /// Extensions this caller processes, for `crit` (RFC 7515 §4.1.11). Empty: any `crit` is refused.
    public var understoodCriticalHeaders: Set<String>

    public init(allowedAlgorithms: Set<JWSAlgorithm>, keys: [Key], understoodCriticalHeaders: Set<String> = []) {
        self.allowedAlgorithms = allowedAlgorithms
        self.keys = keys
        self.understoodCriticalHeaders = understoodCriticalHeaders
    }

    /// Verifies with the public keys of a JWK Set; a key's `alg`, when given, pins its algorithm.
    public init(allowedAlgorithms: Set<JWSAlgorithm>, jwks: JWKSet) throws(JOSEError) {
        var keys: [Key] = []
        for jwk in jwks.keys where jwk.use == nil || jwk.use == "sig" {
            let pinned: JWSAlgorithm?
            if let alg = jwk.alg {
                guard let algorithm = JWSAlgorithm(rawValue: alg) else { continue }
                pinned = algorithm
            } else {
                pinned = nil
            }
            keys.append(Key(try AsymmetricKey(jwk: jwk.publicKey), kid: jwk.kid, algorithm: pinned))
        }
        self.init(allowedAlgorithms: allowedAlgorithms, keys: keys)
    }
}

/// A JWS whose signature verified.
public struct VerifiedJWS: Sendable {
    public let header: JWSHeader
    public let payload: [UInt8]
    /// The `kid` of the key that verified it.
    public let kid: String?
}

/// JWS compact serialization (RFC 7515 §7.1).
public enum JWS {
    /// Header members that would let a token name or carry its own verification key. Lamba never
    /// fetches or trusts them (RFC 8725 §3.10).
    static let keyCarryingHeaders = ["jku", "x5u", "jwk", "x5c"]

    /// Header members defined by RFC 7515/7518 that `crit` must not list (RFC 7515 §4.1.11).
    static let registeredHeaders: Set<String> = [
        "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip",
    ]

    /// Largest token accepted for verification; anything larger is refused before decoding.
    public static let maxCompactLength = 64 * 1024

    /// Signs `payload` with `key`. The header holds `alg`, then `typ` and `kid` when given, then any
    /// extra members, in that order.
    public static func sign<Payload: Collection>(
        payload: Payload, algorithm: JWSAlgorithm, key: AsymmetricKey, kid: String?, typ: String? = nil,
        extraHeader: JSONObject = JSONObject()
    ) throws -> String where Payload.Element == UInt8 {
        var header = JSONObject()
        header["alg"] = .string(algorithm.rawValue)
        if let typ { header["typ"] = .string(typ) }
        if let kid { header["kid"] = .string(kid) }
        for (name, value) in extraHeader where header[name] == nil { header[name] = value }

        var signingInput = Base64URL.encodeToBytes(JSON.encode(header))
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encodeToBytes(payload))
        let signature = try key.sign(signingInput, algorithm: algorithm)
        signingInput.append(UInt8(ascii: "."))
        signingInput.append(contentsOf: Base64URL.encodeToBytes(signature))
        return String(decoding: signingInput, as: UTF8.self)
    }

    /// Verifies a compact JWS. Checks run in this order, each with its own error: shape, header JSON,
    /// `alg` (none, HMAC, unsupported, not allowed), key-carrying headers, `crit`, key selection,
    /// algorithm-key fit, signature.
    public static func verify(_ compact: String, with verifier: JWSVerifier) throws(JOSEError) -> VerifiedJWS {
        let bytes = Array(compact.utf8)
        guard bytes.count <= maxCompactLength else { throw .malformedCompactSerialization }
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        guard dots.count == 2 else { throw .malformedCompactSerialization }
        let encodedHeader = bytes[..<dots[0]]
        let encodedPayload = bytes[(dots[0] + 1)..<dots[1]]
        let encodedSignature = bytes[(dots[1] + 1)...]
        guard !encodedHeader.isEmpty else { throw .malformedCompactSerialization }

        // The header is read before the signature is required, so that an unsecured JWS (empty
        // signature, RFC 7515 §7.1) is refused for what it is: alg none.
        let header = try parseHeader(encodedHeader, verifier: verifier)
        guard !encodedSignature.isEmpty else { throw .invalidSignature }
        let payload = try Base64URL.decode(encodedPayload)
        let signature = try Base64URL.decode(encodedSignature)
        let signingInput = bytes[..<dots[1]]

        let candidates = try candidateKeys(for: header, verifier: verifier)
        for candidate in candidates {
            let verified: Bool
            do {
                verified = try candidate.key.verify(signature, for: signingInput, algorithm: header.algorithm)
            } catch let error as JOSEError {
                throw error
            } catch let error as CryptoError {
                throw .crypto(error)
            } catch {
                throw .invalidSignature
            }
            if verified {
                return VerifiedJWS(header: header, payload: payload, kid: candidate.kid)
            }
        }
        throw .invalidSignature
    }

    static func parseHeader(_ encoded: ArraySlice<UInt8>, verifier: JWSVerifier) throws(JOSEError) -> JWSHeader {
        let members: JSONObject
        do {
            members = try JSON.decodeObject(try Base64URL.decode(encoded), limits: .jose)
        } catch let error as JSONError {
            throw .malformedJSON(error)
        } catch {
            throw .invalidBase64URL
        }
        guard let algValue = members["alg"] else { throw .malformedHeader("missing alg") }
        guard let alg = algValue.stringValue else { throw .malformedHeader("alg is not a string") }
        if alg.lowercased() == "none" { throw .algorithmNone }
        if alg.hasPrefix("HS") { throw .hmacAlgorithmRefused(alg) }
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw .unsupportedAlgorithm(alg) }
        guard verifier.allowedAlgorithms.contains(algorithm) else { throw .algorithmNotAllowed(alg) }

        for name in keyCarryingHeaders where members[name] != nil {
            throw .forbiddenHeader(name)
        }
        if let kid = members["kid"], kid.stringValue == nil { throw .malformedHeader("kid is not a string") }
        if let typ = members["typ"], typ.stringValue == nil { throw .malformedHeader("typ is not a string") }

        if let crit = members["crit"] {
            // RFC 7515 §4.1.11: a non-empty array of names, not registered ones, each present in the header.
            guard let names = crit.arrayValue, !names.isEmpty else { throw .malformedHeader("crit is not a non-empty array") }
            for value in names {
                guard let name = value.stringValue, !name.isEmpty else { throw .malformedHeader("crit member is not a string") }
                guard !registeredHeaders.contains(name), members[name] != nil else {
                    throw .malformedHeader("crit names \(name), which it may not")
                }
                guard verifier.understoodCriticalHeaders.contains(name) else { throw .unknownCriticalHeader(name) }
            }
        }
        return JWSHeader(algorithm: algorithm, members: members)
    }

    static func candidateKeys(for header: JWSHeader, verifier: JWSVerifier) throws(JOSEError) -> [JWSVerifier.Key] {
        if let kid = header.kid {
            let named = verifier.keys.filter { $0.kid == kid }
            guard !named.isEmpty else { throw .noMatchingKey(kid: kid) }
            let fitting = named.filter { $0.key.kind == header.algorithm.keyKind && ($0.algorithm ?? header.algorithm) == header.algorithm }
            guard !fitting.isEmpty else {
                throw .algorithmKeyMismatch(algorithm: header.algorithm.rawValue, keyType: named[0].key.kind.keyTypeName)
            }
            return fitting
        }
        // Without a kid, try the keys that fit the algorithm; a verifier holds few keys.
        let fitting = verifier.keys.filter { $0.key.kind == header.algorithm.keyKind && ($0.algorithm ?? header.algorithm) == header.algorithm }
        guard !fitting.isEmpty else { throw .noMatchingKey(kid: nil) }
        return fitting
    }
}
