import Hummingbird
import LambaOAuth

/// The client configuration endpoint's HTTP side, `{issuer}/register/{client_id}` (RFC 7592 §2):
/// GET reads, PUT replaces, DELETE removes a self-registered client.
struct ClientConfigurationRoutes: Sendable {
    let provider: OpenIDProvider

    func register(on issuer: RouterGroup<LambaRequestContext>) {
        let provider = provider
        for method in [HTTPRequest.Method.get, .put, .delete] {
            issuer.on("register/{client_id}", method: method) { request, context -> Response in
                let ctx = try context.issuerContext()
                let body = method == .put ? try await request.readBody(context: context) : []
                let clientID = context.parameters.get("client_id") ?? ""
                return OpenIDProviderRoutes.response(await provider.clientConfiguration.handle(
                    method: method.rawValue, clientID: clientID, authorization: request.headers[.authorization], body: body,
                    isJSON: OpenIDProviderRoutes.hasMediaType(request, "application/json"), ctx))
            }
        }
    }
}
