import FuzzSupport
import LambaOAuth

// The application/x-www-form-urlencoded decoder of the protocol endpoints' queries and bodies,
// OAuthParameters (LambaOAuth). Properties: encoding what was read reads back the same; the
// duplicate check agrees with the pairs; no value read by name is empty (RFC 6749 §3.1).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let decoded = try? OAuthParameters.decode(bytes)
    if bytes.count > 64 * 1024 { require(decoded == nil, "a request over 64 KiB was decoded") }
    guard let oauth = decoded else { return 0 }
    let formPairs = oauth.pairs.map { [$0.name, $0.value] }

    let encoded = OAuthParameters.encode(oauth.pairs.map { ($0.name, $0.value) })
    require((try? OAuthParameters.decode(encoded)) == oauth, "encode then decode changed the pairs")

    let names = formPairs.map { $0[0] }
    let duplicated = (try? oauth.rejectDuplicates()) == nil
    require(duplicated == (Set(names).count != names.count), "rejectDuplicates disagrees with the pairs")
    for name in ["client_id", "redirect_uri", "scope", "state"] {
        if let value = try? oauth.single(name) { require(!value.isEmpty, "single returned an empty value") }
    }
    return 0
}
