/// base64url without padding (RFC 7515 §2, RFC 4648 §5). Decoding is strict: padding, characters outside
/// the URL-safe alphabet, an impossible length, and non-zero unused trailing bits are all refused, so
/// that every byte string has exactly one accepted encoding.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        String(decoding: encodeToBytes(bytes), as: UTF8.self)
    }

    public static func encodeToBytes<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        withContiguousBytes(bytes) { input in
            var out = [UInt8]()
            out.reserveCapacity((input.count * 4 + 2) / 3)
            var i = 0
            let n = input.count
            while i + 3 <= n {
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                out.append(alphabet[Int(v >> 18 & 63)])
                out.append(alphabet[Int(v >> 12 & 63)])
                out.append(alphabet[Int(v >> 6 & 63)])
                out.append(alphabet[Int(v & 63)])
                i += 3
            }
            switch n - i {
            case 1:
                let v = UInt32(input[i]) << 16
                out.append(alphabet[Int(v >> 18 & 63)])
                out.append(alphabet[Int(v >> 12 & 63)])
            case 2:
                let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
                out.append(alphabet[Int(v >> 18 & 63)])
                out.append(alphabet[Int(v >> 12 & 63)])
                out.append(alphabet[Int(v >> 6 & 63)])
            default:
                break
            }
            return out
        }
    }

    public static func decode(_ string: String) throws(JOSEError) -> [UInt8] {
        try decode(string.utf8)
    }

    public static func decode<Bytes: Collection>(_ bytes: Bytes) throws(JOSEError) -> [UInt8] where Bytes.Element == UInt8 {
        var decoded: [UInt8] = []
        var failure: JOSEError?
        withContiguousBytes(bytes) { raw in
            do throws(JOSEError) { decoded = try decode(bytes: raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return decoded
    }

    static func decode(bytes input: UnsafeRawBufferPointer) throws(JOSEError) -> [UInt8] {
        let n = input.count
        // A remainder of one character cannot encode a whole byte.
        guard n % 4 != 1 else { throw .invalidBase64URL }
        var out = [UInt8]()
        out.reserveCapacity(n * 3 / 4)
        var i = 0
        while i + 4 <= n {
            let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])]
            let c = reverse[Int(input[i + 2])], d = reverse[Int(input[i + 3])]
            guard (a | b | c | d) & 0xC0 == 0 else { throw .invalidBase64URL }
            let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            out.append(UInt8(truncatingIfNeeded: v >> 16))
            out.append(UInt8(truncatingIfNeeded: v >> 8))
            out.append(UInt8(truncatingIfNeeded: v))
            i += 4
        }
        switch n - i {
        case 2:
            let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])]
            guard (a | b) & 0xC0 == 0, b & 0x0F == 0 else { throw .invalidBase64URL }
            out.append(a << 2 | b >> 4)
        case 3:
            let a = reverse[Int(input[i])], b = reverse[Int(input[i + 1])], c = reverse[Int(input[i + 2])]
            guard (a | b | c) & 0xC0 == 0, c & 0x03 == 0 else { throw .invalidBase64URL }
            out.append(a << 2 | b >> 4)
            out.append((b & 0x0F) << 4 | c >> 2)
        default:
            break
        }
        return out
    }
}
