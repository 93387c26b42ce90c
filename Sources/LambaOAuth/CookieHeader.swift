import Foundation

/// Reads the `Cookie` request header (RFC 6265 §4.2.1, §5.4): `name=value` pairs separated by `;`.
/// Pure, so that it can be tested and fuzzed without a request.
public enum CookieHeader {
    /// The value of the first cookie called `name` in the `Cookie` header lines, nil when there is none.
    public static func value<Lines: Sequence<String>>(of name: String, in lines: Lines) -> String? {
        for header in lines {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[0] == name { return pair[1] }
            }
        }
        return nil
    }
}
