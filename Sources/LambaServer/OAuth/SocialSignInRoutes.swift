import Foundation
import HTTPTypes
import Hummingbird
import LambaJOSE
import LambaModel
import LambaOAuth

/// The HTTP side of social sign-in (under each issuer): starting a round trip from the login page,
/// from a link ticket or from a proof; the upstream's callback; the "prove it's you" form.
struct SocialSignInRoutes: Sendable {
    let provider: OpenIDProvider
    let pages: HostedPageRoutes

    func register(on issuer: RouterGroup<LambaRequestContext>) {
        issuer.get("providers/callback") { request, context -> Response in try await callback(request, context) }
        issuer.post("providers/proof") { request, context -> Response in try await prove(request, context) }
        issuer.get("providers/:provider_id/login") { request, context -> Response in try await startLogin(request, context) }
        issuer.get("providers/:provider_id/link") { request, context -> Response in try await openLinkTicket(request, context) }
        issuer.get("providers/:provider_id/prove") { request, context -> Response in try await startProof(request, context) }
    }

    /// `GET providers/{id}/login?{authz}`: "Continue with …".
    func startLogin(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let outcome = await provider.socialSignIn.startLogin(ctx, providerID: try context.parameters.require("provider_id"), authz: request.uri.query ?? "")
        return try await respond(outcome, request, context, ctx)
    }

    /// `GET providers/{id}/link?ticket=…`: the browser opens the ticket of `/me/providers/{id}/link`.
    func openLinkTicket(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let ticket = (try? OAuthParameters.decode(request.uri.query ?? "").single("ticket")) ?? nil
        let outcome = await provider.socialSignIn.openLinkTicket(ctx, providerID: try context.parameters.require("provider_id"), ticket: ticket)
        return try await respond(outcome, request, context, ctx)
    }

    /// `GET providers/{id}/prove?proof=…`: prove an existing account with another linked provider.
    func startProof(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let proof = (try? OAuthParameters.decode(request.uri.query ?? "").single("proof")) ?? nil
        let outcome = await provider.socialSignIn.startProof(ctx, providerID: try context.parameters.require("provider_id"), proofToken: proof,
                                                              browserCookie: Cookies.read(request, SocialSignIn.browserCookie))
        return try await respond(outcome, request, context, ctx)
    }

    /// `GET providers/callback`: the redirect URI registered at every provider of the environment.
    func callback(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        guard let parameters = try? OAuthParameters.decode(request.uri.query ?? "") else {
            return HostedPageRoutes.html(HostedPages.error(.invalidRequest("the callback's query is malformed")), status: .badRequest)
        }
        let outcome = await provider.socialSignIn.callback(ctx, parameters, browserCookie: Cookies.read(request, SocialSignIn.browserCookie))
        return try await respond(outcome, request, context, ctx)
    }

    /// `POST providers/proof`: the password of the existing account.
    func prove(_ request: Request, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        let form: OAuthParameters
        switch try await HostedPageRoutes.hostedForm(request, context) {
        case .form(let parameters): form = parameters
        case .refused(let page): return page
        }
        let outcome = await provider.socialSignIn.prove(ctx, form: form, csrfCookie: Cookies.read(request, OpenIDProviderRoutes.csrfCookie),
                                                         browserCookie: Cookies.read(request, SocialSignIn.browserCookie))
        return try await respond(outcome, request, context, ctx)
    }

    func respond(_ outcome: SocialSignIn.Outcome, _ request: Request, _ context: LambaRequestContext, _ ctx: ProviderContext) async throws -> Response {
        let secure = provider.configuration.secureCookies
        switch outcome {
        case .upstream(let location, let browser):
            return HostedPageRoutes.redirect(location, cookies: [Cookies.set(SocialSignIn.browserCookie, browser, secure: secure, maxAge: 600)])
        case .resume(let location, let sessionToken):
            return HostedPageRoutes.redirect(location, cookies: [
                Cookies.set(Cookies.sessionName(ctx), sessionToken, secure: secure, maxAge: ctx.workspace.securityPosture.sessionMaxAgeSeconds),
            ])
        case .proof(let proof):
            let (csrfValue, setCookie) = pages.csrf(request, ctx)
            let page = HostedPages.proof(proof, action: ctx.endpoint("/providers/proof"), csrf: provider.interaction.csrfToken(cookie: csrfValue)) {
                ctx.endpoint("/providers/\($0.id)/prove?") + OAuthParameters.encode([("proof", proof.token)])
            }
            return HostedPageRoutes.html(page, status: proof.message == nil ? .ok : .badRequest, cookies: setCookie.map { [$0] } ?? [])
        case .linkFinished(let location, let message, let linked):
            if let location { return HostedPageRoutes.redirect(location) }
            return HostedPageRoutes.html(HostedPages.linkFinished(message, linked: linked), status: linked ? .ok : .conflict)
        case .failed(let message, let authz):
            return try await pages.show(.login, request, context, error: message, authzOverride: authz, status: .badRequest)
        case .errorPage(let error):
            return HostedPageRoutes.html(HostedPages.error(error), status: HostedPageRoutes.errorPageStatus(error))
        }
    }
}
