/// A CBOR data item (RFC 8949) of the kinds WebAuthn uses: no floats, tags or undefined.
public indirect enum CBORValue: Sendable, Hashable {
    case unsigned(UInt64)
    /// Major type 1: the value is -1 - n.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    /// Map entries in their encoded order; keys are unique (checked on decode).
    case map([CBORMapEntry])
    case bool(Bool)
    case null

    /// The integer value, when it fits an `Int64`.
    public var integerValue: Int64? {
        switch self {
        case .unsigned(let n): n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: nil
        }
    }

    public var bytesValue: [UInt8]? { if case .bytes(let b) = self { b } else { nil } }
    public var textValue: String? { if case .text(let t) = self { t } else { nil } }
    public var mapValue: [CBORMapEntry]? { if case .map(let m) = self { m } else { nil } }

    /// A CBOR integer for a map key or value.
    public static func integer(_ value: Int64) -> CBORValue {
        value >= 0 ? .unsigned(UInt64(value)) : .negative(UInt64(-(value + 1)))
    }

    /// The value under `key` in a map; nil for a missing key or a value that is not a map.
    public subscript(key: CBORValue) -> CBORValue? {
        mapValue?.first { $0.key == key }?.value
    }
}

/// One key/value pair of a CBOR map.
public struct CBORMapEntry: Sendable, Hashable {
    public var key: CBORValue
    public var value: CBORValue

    public init(key: CBORValue, value: CBORValue) {
        self.key = key
        self.value = value
    }
}

/// A strict CBOR decoder: definite lengths only, no tags, no floats, no duplicate map keys, valid UTF-8,
/// at most 16 levels of nesting; every declared length is checked against the bytes left before
/// anything is allocated, so hostile input throws instead of trapping or exhausting memory.
public enum CBOR {
    /// Nesting deeper than this is refused; a COSE key or attestation object needs three levels.
    public static let maximumDepth = 16

    /// Decodes exactly one item that fills `bytes`; trailing bytes are refused.
    public static func decode(_ bytes: [UInt8]) throws(WebAuthnError) -> CBORValue {
        let (value, length) = try decodePrefix(bytes[...])
        guard length == bytes.count else { throw .malformedCBOR("trailing bytes after the item") }
        return value
    }

    /// Decodes the first item of `bytes` and says how many bytes it used: authenticator data carries a
    /// COSE key followed by an extensions map with no length in front (WebAuthn L3 §6.1).
    public static func decodePrefix(_ bytes: ArraySlice<UInt8>) throws(WebAuthnError) -> (value: CBORValue, length: Int) {
        var reader = CBORReader(bytes: bytes)
        let value = try reader.item(depth: 1)
        return (value, reader.position - bytes.startIndex)
    }
}

private struct CBORReader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }

    mutating func byte() throws(WebAuthnError) -> UInt8 {
        guard position < bytes.endIndex else { throw .malformedCBOR("the input ends inside an item") }
        defer { position += 1 }
        return bytes[position]
    }

    /// The argument of a head (RFC 8949 §3): the low five bits, or the 1, 2, 4 or 8 bytes after them.
    mutating func argument(_ info: UInt8) throws(WebAuthnError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24, 25, 26, 27:
            let count = 1 << Int(info - 24)
            var value: UInt64 = 0
            for _ in 0..<count { value = value << 8 | UInt64(try byte()) }
            return value
        case 31: throw .malformedCBOR("indefinite lengths are not allowed")
        default: throw .malformedCBOR("reserved additional information \(info)")
        }
    }

    /// A declared length, refused when more than the bytes left: each byte or element needs a byte.
    mutating func length(_ info: UInt8) throws(WebAuthnError) -> Int {
        let declared = try argument(info)
        guard declared <= UInt64(remaining) else { throw .malformedCBOR("a length runs past the end of the input") }
        return Int(declared)
    }

    mutating func take(_ count: Int) -> [UInt8] {
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func item(depth: Int) throws(WebAuthnError) -> CBORValue {
        guard depth <= CBOR.maximumDepth else { throw .malformedCBOR("nested more than \(CBOR.maximumDepth) levels") }
        let head = try byte()
        let major = head >> 5
        let info = head & 0x1F
        switch major {
        case 0: return .unsigned(try argument(info))
        case 1: return .negative(try argument(info))
        case 2: return .bytes(take(try length(info)))
        case 3:
            let raw = take(try length(info))
            guard let text = String(validating: raw, as: UTF8.self) else { throw .malformedCBOR("a text string is not UTF-8") }
            return .text(text)
        case 4:
            let count = try length(info)
            var elements: [CBORValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try item(depth: depth + 1)) }
            return .array(elements)
        case 5:
            let count = try length(info)
            var entries: [CBORMapEntry] = []
            var keys: Set<CBORValue> = []
            for _ in 0..<count {
                let key = try item(depth: depth + 1)
                guard keys.insert(key).inserted else { throw .malformedCBOR("a map key appears twice") }
                entries.append(CBORMapEntry(key: key, value: try item(depth: depth + 1)))
            }
            return .map(entries)
        case 6: throw .malformedCBOR("tags are not allowed")
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 31: throw .malformedCBOR("indefinite lengths are not allowed")
            default: throw .malformedCBOR("simple value or float \(info) is not allowed")
            }
        }
    }
}
