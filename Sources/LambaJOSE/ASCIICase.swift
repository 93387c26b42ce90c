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
