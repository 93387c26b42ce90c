/// A JSON Web Key (RFC 7517) of one of the types Lamba signs with: RSA (RFC 7518 §6.3), EC P-256
/// (RFC 7518 §6.2) and OKP Ed25519 (RFC 8037). Parameters are held decoded; `json` writes them back.
public struct JWK: Sendable, Equatable, Hashable {
    public enum KeyType: String, Sendable {
        case rsa = "RSA"
        case ec = "EC"
        case okp = "OKP"
    }

    public var keyType: KeyType
    /// `P-256` for EC, `Ed25519` for OKP, nil for RSA.
    public var curve: String?
    public var n: [UInt8]?
    public var e: [UInt8]?
    public var x: [UInt8]?
    public var y: [UInt8]?
    // Private parameters.
    public var d: [UInt8]?
    public var p: [UInt8]?
    public var q: [UInt8]?
    public var dp: [UInt8]?
    public var dq: [UInt8]?
    public var qi: [UInt8]?

    public var kid: String?
    public var alg: String?
    public var use: String?

    public var isPrivate: Bool { d != nil }

    public init(keyType: KeyType, curve: String? = nil) {
        self.keyType = keyType
        self.curve = curve
    }

    /// Reads a JWK, refusing types, curves and shapes Lamba does not support with a reason.
    public init(json: JSONObject) throws(JOSEError) {
        guard let ktyValue = json["kty"] else { throw .invalidKey("missing kty") }
        guard let kty = ktyValue.stringValue else { throw .invalidKey("kty is not a string") }
        guard let keyType = KeyType(rawValue: kty) else { throw .unsupportedKey("kty \(kty)") }
        self.keyType = keyType
        self.kid = try Self.optionalString(json, "kid")
        self.alg = try Self.optionalString(json, "alg")
        self.use = try Self.optionalString(json, "use")

        switch keyType {
        case .rsa:
            // Multi-prime keys (RFC 7518 §6.3.2.7) are not supported.
            guard json["oth"] == nil else { throw .unsupportedKey("multi-prime RSA (oth)") }
            n = try Self.required(json, "n")
            e = try Self.required(json, "e")
            d = try Self.optional(json, "d")
            p = try Self.optional(json, "p")
            q = try Self.optional(json, "q")
            dp = try Self.optional(json, "dp")
            dq = try Self.optional(json, "dq")
            qi = try Self.optional(json, "qi")
            let crt = [p, q, dp, dq, qi].filter { $0 != nil }.count
            guard crt == 0 || crt == 5 else { throw .invalidKey("RSA private key needs all of p, q, dp, dq, qi or none") }
            guard crt == 0 || d != nil else { throw .invalidKey("RSA CRT parameters without d") }
            guard let n = n, n.first != 0 else { throw .invalidKey("RSA modulus has a leading zero octet") }
            guard n.count * 8 >= AsymmetricKey.minimumRSABits else {
                throw .unsupportedKey("RSA modulus of \(n.count * 8) bits; at least \(AsymmetricKey.minimumRSABits) required")
            }
            guard n.count * 8 <= AsymmetricKey.maximumRSABits else {
                throw .unsupportedKey("RSA modulus of \(n.count * 8) bits; at most \(AsymmetricKey.maximumRSABits) supported")
            }
        case .ec:
            curve = try Self.optionalString(json, "crv")
            guard curve == "P-256" else { throw .unsupportedKey("EC curve \(curve ?? "(none)")") }
            x = try Self.required(json, "x")
            y = try Self.required(json, "y")
            d = try Self.optional(json, "d")
            guard x?.count == 32, y?.count == 32 else { throw .invalidKey("P-256 coordinates must be 32 octets") }
            if let d, d.count != 32 { throw .invalidKey("P-256 private key must be 32 octets") }
        case .okp:
            curve = try Self.optionalString(json, "crv")
            guard curve == "Ed25519" else { throw .unsupportedKey("OKP curve \(curve ?? "(none)")") }
            x = try Self.required(json, "x")
            d = try Self.optional(json, "d")
            guard x?.count == 32 else { throw .invalidKey("Ed25519 public key must be 32 octets") }
            if let d, d.count != 32 { throw .invalidKey("Ed25519 private key must be 32 octets") }
        }
    }

