import FuzzSupport
import LambaJOSE
import LambaModel
import LambaOAuth

// `GET /authorize` parameters into a validated request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), on a
// real SQLite provider, without a session. The input is a query string; the values `@confidential`,
// `@public` and `@redirect` stand for the fixture's client ids and registered redirect URI, which are
// random per process. Properties: never a server_error; a redirect goes only to a URI registered for
// the client named in the request (RFC 6749 §3.1.2.3, §4.1.2.1) and carries `iss` (RFC 9207 §2) and the
// request's `state`; another Project's environment never accepts the client.
let fixture = FuzzProvider.shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let decoded = try? OAuthParameters.decode(fuzzInput(start, count)) else { return 0 }
    let pairs = decoded.pairs.map { pair -> (String, String) in
        switch pair.value {
        case "@confidential": (pair.name, fixture.confidential.id)
        case "@public": (pair.name, fixture.publicClient.id)
        case "@redirect": (pair.name, FuzzProvider.redirect)
        default: (pair.name, pair.value)
        }
    }
    let request = EndpointRequest(method: "GET", parameters: OAuthParameters(pairs))
    let clientID = pairs.first { $0.0 == "client_id" }?.1
    let client = [fixture.confidential, fixture.publicClient].first { $0.id == clientID }

    let outcome = blocking { await fixture.provider.authorization.handle(request, fixture.alpha, sessionToken: nil) }
    switch outcome {
    case .errorPage(let error):
        require(error.code != .serverError, "server_error page: \(error)")
    case .redirect(let response):
        require(client != nil, "redirect for an unknown client")
        require(client?.redirectURIs.contains(response.redirectURI) == true, "redirect to unregistered \(response.redirectURI)")
        require(response.parameters.contains { $0 == ("iss", fixture.alpha.issuer) }, "redirect without iss")
        require(!response.parameters.contains { $0 == ("error", "server_error") }, "server_error redirect: \(response.parameters)")
        if let state = pairs.first(where: { $0.0 == "state" })?.1 {
            require(response.parameters.contains { $0 == ("state", state) }, "redirect lost state")
        }
        _ = (response.location, response.formPostHTML)
    case .interaction(let required):
        require(client?.redirectURIs.contains(required.request.redirectURI) == true, "interaction for unregistered \(required.request.redirectURI)")
        require(required.kind == .login, "interaction \(required.kind) without a session")
        let resumed = try? OAuthParameters.decode(required.resumeQuery)
        require(resumed?.pairs.map { [$0.name, $0.value] } == pairs.filter { !$0.0.isEmpty }.map { [$0.0, $0.1] }, "resume query differs from the request")
    }
    if client != nil {
        let elsewhere = blocking { await fixture.provider.authorization.handle(request, fixture.beta, sessionToken: nil) }
        guard case .errorPage = elsewhere else {
            require(false, "another Project accepted the client")
            return 0
        }
    }
    return 0
}
