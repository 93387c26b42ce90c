internal import COpenSSL
import Foundation

/// The JWS signature algorithms Lamba signs and verifies with (RFC 7518 §3, RFC 8037 §3.1).
public enum JWSAlgorithm: String, Sendable, CaseIterable, Hashable {
    case rs256 = "RS256"
    case ps256 = "PS256"
    case es256 = "ES256"
    case edDSA = "EdDSA"

    /// The key kind an algorithm needs; an algorithm never runs with a key of another kind.
    public var keyKind: AsymmetricKey.Kind {
        switch self {
        case .rs256, .ps256: .rsa
        case .es256: .ecP256
        case .edDSA: .ed25519
        }
    }

    /// The algorithm Lamba uses by default for a key kind.
    public static func defaultAlgorithm(for kind: AsymmetricKey.Kind) -> JWSAlgorithm {
        switch kind {
        case .rsa: .rs256
        case .ecP256: .es256
        case .ed25519: .edDSA
        }
    }
}

extension AsymmetricKey.Kind {
    /// The JWK `kty` for messages.
    public var keyTypeName: String {
        switch self {
        case .rsa: "RSA"
        case .ecP256: "EC P-256"
        case .ed25519: "OKP Ed25519"
        }
    }
}

extension AsymmetricKey {
    /// Signs `message` with `algorithm` and returns the signature in JWS form: PKCS #1 v1.5 or PSS
    /// octets for RSA, raw R || S for ES256 (RFC 7518 §3.4, not DER), 64 octets for EdDSA.
    public func sign<Bytes: Collection>(_ message: Bytes, algorithm: JWSAlgorithm) throws -> [UInt8] where Bytes.Element == UInt8 {
        guard isPrivate else { throw JOSEError.invalidKey("signing needs a private key") }
        guard algorithm.keyKind == kind else {
            throw JOSEError.algorithmKeyMismatch(algorithm: algorithm.rawValue, keyType: kind.keyTypeName)
        }
        switch algorithm {
        case .edDSA:
            return try withContiguousBytes(message) { try signEd25519($0) }
        case .rs256, .ps256, .es256:
            let digest = Digest.sha256(message)
            let signature = try signDigest(digest, algorithm: algorithm)
            return algorithm == .es256 ? try ECDSASignature.derToRaw(signature, coordinateSize: 32) : signature
        }
    }

    /// Verifies a JWS-form signature. A signature that does not verify is `false`, not an error;
    /// OpenSSL's queue is cleared so the failure does not leak into later calls.
    public func verify<Bytes: Collection>(_ signature: [UInt8], for message: Bytes, algorithm: JWSAlgorithm) throws -> Bool
    where Bytes.Element == UInt8 {
        guard algorithm.keyKind == kind else {
            throw JOSEError.algorithmKeyMismatch(algorithm: algorithm.rawValue, keyType: kind.keyTypeName)
        }
        switch algorithm {
        case .edDSA:
            guard signature.count == 64 else { return false }
            return try withContiguousBytes(message) { try verifyEd25519(signature, $0) }
        case .es256:
            guard signature.count == 64, let der = try? ECDSASignature.rawToDER(signature) else { return false }
            return try verifyDigest(der, Digest.sha256(message), algorithm: algorithm)
        case .rs256, .ps256:
            // An RSA signature is exactly as long as the modulus (RFC 8017 §8.2.2 step 1).
            guard signature.count == Int(EVP_PKEY_get_size(pkey)) else { return false }
            return try verifyDigest(signature, Digest.sha256(message), algorithm: algorithm)
        }
    }

    /// Verifies an ES256 signature in DER form (as WebAuthn and X.509 carry it), not JWS raw R || S.
    /// A malformed or non-verifying signature is `false`; OpenSSL refuses non-canonical DER.
    public func verifyES256DER<Bytes: Collection>(_ signature: [UInt8], for message: Bytes) throws -> Bool
    where Bytes.Element == UInt8 {
        guard kind == .ecP256 else {
            throw JOSEError.algorithmKeyMismatch(algorithm: JWSAlgorithm.es256.rawValue, keyType: kind.keyTypeName)
        }
        // A P-256 ECDSA-Sig-Value is at most 72 octets (SEQUENCE of two 33-octet INTEGERs).
        guard (8...72).contains(signature.count) else { return false }
        return try verifyDigest(signature, Digest.sha256(message), algorithm: .es256)
    }

