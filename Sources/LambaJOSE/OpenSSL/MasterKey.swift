internal import COpenSSL

/// The master key that encrypts private keys at rest with AES-256-GCM.
///
/// A sealed box is `version (1) || nonce (12) || ciphertext || tag (16)`. The associated data binds a
/// box to what it protects (a key's `kid`), so a box moved onto another record does not open.
public struct MasterKey: Sendable {
    public static let byteCount = 32
    static let version: UInt8 = 1
    static let nonceCount = 12
    static let tagCount = 16

    private let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(JOSEError) {
        guard bytes.count == Self.byteCount else { throw .invalidKey("master key must be \(Self.byteCount) bytes") }
        self.bytes = bytes
    }

    /// Reads a master key written as base64url (43 characters) or hex (64 characters).
    public init(encoded: String) throws(JOSEError) {
        let text = encoded.trimmingWhitespace()
        if text.utf8.count == 64, let hex = Self.decodeHex(text) {
            try self.init(bytes: hex)
        } else {
            try self.init(bytes: Base64URL.decode(text))
        }
    }

    public static func generate() throws -> MasterKey {
        try MasterKey(bytes: SecureRandom.bytes(byteCount))
    }

    /// The key as base64url, for writing the dev key file.
    public var encoded: String { Base64URL.encode(bytes) }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        let nonce = try SecureRandom.bytes(Self.nonceCount)
        let ctx = try OpenSSL.nonNull(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new")
        defer { EVP_CIPHER_CTX_free(ctx) }
        try OpenSSL.check(EVP_EncryptInit_ex2(ctx, Self.cipher, bytes, nonce, nil), "EVP_EncryptInit_ex2")
        var length: Int32 = 0
        if !associatedData.isEmpty {
            try OpenSSL.check(EVP_EncryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)), "GCM associated data")
        }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        try OpenSSL.check(EVP_EncryptUpdate(ctx, &ciphertext, &length, plaintext, Int32(plaintext.count)), "EVP_EncryptUpdate")
        var total = Int(length)
        try ciphertext.withUnsafeMutableBufferPointer { buffer in
            try OpenSSL.check(EVP_EncryptFinal_ex(ctx, buffer.baseAddress! + total, &length), "EVP_EncryptFinal_ex")
        }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: Self.tagCount)
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagCount), &tag), "GCM get tag")
        return [Self.version] + nonce + ciphertext[..<total] + tag
    }

    public func open(_ box: [UInt8], associatedData: [UInt8] = []) throws(JOSEError) -> [UInt8] {
        let overhead = 1 + Self.nonceCount + Self.tagCount
        guard box.count >= overhead, box[0] == Self.version else { throw .invalidKey("sealed key is malformed") }
        let nonce = Array(box[1..<(1 + Self.nonceCount)])
        let ciphertext = Array(box[(1 + Self.nonceCount)..<(box.count - Self.tagCount)])
        var tag = Array(box[(box.count - Self.tagCount)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .crypto(CryptoError.drained("EVP_CIPHER_CTX_new")) }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var ok = EVP_DecryptInit_ex2(ctx, Self.cipher, bytes, nonce, nil) == 1
        if ok, !associatedData.isEmpty {
            ok = EVP_DecryptUpdate(ctx, nil, &length, associatedData, Int32(associatedData.count)) == 1
        }
        ok = ok && EVP_DecryptUpdate(ctx, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1
        var total = Int(length)
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagCount), &tag) == 1
        ok = ok && plaintext.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress! + total, &length) } == 1
        guard ok else {
            OpenSSL.clearErrorQueue()
            throw .invalidKey("sealed key does not open under this master key")
        }
        total += Int(length)
        return Array(plaintext[..<total])
    }

    nonisolated(unsafe) private static let cipher: OpaquePointer = {
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            fatalError("OpenSSL has no AES-256-GCM: \(OpenSSL.drainErrorQueue())")
        }
        return cipher
    }()

    private static func decodeHex(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for c in text.utf8 {
            let nibble: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return out
    }
}

extension AsymmetricKey {
    /// The private key sealed under `masterKey`, bound to `kid`.
    public func sealed(with masterKey: MasterKey, kid: String) throws -> [UInt8] {
        var der = try pkcs8DER()
        defer { for i in der.indices { der[i] = 0 } }
        return try masterKey.seal(der, associatedData: Array(kid.utf8))
    }

    /// Opens a private key sealed by `sealed(with:kid:)`.
    public convenience init(sealed box: [UInt8], masterKey: MasterKey, kid: String) throws {
        var der = try masterKey.open(box, associatedData: Array(kid.utf8))
        defer { for i in der.indices { der[i] = 0 } }
        try self.init(pkcs8DER: der)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