    public init<Bytes: Collection>(jsonBytes: Bytes) throws(JOSEError) where Bytes.Element == UInt8 {
        let object: JSONObject
        do {
            object = try JSON.decodeObject(jsonBytes)
        } catch {
            throw .malformedJSON(error)
        }
        try self.init(json: object)
    }

    /// The key without its private parameters.
    public var publicKey: JWK {
        var key = self
        key.d = nil
        key.p = nil
        key.q = nil
        key.dp = nil
        key.dq = nil
        key.qi = nil
        return key
    }

    /// The JWK as JSON, in a fixed member order: kty, crv, kid, use, alg, then the key parameters.
    public var json: JSONObject {
        var object = JSONObject()
        object["kty"] = .string(keyType.rawValue)
        if let curve { object["crv"] = .string(curve) }
        if let kid { object["kid"] = .string(kid) }
        if let use { object["use"] = .string(use) }
        if let alg { object["alg"] = .string(alg) }
        for (name, value) in [("n", n), ("e", e), ("x", x), ("y", y), ("d", d), ("p", p), ("q", q), ("dp", dp), ("dq", dq), ("qi", qi)] {
            if let value { object[name] = .string(Base64URL.encode(value)) }
        }
        return object
    }

    /// The RFC 7638 thumbprint: SHA-256 over the required public members, sorted, without whitespace,
    /// base64url encoded. Lamba uses it as `kid`.
    public func thumbprint() -> String {
        var object = JSONObject()
        // Members in lexicographic order (RFC 7638 §3.2).
        switch keyType {
        case .rsa:
            object["e"] = .string(Base64URL.encode(e ?? []))
            object["kty"] = .string(keyType.rawValue)
            object["n"] = .string(Base64URL.encode(n ?? []))
        case .ec:
            object["crv"] = .string(curve ?? "")
            object["kty"] = .string(keyType.rawValue)
            object["x"] = .string(Base64URL.encode(x ?? []))
            object["y"] = .string(Base64URL.encode(y ?? []))
        case .okp:
            object["crv"] = .string(curve ?? "")
            object["kty"] = .string(keyType.rawValue)
            object["x"] = .string(Base64URL.encode(x ?? []))
        }
        return Base64URL.encode(Digest.sha256(JSON.encode(object)))
    }

    private static func optionalString(_ json: JSONObject, _ name: String) throws(JOSEError) -> String? {
        guard let value = json[name] else { return nil }
        guard let string = value.stringValue else { throw .invalidKey("\(name) is not a string") }
        return string
    }

    private static func optional(_ json: JSONObject, _ name: String) throws(JOSEError) -> [UInt8]? {
        guard let string = try optionalString(json, name) else { return nil }
        do {
            return try Base64URL.decode(string)
        } catch {
            throw .invalidKey("\(name) is not base64url")
        }
    }

    private static func required(_ json: JSONObject, _ name: String) throws(JOSEError) -> [UInt8] {
        guard let value = try optional(json, name) else { throw .invalidKey("missing \(name)") }
        guard !value.isEmpty else { throw .invalidKey("\(name) is empty") }
        return value
    }
}

/// A JWK Set (RFC 7517 §5).
public struct JWKSet: Sendable, Equatable {
    public var keys: [JWK]

    public init(keys: [JWK]) { self.keys = keys }

    /// Reads a JWK Set. Keys of a type or curve Lamba does not support are skipped, as RFC 7517 §5
    /// advises; a malformed key of a supported type is an error.
    public init(json: JSONObject) throws(JOSEError) {
        guard let array = json["keys"]?.arrayValue else { throw .invalidKey("JWK Set without a keys array") }
        var keys: [JWK] = []
        for item in array {
            guard let object = item.objectValue else { throw .invalidKey("JWK Set member is not an object") }
            do {
                keys.append(try JWK(json: object))
            } catch .unsupportedKey {
                continue
            }
        }
        self.keys = keys
    }

    public init<Bytes: Collection>(jsonBytes: Bytes) throws(JOSEError) where Bytes.Element == UInt8 {
        let object: JSONObject
        do {
            object = try JSON.decodeObject(jsonBytes, limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 8))
        } catch {
            throw .malformedJSON(error)
        }
        try self.init(json: object)
    }

    /// Public members only: a JWKS never carries private parameters.
    public var publicJSON: JSONObject {
        ["keys": .array(keys.map { .object($0.publicKey.json) })]
    }
}
