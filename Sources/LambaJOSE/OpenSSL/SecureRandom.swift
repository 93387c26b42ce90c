internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) throws -> [UInt8] {
        precondition(count >= 0)
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 {
            try OpenSSL.check(RAND_bytes(&out, Int32(count)), "RAND_bytes")
        }
        return out
    }

    /// An opaque token of `byteCount` random bytes (default 32, i.e. 256 bits), base64url encoded.
    /// Used for codes, refresh tokens, API keys and client secrets.
    public static func token(byteCount: Int = 32) throws -> String {
        Base64URL.encode(try bytes(byteCount))
    }
}