    /// Runs `body` with an `EVP_PKEY_CTX` set up for `algorithm`, taken from the key's pool so that the
    /// per-call set-up cost (provider fetch, padding parameters) is paid once per context, not per token.
    private func withSignatureContext<R>(
        _ algorithm: JWSAlgorithm, forSigning: Bool, _ body: (OpaquePointer) throws -> R
    ) throws -> R {
        let slot = SignatureContextPool.Slot(algorithm: algorithm, signing: forSigning)
        let ctx = try contexts.take(slot) ?? makeSignatureContext(algorithm, forSigning: forSigning)
        do {
            let result = try body(ctx)
            contexts.give(ctx, to: slot)
            return result
        } catch {
            EVP_PKEY_CTX_free(ctx)
            throw error
        }
    }

    private func makeSignatureContext(_ algorithm: JWSAlgorithm, forSigning: Bool) throws -> OpaquePointer {
        let ctx = try OpenSSL.nonNull(EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil), "EVP_PKEY_CTX_new_from_pkey")
        do {
            if forSigning {
                try OpenSSL.check(EVP_PKEY_sign_init(ctx), "EVP_PKEY_sign_init")
            } else {
                try OpenSSL.check(EVP_PKEY_verify_init(ctx), "EVP_PKEY_verify_init")
            }
            switch algorithm {
            case .rs256:
                try OpenSSL.check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), "set PKCS #1 padding")
                try OpenSSL.check(EVP_PKEY_CTX_set_signature_md(ctx, FetchedDigests.sha256), "set signature digest")
            case .ps256:
                // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the digest.
                try OpenSSL.check(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING), "set PSS padding")
                try OpenSSL.check(EVP_PKEY_CTX_set_signature_md(ctx, FetchedDigests.sha256), "set signature digest")
                try OpenSSL.check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, FetchedDigests.sha256), "set MGF1 digest")
                try OpenSSL.check(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, lamba_RSA_PSS_SALTLEN_DIGEST()), "set PSS salt length")
            case .es256:
                break
            case .edDSA:
                preconditionFailure("EdDSA signs the message, not a digest")
            }
            return ctx
        } catch {
            EVP_PKEY_CTX_free(ctx)
            throw error
        }
    }

    private func signDigest(_ digest: [UInt8], algorithm: JWSAlgorithm) throws -> [UInt8] {
        try withSignatureContext(algorithm, forSigning: true) { ctx in
            var length = Int(EVP_PKEY_get_size(pkey))
            var signature = [UInt8](repeating: 0, count: length)
            try OpenSSL.check(EVP_PKEY_sign(ctx, &signature, &length, digest, digest.count), "EVP_PKEY_sign")
            signature.removeSubrange(length...)
            return signature
        }
    }

    private func verifyDigest(_ signature: [UInt8], _ digest: [UInt8], algorithm: JWSAlgorithm) throws -> Bool {
        try withSignatureContext(algorithm, forSigning: false) { ctx in
            let result = EVP_PKEY_verify(ctx, signature, signature.count, digest, digest.count)
            if result == 1 { return true }
            OpenSSL.clearErrorQueue()
            return false
        }
    }

    /// Ed25519 has no pre-hash: it uses an `EVP_MD_CTX` set up once with a NULL digest; one-shot
    /// `EVP_DigestSign`/`EVP_DigestVerify` leave it ready for the next message.
    private func withEd25519Context<R>(forSigning: Bool, _ body: (OpaquePointer) throws -> R) throws -> R {
        let slot = SignatureContextPool.Slot(algorithm: .edDSA, signing: forSigning)
        let ctx: OpaquePointer
        if let pooled = contexts.take(slot) {
            ctx = pooled
        } else {
            ctx = try OpenSSL.nonNull(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
            let ok = forSigning ? EVP_DigestSignInit(ctx, nil, nil, nil, pkey) : EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey)
            guard ok == 1 else {
                EVP_MD_CTX_free(ctx)
                throw CryptoError.drained(forSigning ? "EVP_DigestSignInit" : "EVP_DigestVerifyInit")
            }
        }
        do {
            let result = try body(ctx)
            contexts.give(ctx, to: slot)
            return result
        } catch {
            EVP_MD_CTX_free(ctx)
            throw error
        }
    }

    private func signEd25519(_ message: UnsafeRawBufferPointer) throws -> [UInt8] {
        try withEd25519Context(forSigning: true) { ctx in
            var length = 64
            var signature = [UInt8](repeating: 0, count: 64)
            try OpenSSL.check(
                EVP_DigestSign(ctx, &signature, &length, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count),
                "EVP_DigestSign")
            return signature
        }
    }

    private func verifyEd25519(_ signature: [UInt8], _ message: UnsafeRawBufferPointer) throws -> Bool {
        try withEd25519Context(forSigning: false) { ctx in
            let result = EVP_DigestVerify(
                ctx, signature, signature.count, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
            if result == 1 { return true }
            OpenSSL.clearErrorQueue()
            return false
        }
    }
}

