internal import COpenSSL

/// An RSA, EC P-256 or Ed25519 key, public or private, owning one OpenSSL `EVP_PKEY`.
///
/// `EVP_PKEY` is immutable once built and safe to share between threads; every signing or verifying
/// operation makes its own short-lived context, so one key may be used from many tasks at once.
public final class AsymmetricKey: @unchecked Sendable {
    public enum Kind: Sendable, Equatable {
        case rsa
        case ecP256
        case ed25519
    }

    /// Keys shorter than this are refused on import and generation (RFC 7518 §3.3 requires 2048).
    public static let minimumRSABits = 2048
    /// Keys longer than this are refused on JWK import: OpenSSL's public-key check runs Miller-Rabin
    /// over the modulus (measured on two busy cores: 0.5 s at 4096 bits, 2.4 s at 8192, 18 s at
    /// 16384), and client JWKS are imported per request. 4096 covers the keys identity providers publish.
    public static let maximumRSABits = 4096

    let pkey: OpaquePointer
    public let kind: Kind
    public let isPrivate: Bool
    /// Signing and verifying contexts, set up once and reused (see `SignatureContextPool`).
    let contexts = SignatureContextPool()

    /// Takes ownership of `pkey`: it is freed with this object, or here when the key is refused.
    private init(takingOwnership pkey: OpaquePointer, isPrivate: Bool) throws(JOSEError) {
        let kind: Kind
        do {
            kind = try Self.classify(pkey)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.kind = kind
        self.isPrivate = isPrivate
    }

    private static func classify(_ pkey: OpaquePointer) throws(JOSEError) -> Kind {
        switch EVP_PKEY_get_base_id(pkey) {
        case lamba_EVP_PKEY_RSA():
            guard EVP_PKEY_get_bits(pkey) >= minimumRSABits else {
                throw .unsupportedKey("RSA key of \(EVP_PKEY_get_bits(pkey)) bits; at least \(minimumRSABits) required")
            }
            return .rsa
        case lamba_EVP_PKEY_EC():
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let found = EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &name, name.count, &length) == 1
            OpenSSL.clearErrorQueue()
            guard found, ["prime256v1", "P-256"].contains(String(cString: name)) else {
                throw .unsupportedKey("EC curve other than P-256")
            }
            return .ecP256
        case lamba_EVP_PKEY_ED25519():
            return .ed25519
        default:
            throw .unsupportedKey("key type \(String(cString: EVP_PKEY_get0_type_name(pkey)))")
        }
    }

    deinit {
        EVP_PKEY_free(pkey)
    }

    // MARK: Generation

