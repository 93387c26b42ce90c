import HTTPTypes
import Hummingbird
import LambaOAuth

/// Chooses the language of the hosted pages once per request (docs/hosted-pages.md#languages):
/// the `ui_locales` of the request's query (on the hosted pages, the query is the pending
/// authorization request), else `Accept-Language`, else English. A form that comes back with an
/// error is answered in the language of its own authorization request (`HostedPageRoutes.submit`).
struct HostedPageLanguageMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext

    func handle(_ request: Request, context: LambaRequestContext,
                next: (Request, LambaRequestContext) async throws -> Response) async throws -> Response {
        try await Self.speaking(request) { try await next(request, context) }
    }

    /// Runs `body` with the strings of the language `request` asks for.
    static func speaking<Value>(_ request: Request, authz: String? = nil, _ body: () async throws -> Value) async rethrows -> Value {
        let query = authz ?? request.uri.query ?? ""
        let uiLocales = (try? OAuthParameters.decode(query).single("ui_locales")) ?? nil
        let language = HostedPageLanguage.negotiate(uiLocales: uiLocales, acceptLanguage: request.headers[.acceptLanguage])
        return try await HostedPageStrings.$current.withValue(.of(language)) { try await body() }
    }
}
