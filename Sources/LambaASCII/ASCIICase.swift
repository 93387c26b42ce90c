// ASCII text rules that HTTP and SQL parsing share, as byte comparisons without copies.

/// Comparisons that ignore ASCII case, in place over bytes: media types, auth schemes and SQL
/// keywords are read on every request without lower-casing copies.
extension Collection<UInt8> {
    /// Whether these bytes are `lowercase` (lower-case ASCII), ignoring ASCII case.
    public func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        count == lowercase.utf8CodeUnitCount && hasPrefixIgnoringASCIICase(lowercase)
    }

    /// Whether these bytes start with `lowercase` (lower-case ASCII), ignoring ASCII case.
    public func hasPrefixIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        let wanted = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        var bytes = makeIterator()
        for lower in wanted {
            guard let byte = bytes.next() else { return false }
            guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 == lower : byte == lower else { return false }
        }
        return true
    }
}

extension StringProtocol {
    /// Without leading and trailing HTTP whitespace (RFC 9110 §5.6.3: spaces and tabs). Foundation's
    /// `trimmingCharacters(in:)` bridges through NSString, which showed on every token request.
    public func trimmingHTTPWhitespace() -> String {
        let bytes = Substring(self).utf8
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
