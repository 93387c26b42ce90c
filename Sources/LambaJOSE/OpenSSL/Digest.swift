internal import COpenSSL

/// SHA-2 digests and HMAC through OpenSSL's EVP interface, with the algorithm fetched once per process
/// (implicit fetches on every call are measurably slower in OpenSSL 3).
public enum Digest {
    public enum Algorithm: Sendable {
        case sha256, sha384, sha512
        /// Only as HMAC-SHA-1, the algorithm authenticator apps compute TOTP codes with (RFC 6238 §1.2);
        /// HMAC's security does not rest on SHA-1's collision resistance (RFC 2104 §6).
        case sha1

        var name: String {
            switch self {
            case .sha1: "SHA1"
            case .sha256: "SHA256"
            case .sha384: "SHA384"
            case .sha512: "SHA512"
            }
        }

        var byteCount: Int {
            switch self {
            case .sha1: 20
            case .sha256: 32
            case .sha384: 48
            case .sha512: 64
            }
        }

        var md: OpaquePointer {
            switch self {
            case .sha1: FetchedDigests.sha1
            case .sha256: FetchedDigests.sha256
            case .sha384: FetchedDigests.sha384
            case .sha512: FetchedDigests.sha512
            }
        }
    }

    public static func sha256<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        hash(data, .sha256)
    }

    public static func hash<Bytes: Collection>(_ data: Bytes, _ algorithm: Algorithm) -> [UInt8] where Bytes.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        let ok = withContiguousBytes(data) { input in
            EVP_Digest(input.baseAddress, input.count, &out, nil, algorithm.md, nil)
        }
        // A digest over memory we own cannot fail short of memory exhaustion.
        precondition(ok == 1, "EVP_Digest failed: \(OpenSSL.drainErrorQueue())")
        return out
    }

    /// HMAC (RFC 2104) keyed with `key`.
    public static func hmac<Key: Collection, Bytes: Collection>(
        _ algorithm: Algorithm, key: Key, data: Bytes
    ) -> [UInt8] where Key.Element == UInt8, Bytes.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = withContiguousBytes(key) { k in
            withContiguousBytes(data) { d in
                HMAC(algorithm.md, k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &length)
            }
        }
        precondition(result != nil, "HMAC failed: \(OpenSSL.drainErrorQueue())")
        return Array(out.prefix(Int(length)))
    }
}

/// Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp).
public func constantTimeEquals<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    withContiguousBytes(a) { x in
        withContiguousBytes(b) { y in
            guard x.count == y.count else { return false }
            if x.count == 0 { return true }
            return CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0
        }
    }
}

/// Gives a C call a contiguous view of any byte collection without copying arrays.
@inline(__always)
func withContiguousBytes<Bytes: Collection, R>(_ bytes: Bytes, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
where Bytes.Element == UInt8 {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(bytes).withUnsafeBytes(body)
}

/// Message digests fetched once; `EVP_MD` objects from `EVP_MD_fetch` are immutable and thread-safe.
enum FetchedDigests {
    nonisolated(unsafe) static let sha256: OpaquePointer = fetch("SHA256")
    nonisolated(unsafe) static let sha384: OpaquePointer = fetch("SHA384")
    nonisolated(unsafe) static let sha512: OpaquePointer = fetch("SHA512")
    nonisolated(unsafe) static let sha1: OpaquePointer = fetch("SHA1")

    private static func fetch(_ name: String) -> OpaquePointer {
        guard let md = EVP_MD_fetch(nil, name, nil) else {
            fatalError("OpenSSL has no \(name): \(OpenSSL.drainErrorQueue())")
        }
        return md
    }
}