/// Ready-to-use signing and verifying contexts of one key. OpenSSL contexts are not thread-safe, so
/// each is used by one caller at a time: taken under the lock, used outside it, given back after.
final class SignatureContextPool: @unchecked Sendable {
    struct Slot: Hashable {
        let algorithm: JWSAlgorithm
        let signing: Bool
    }

    /// Contexts kept per slot; more concurrent callers than this allocate and free their own.
    static let capacity = 16

    private let lock = NSLock()
    private var free: [Slot: [OpaquePointer]] = [:]

    func take(_ slot: Slot) -> OpaquePointer? {
        lock.withLock { free[slot]?.popLast() }
    }

    func give(_ ctx: OpaquePointer, to slot: Slot) {
        let kept = lock.withLock { () -> Bool in
            guard free[slot, default: []].count < Self.capacity else { return false }
            free[slot, default: []].append(ctx)
            return true
        }
        if !kept { Self.release(ctx, slot) }
    }

    deinit {
        for (slot, contexts) in free {
            contexts.forEach { Self.release($0, slot) }
        }
    }

    private static func release(_ ctx: OpaquePointer, _ slot: Slot) {
        if slot.algorithm == .edDSA { EVP_MD_CTX_free(ctx) } else { EVP_PKEY_CTX_free(ctx) }
    }
}

/// ECDSA signatures between OpenSSL's DER `ECDSA-Sig-Value` and JWS's fixed-width R || S.
enum ECDSASignature {
    static func derToRaw(_ der: [UInt8], coordinateSize: Int) throws -> [UInt8] {
        let sig = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return try OpenSSL.nonNull(d2i_ECDSA_SIG(nil, &cursor, der.count), "d2i_ECDSA_SIG")
        }
        defer { ECDSA_SIG_free(sig) }
        var raw = [UInt8](repeating: 0, count: coordinateSize * 2)
        let written = raw.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(ECDSA_SIG_get0_r(sig), buffer.baseAddress, Int32(coordinateSize))
                + BN_bn2binpad(ECDSA_SIG_get0_s(sig), buffer.baseAddress! + coordinateSize, Int32(coordinateSize))
        }
        guard written == Int32(coordinateSize * 2) else { throw CryptoError.drained("BN_bn2binpad") }
        return raw
    }

    static func rawToDER(_ raw: [UInt8]) throws -> [UInt8] {
        let half = raw.count / 2
        let sig = try OpenSSL.nonNull(ECDSA_SIG_new(), "ECDSA_SIG_new")
        defer { ECDSA_SIG_free(sig) }
        let r = BN_bin2bn(raw, Int32(half), nil)
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + half, Int32(half), nil) }
        guard let r, let s else {
            BN_free(r)
            BN_free(s)
            throw CryptoError.drained("BN_bin2bn")
        }
        // ECDSA_SIG_set0 takes ownership of r and s.
        try OpenSSL.check(ECDSA_SIG_set0(sig, r, s), "ECDSA_SIG_set0")
        let length = i2d_ECDSA_SIG(sig, nil)
        guard length > 0 else { throw CryptoError.drained("i2d_ECDSA_SIG") }
        var der = [UInt8](repeating: 0, count: Int(length))
        _ = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d_ECDSA_SIG(sig, &cursor)
        }
        return der
    }
}
