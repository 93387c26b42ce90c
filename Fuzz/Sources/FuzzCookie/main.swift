import FuzzSupport
import LambaServer

// The Cookie request header (RFC 6265 §5.4). Input: the cookie name to look up, a newline, then one
// header line per further line. Properties: a found value was sent after `name=` in some line and
// has no surrounding whitespace; the names Lamba reads are looked up as well.
let lambaNames = ["lamba_csrf", "lamba_session_ws_1", "lamba_browser"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let text = String(decoding: fuzzInput(start, count), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let name = lines.isEmpty ? "" : lines.removeFirst()
    for candidate in [name] + lambaNames {
        guard let value = CookieHeader.value(of: candidate, in: lines) else { continue }
        require(lines.contains { $0.contains(value) }, "value \(value) is not in the header")
        require(value.first?.isWhitespace != true && value.last?.isWhitespace != true, "value keeps whitespace")
    }
    return 0
}
