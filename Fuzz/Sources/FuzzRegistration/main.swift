import Foundation
import FuzzSupport
import LambaJOSE
import LambaModel
import LambaOAuth

// `POST /register` client metadata (RFC 7591 §2, §3) on a real SQLite provider, in an environment that
// admits loopback clients only and in one open to all. The input is the JSON body. Properties: never a
// 5xx (malformed metadata is invalid_client_metadata or invalid_redirect_uri, §3.2.2); a 201 body is
// JSON naming the client; under loopback_only every registered URI is http on a loopback host.
let fixture = FuzzProvider.shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let body = fuzzInput(start, count)
    for context in [fixture.alpha, fixture.beta] {
        let response = blocking { await fixture.provider.registration.handle(body: body, isJSON: true, clientAddress: "127.0.0.1", context) }
        let object = try? JSON.decodeObject(response.body, limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 32))
        require(response.status < 500, "status \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        require(object != nil, "the response is not a JSON object")
        guard response.status == 201, let object else {
            require([400, 401].contains(response.status), "status \(response.status) for a refused registration")
            continue
        }
        require(object["client_id"]?.stringValue?.isEmpty == false, "no client_id")
        if context.settings.dynamicClientRegistration == .loopbackOnly {
            let uris = (object["redirect_uris"]?.arrayValue ?? []) + (object["post_logout_redirect_uris"]?.arrayValue ?? [])
            for uri in uris.compactMap(\.stringValue) {
                let host = URLComponents(string: uri)?.host
                require(uri.lowercased().hasPrefix("http://") && host.map { OAuthClient.isLoopback(host: $0) } == true, "registered \(uri) under loopback_only")
            }
        }
    }
    return 0
}