    public static func generate(_ kind: Kind, rsaBits: Int = 2048) throws -> AsymmetricKey {
        let name: String
        switch kind {
        case .rsa: name = "RSA"
        case .ecP256: name = "EC"
        case .ed25519: name = "ED25519"
        }
        guard kind != .rsa || rsaBits >= minimumRSABits else {
            throw JOSEError.unsupportedKey("RSA key of \(rsaBits) bits; at least \(minimumRSABits) required")
        }
        let ctx = try OpenSSL.nonNull(EVP_PKEY_CTX_new_from_name(nil, name, nil), "EVP_PKEY_CTX_new_from_name")
        defer { EVP_PKEY_CTX_free(ctx) }
        try OpenSSL.check(EVP_PKEY_keygen_init(ctx), "EVP_PKEY_keygen_init")
        switch kind {
        case .rsa: try OpenSSL.check(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(rsaBits)), "set RSA key size")
        case .ecP256: try OpenSSL.check(EVP_PKEY_CTX_set_group_name(ctx, "P-256"), "set EC group")
        case .ed25519: break
        }
        var pkey: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_generate(ctx, &pkey), "EVP_PKEY_generate")
        return try AsymmetricKey(takingOwnership: pkey!, isPrivate: true)
    }

    // MARK: JWK import and export

    /// Builds a key from a JWK and checks it: public points must lie on the curve, and a private key
    /// must match its public half.
    public convenience init(jwk: JWK) throws(JOSEError) {
        let pkey: OpaquePointer
        do {
            switch jwk.keyType {
            case .okp:
                pkey = try Self.importEd25519(jwk)
            case .rsa, .ec:
                pkey = try Self.importFromData(jwk)
            }
        } catch let error as JOSEError {
            throw error
        } catch let error as CryptoError {
            throw .invalidKey(error.description)
        } catch {
            throw .invalidKey("\(error)")
        }
        try self.init(takingOwnership: pkey, isPrivate: jwk.isPrivate)
        try checkConsistency()
    }

    private func checkConsistency() throws(JOSEError) {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw .crypto(CryptoError.drained("EVP_PKEY_CTX_new_from_pkey"))
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        let ok: Int32
        switch (kind, isPrivate) {
        case (.ed25519, _):
            ok = 1  // raw Ed25519 import derives or checks the public half below
        case (_, true):
            ok = EVP_PKEY_pairwise_check(ctx)
        case (_, false):
            ok = EVP_PKEY_public_check(ctx)
        }
        guard ok == 1 else {
            OpenSSL.clearErrorQueue()
            throw .invalidKey(isPrivate ? "private key does not match its public key" : "public key is not valid for its curve")
        }
    }

    private static func importEd25519(_ jwk: JWK) throws -> OpaquePointer {
        if let d = jwk.d {
            let key = try OpenSSL.nonNull(EVP_PKEY_new_raw_private_key_ex(nil, "ED25519", nil, d, d.count), "import Ed25519 private key")
            var publicBytes = [UInt8](repeating: 0, count: 32)
            var length = 32
            guard EVP_PKEY_get_raw_public_key(key, &publicBytes, &length) == 1,
                constantTimeEquals(publicBytes.prefix(length), jwk.x ?? [])
            else {
                EVP_PKEY_free(key)
                OpenSSL.clearErrorQueue()
                throw JOSEError.invalidKey("private key does not match its public key")
            }
            return key
        }
        let x = jwk.x ?? []
        return try OpenSSL.nonNull(EVP_PKEY_new_raw_public_key_ex(nil, "ED25519", nil, x, x.count), "import Ed25519 public key")
    }

    private static func importFromData(_ jwk: JWK) throws -> OpaquePointer {
        let builder = try OpenSSL.nonNull(OSSL_PARAM_BLD_new(), "OSSL_PARAM_BLD_new")
        defer { OSSL_PARAM_BLD_free(builder) }
        var numbers: [OpaquePointer] = []
        defer { numbers.forEach { BN_clear_free($0) } }
        func pushNumber(_ name: String, _ bytes: [UInt8]?) throws {
            guard let bytes else { return }
            let bn = try OpenSSL.nonNull(BN_bin2bn(bytes, Int32(bytes.count), nil), "BN_bin2bn")
            numbers.append(bn)
            try OpenSSL.check(OSSL_PARAM_BLD_push_BN(builder, ParameterName.stable(name), bn), "OSSL_PARAM_BLD_push_BN")
        }

        // OSSL_PARAM_BLD keeps pointers to strings and octets until OSSL_PARAM_BLD_to_param copies
        // them, so they must outlive the Swift call that pushed them.
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer {
            buffers.forEach {
                $0.initializeMemory(as: UInt8.self, repeating: 0)
                $0.deallocate()
            }
        }
        func stable(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + 1, alignment: 1)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer.copyBytes(from: bytes)
            buffers.append(buffer)
            return buffer
        }

        let typeName: String
        switch jwk.keyType {
        case .rsa:
            typeName = "RSA"
            try pushNumber(OSSL_PKEY_PARAM_RSA_N, jwk.n)
            try pushNumber(OSSL_PKEY_PARAM_RSA_E, jwk.e)
            try pushNumber(OSSL_PKEY_PARAM_RSA_D, jwk.d)
            try pushNumber("rsa-factor1", jwk.p)
            try pushNumber("rsa-factor2", jwk.q)
            try pushNumber("rsa-exponent1", jwk.dp)
            try pushNumber("rsa-exponent2", jwk.dq)
            try pushNumber("rsa-coefficient1", jwk.qi)
        case .ec:
            typeName = "EC"
            let group = stable(Array("prime256v1".utf8))
            try OpenSSL.check(
                OSSL_PARAM_BLD_push_utf8_string(builder, ParameterName.stable(OSSL_PKEY_PARAM_GROUP_NAME), group.baseAddress!.assumingMemoryBound(to: CChar.self), 0),
                "push EC group")
            // SEC 1 uncompressed point: 0x04 || X || Y.
            let point = stable([0x04] + (jwk.x ?? []) + (jwk.y ?? []))
            try OpenSSL.check(
                OSSL_PARAM_BLD_push_octet_string(builder, ParameterName.stable(OSSL_PKEY_PARAM_PUB_KEY), point.baseAddress, point.count - 1),
                "push EC point")
            try pushNumber(OSSL_PKEY_PARAM_PRIV_KEY, jwk.d)
        case .okp:
            preconditionFailure("OKP keys are imported raw")
        }
        let params = try OpenSSL.nonNull(OSSL_PARAM_BLD_to_param(builder), "OSSL_PARAM_BLD_to_param")
        defer { OSSL_PARAM_free(params) }
        let ctx = try OpenSSL.nonNull(EVP_PKEY_CTX_new_from_name(nil, typeName, nil), "EVP_PKEY_CTX_new_from_name")
        defer { EVP_PKEY_CTX_free(ctx) }
        try OpenSSL.check(EVP_PKEY_fromdata_init(ctx), "EVP_PKEY_fromdata_init")
        var pkey: OpaquePointer?
        let selection = jwk.isPrivate ? lamba_EVP_PKEY_KEYPAIR() : lamba_EVP_PKEY_PUBLIC_KEY()
        try OpenSSL.check(EVP_PKEY_fromdata(ctx, &pkey, selection, params), "EVP_PKEY_fromdata")
        return pkey!
    }

    /// The key as a JWK, with its RFC 7638 thumbprint as `kid`. Private parameters only when asked
    /// for and present.
    public func jwk(includingPrivate: Bool = false) throws -> JWK {
        var jwk: JWK
        let withPrivate = includingPrivate && isPrivate
        switch kind {
        case .rsa:
            jwk = JWK(keyType: .rsa)
            jwk.n = try bigNumberParam(OSSL_PKEY_PARAM_RSA_N)
            jwk.e = try bigNumberParam(OSSL_PKEY_PARAM_RSA_E)
            if withPrivate {
                jwk.d = try bigNumberParam(OSSL_PKEY_PARAM_RSA_D)
                jwk.p = try bigNumberParam("rsa-factor1")
                jwk.q = try bigNumberParam("rsa-factor2")
                jwk.dp = try bigNumberParam("rsa-exponent1")
                jwk.dq = try bigNumberParam("rsa-exponent2")
                jwk.qi = try bigNumberParam("rsa-coefficient1")
            }
        case .ecP256:
            jwk = JWK(keyType: .ec, curve: "P-256")
            jwk.x = try bigNumberParam(OSSL_PKEY_PARAM_EC_PUB_X, padTo: 32)
            jwk.y = try bigNumberParam(OSSL_PKEY_PARAM_EC_PUB_Y, padTo: 32)
            if withPrivate { jwk.d = try bigNumberParam(OSSL_PKEY_PARAM_PRIV_KEY, padTo: 32) }
        case .ed25519:
            jwk = JWK(keyType: .okp, curve: "Ed25519")
            var x = [UInt8](repeating: 0, count: 32)
            var length = 32
            try OpenSSL.check(EVP_PKEY_get_raw_public_key(pkey, &x, &length), "EVP_PKEY_get_raw_public_key")
            jwk.x = x
            if withPrivate {
                var d = [UInt8](repeating: 0, count: 32)
                try OpenSSL.check(EVP_PKEY_get_raw_private_key(pkey, &d, &length), "EVP_PKEY_get_raw_private_key")
                jwk.d = d
            }
        }
        jwk.kid = jwk.thumbprint()
        return jwk
    }

    /// The RFC 7638 thumbprint of the public key.
    public func thumbprint() throws -> String {
        try jwk().thumbprint()
    }

    private func bigNumberParam(_ name: String, padTo width: Int? = nil) throws -> [UInt8] {
        var bn: OpaquePointer?
        try OpenSSL.check(EVP_PKEY_get_bn_param(pkey, name, &bn), "EVP_PKEY_get_bn_param(\(name))")
        defer { BN_clear_free(bn) }
        let count = width ?? Int(lamba_BN_num_bytes(bn))
        var out = [UInt8](repeating: 0, count: count)
        guard BN_bn2binpad(bn, &out, Int32(count)) == Int32(count) else {
            throw CryptoError.drained("BN_bn2binpad(\(name))")
        }
        return out
    }

    // MARK: DER and PEM

    /// PKCS #8 DER of the private key. Callers seal it (`MasterKey.seal`) before it leaves memory.
    public func pkcs8DER() throws -> [UInt8] {
        guard isPrivate else { throw JOSEError.invalidKey("not a private key") }
        let info = try OpenSSL.nonNull(EVP_PKEY2PKCS8(pkey), "EVP_PKEY2PKCS8")
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        let length = i2d_PKCS8_PRIV_KEY_INFO(info, nil)
        guard length > 0 else { throw CryptoError.drained("i2d_PKCS8_PRIV_KEY_INFO") }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_PKCS8_PRIV_KEY_INFO(info, &cursor)
        }
        guard written == length else { throw CryptoError.drained("i2d_PKCS8_PRIV_KEY_INFO") }
        return out
    }

    public convenience init(pkcs8DER der: [UInt8]) throws {
        let info = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return try OpenSSL.nonNull(d2i_PKCS8_PRIV_KEY_INFO(nil, &cursor, der.count), "d2i_PKCS8_PRIV_KEY_INFO")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        let pkey = try OpenSSL.nonNull(EVP_PKCS82PKEY(info), "EVP_PKCS82PKEY")
        try self.init(takingOwnership: pkey, isPrivate: true)
    }

    /// SubjectPublicKeyInfo DER of the public key.
    public func spkiDER() throws -> [UInt8] {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else { throw CryptoError.drained("i2d_PUBKEY") }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_PUBKEY(pkey, &cursor)
        }
        guard written == length else { throw CryptoError.drained("i2d_PUBKEY") }
        return out
    }

    /// Reads a PEM private key (PKCS #8 or traditional) or public key (SubjectPublicKeyInfo).
    public convenience init(pem: String) throws {
        let bytes = Array(pem.utf8)
        let isPrivate = !pem.contains("PUBLIC KEY-----")
        let pkey = try bytes.withUnsafeBytes { raw -> OpaquePointer in
            let bio = try OpenSSL.nonNull(BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)), "BIO_new_mem_buf")
            defer { BIO_free(bio) }
            if isPrivate {
                return try OpenSSL.nonNull(PEM_read_bio_PrivateKey(bio, nil, nil, nil), "PEM_read_bio_PrivateKey")
            }
            return try OpenSSL.nonNull(PEM_read_bio_PUBKEY(bio, nil, nil, nil), "PEM_read_bio_PUBKEY")
        }
        try self.init(takingOwnership: pkey, isPrivate: isPrivate)
    }

    /// The public key as a PEM SubjectPublicKeyInfo.
    public func publicPEM() throws -> String {
        let bio = try OpenSSL.nonNull(BIO_new(BIO_s_mem()), "BIO_new")
        defer { BIO_free(bio) }
        try OpenSSL.check(PEM_write_bio_PUBKEY(bio, pkey), "PEM_write_bio_PUBKEY")
        var data: UnsafeMutablePointer<CChar>?
        let length = lamba_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { throw CryptoError.drained("BIO_get_mem_data") }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}

/// OSSL_PARAM keys are kept by pointer, not copied, so they must live as long as the process: the
/// few names Lamba uses are made into C strings once.
enum ParameterName {
    nonisolated(unsafe) private static let table: [String: UnsafePointer<CChar>] = {
        let names = [
            OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D, "rsa-factor1", "rsa-factor2",
            "rsa-exponent1", "rsa-exponent2", "rsa-coefficient1", OSSL_PKEY_PARAM_GROUP_NAME, OSSL_PKEY_PARAM_PUB_KEY,
            OSSL_PKEY_PARAM_PRIV_KEY,
        ]
        return Dictionary(uniqueKeysWithValues: names.map { ($0, UnsafePointer(strdup($0)!)) })
    }()

    static func stable(_ name: String) -> UnsafePointer<CChar> {
        guard let pointer = table[name] else { preconditionFailure("OSSL_PARAM name \(name) not in the table") }
        return pointer
    }
}
