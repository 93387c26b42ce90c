import FuzzSupport
import LambaOAuth
import LambaServer

// The two application/x-www-form-urlencoded decoders: OAuthParameters (LambaOAuth, queries and bodies
// of the protocol endpoints) and FormURLEncoded (LambaServer, console and hosted pages). Properties:
// they accept the same inputs and read the same pairs (OAuthParameters drops empty names, RFC 6749
// §3.1 has no use for them); encoding what was read reads back the same; duplicate checks agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let oauth = try? OAuthParameters.decode(bytes)
    let form = try? FormURLEncoded.parse(bytes)
    guard bytes.count <= 64 * 1024 else { return 0 }  // OAuthParameters refuses larger requests
    require((oauth == nil) == (form == nil), "one decoder accepts what the other refuses")
    guard let oauth, let form else { return 0 }
    let formPairs = form.pairs.filter { !$0.name.isEmpty }.map { [$0.name, $0.value] }
    require(oauth.pairs.map { [$0.name, $0.value] } == formPairs, "the decoders read different pairs")

    let encoded = OAuthParameters.encode(oauth.pairs.map { ($0.name, $0.value) })
    require((try? OAuthParameters.decode(encoded)) == oauth, "encode then decode changed the pairs")
    require((try? FormURLEncoded.parse(Array(encoded.utf8)))?.pairs.map { [$0.name, $0.value] } == formPairs, "FormURLEncoded reads the encoding differently")

    let names = formPairs.map { $0[0] }
    let duplicated = (try? oauth.rejectDuplicates()) == nil
    require(duplicated == (Set(names).count != names.count), "rejectDuplicates disagrees with the pairs")
    require(form.duplicateNames.filter { !$0.isEmpty }.isEmpty == !duplicated, "FormParameters.duplicateNames disagrees")
    for name in ["client_id", "redirect_uri", "scope", "state"] {
        if let value = try? oauth.single(name) { require(value.map { !$0.isEmpty } ?? true, "single returned an empty value") }
    }
    return 0
}
