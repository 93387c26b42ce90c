import Hummingbird
public import LambaOAuth

/// Resolves the Project environment of `/p/{slug}/{environment}` once per request, before any
/// endpoint under the issuer runs, and hands it on in the request context. Unknown or deactivated
/// ones answer 404, and an unreachable store 503 `temporarily_unavailable` with `Retry-After`
/// (RFC 6749 §5.2): a database outage must not tell clients that their issuer is gone.
struct IssuerMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext

    let provider: OpenIDProvider

    func handle(_ request: Request, context: LambaRequestContext,
                next: (Request, LambaRequestContext) async throws -> Response) async throws -> Response {
        var resolved = context
        resolved.issuer = try await Self.resolve(provider, context)
        return try await next(request, resolved)
    }

    static func resolve(_ provider: OpenIDProvider, _ context: LambaRequestContext) async throws -> ProviderContext {
        let slug = try context.parameters.require("slug")
        let environment = try context.parameters.require("environment")
        do {
            return try await provider.context(slug: slug, environment: environment)
        } catch where error.code == .notFound {
            throw APIError(status: .notFound, code: "not_found", description: "no such issuer")
        }
    }
}

extension LambaRequestContext {
    /// The issuer's Project environment, as `IssuerMiddleware` resolved it.
    func issuerContext() throws -> ProviderContext {
        guard let issuer else { throw APIError(status: .notFound, code: "not_found", description: "no such issuer") }
        return issuer
    }
}
