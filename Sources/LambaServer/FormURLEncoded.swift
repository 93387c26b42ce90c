/// The parameters of an `application/x-www-form-urlencoded` body or query, in the order sent.
///
/// Lookups do not hide repeats: RFC 6749 §3.1 forbids sending a parameter more than once, so
/// endpoints call `rejectDuplicates()` (or inspect `duplicateNames`) before reading values.
public struct FormParameters: Sendable, Equatable {
    public struct Pair: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    public let pairs: [Pair]

    public init(pairs: [Pair]) { self.pairs = pairs }

    /// The first value of `name`.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    public func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// Names sent more than once, in order of first appearance.
    public var duplicateNames: [String] {
        var seen = Set<String>()
        var duplicates: [String] = []
        for pair in pairs where !seen.insert(pair.name).inserted && !duplicates.contains(pair.name) {
            duplicates.append(pair.name)
        }
        return duplicates
    }

    /// RFC 6749 §3.1. - Throws: `APIError.invalidRequest` naming the first repeated parameter.
    public func rejectDuplicates() throws(APIError) {
        if let name = duplicateNames.first {
            throw .invalidRequest("parameter \(name) is included more than once", field: name)
        }
    }
}

/// Why a form body was refused.
public enum FormDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `%` not followed by two hex digits.
    case invalidPercentEncoding(offset: Int)
    /// The decoded bytes of a name or value are not UTF-8.
    case invalidUTF8

    public var description: String {
        switch self {
        case .invalidPercentEncoding(let offset): "invalid percent-encoding at byte \(offset)"
        case .invalidUTF8: "a name or value is not valid UTF-8"
        }
    }
}

/// A strict `application/x-www-form-urlencoded` parser (the WHATWG URL standard's algorithm, minus its
/// leniency): `+` is a space, `%XX` must be two hex digits, decoded text must be UTF-8.
public enum FormURLEncoded {
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(FormDecodingError) -> FormParameters {
        let input = Array(bytes)
        var pairs: [FormParameters.Pair] = []
        var start = 0
        while start <= input.count {
            var end = start
            while end < input.count, input[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                let segment = input[start..<end]
                let equals = segment.firstIndex(of: UInt8(ascii: "="))
                let name = try decode(segment[start..<(equals ?? end)])
                let value = try equals.map { i throws(FormDecodingError) in try decode(segment[(i + 1)..<end]) } ?? ""
                pairs.append(.init(name: name, value: value))
            }
            start = end + 1
        }
        return FormParameters(pairs: pairs)
    }

    // Slices keep their indices into the whole body, so `index` is already the offset to report.
    private static func decode(_ bytes: ArraySlice<UInt8>) throws(FormDecodingError) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "+"):
                output.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.endIndex,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
                else { throw .invalidPercentEncoding(offset: index) }
                output.append(high << 4 | low)
                index += 3
            default:
                output.append(byte)
                index += 1
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
