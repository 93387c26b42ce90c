import Foundation
import FuzzSupport
import LambaOAuth

// The Cookie request header (RFC 6265 §5.4). Input: the cookie name to look up, a newline, then one
// header line per further line. Properties: a found value's bytes were sent in some line, and it has
// no surrounding whitespace; the names Lamba reads are looked up as well.
let lambaNames = ["lamba_csrf", "lamba_session_ws_1", "lamba_browser"]

func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
    guard !needle.isEmpty else { return true }
    guard needle.count <= haystack.count else { return false }
    return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzInput(start, count), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let name = lines.isEmpty ? "" : lines.removeFirst()
    for candidate in [name] + lambaNames {
        guard let value = CookieHeader.value(of: candidate, in: lines) else { continue }
        require(lines.contains { occurs(Array(value.utf8), in: Array($0.utf8)) }, "value \(value) is not in the header")
        let scalars = value.unicodeScalars
        require(scalars.first.map { !CharacterSet.whitespaces.contains($0) } ?? true
                && scalars.last.map { !CharacterSet.whitespaces.contains($0) } ?? true, "value keeps whitespace")
    }
    return 0
}
