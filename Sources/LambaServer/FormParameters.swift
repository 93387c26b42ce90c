public import LambaOAuth

/// The parameters of an `application/x-www-form-urlencoded` body or query, in the order sent, as
/// the console reads them. Decoded by the one form parser, `OAuthParameters.decode` (the protocol
/// endpoints read the same bytes the same way); this view adds the console's error shapes.
///
/// Lookups do not hide repeats: RFC 6749 §3.1 forbids sending a parameter more than once, so
/// callers use `rejectDuplicates()` before reading values.
public struct FormParameters: Sendable, Equatable {
    public let parameters: OAuthParameters

    /// - Throws: `OAuthError` `invalid_request` for a malformed escape or text that is not UTF-8.
    public init<Bytes: Collection<UInt8>>(decoding bytes: Bytes) throws(OAuthError) {
        parameters = try OAuthParameters.decode(bytes)
    }

    public var pairs: [OAuthParameters.Pair] { parameters.pairs }

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
