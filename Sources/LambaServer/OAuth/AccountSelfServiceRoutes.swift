import Foundation
import HTTPTypes
import Hummingbird
import LambaJOSE
import LambaModel
import LambaOAuth

/// The runtime self-service API under each issuer: `/me`, `/me/authorization`, `/me/providers`, `/me/email`, `/me/factors`, `/me/passkeys`, `/me/sessions`.
struct AccountSelfServiceRoutes: Sendable {
    let provider: OpenIDProvider

    func register(on issuer: RouterGroup<LambaRequestContext>) {
        let provider = self.provider
        issuer.get("me") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.me(endpoint, ctx))
        }
        // Effective authorization: the token is the only context (console headers mean nothing here).
        issuer.get("me/authorization") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.effectiveAuthorization.handle(endpoint, ctx))
        }
        issuer.post("me/authorization") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.effectiveAuthorization.handle(endpoint, ctx))
        }
        issuer.get("me/providers") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.providers(endpoint, ctx))
        }
        issuer.post("me/providers/:provider_id/link") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.startLink(endpoint, ctx, providerID: try context.parameters.require("provider_id")))
        }
        issuer.delete("me/providers/:provider_id") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.unlink(endpoint, ctx, providerID: try context.parameters.require("provider_id")))
        }
        issuer.post("me/password") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.changePassword(endpoint, ctx))
        }
        issuer.post("me/email") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.changeEmail(endpoint, ctx))
        }
        issuer.get("me/factors") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.factors(endpoint, ctx))
        }
        issuer.post("me/factors/totp") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.startTOTP(endpoint, ctx))
        }
        issuer.post("me/factors/totp/confirm") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.confirmTOTP(endpoint, ctx))
        }
        issuer.delete("me/factors/totp") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.removeTOTP(endpoint, ctx))
        }
        issuer.post("me/factors/recovery-codes") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.regenerateRecoveryCodes(endpoint, ctx))
        }
        issuer.get("me/passkeys") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.listPasskeys(endpoint, ctx))
        }
        issuer.delete("me/passkeys/:passkey_id") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.removePasskey(endpoint, ctx, id: try context.parameters.require("passkey_id")))
        }
        issuer.get("me/sessions") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.sessions(endpoint, ctx))
        }
        issuer.delete("me/sessions/:session_id") { request, context -> Response in
            let (ctx, endpoint) = try await Self.prepare(provider, request, context)
            return OpenIDProviderRoutes.response(await provider.selfService.revokeSession(endpoint, ctx, id: try context.parameters.require("session_id")))
        }
    }

    /// The issuer, and the request as the endpoint sees it: query parameters, or a form body for POST.
    static func prepare(_ provider: OpenIDProvider, _ request: Request, _ context: LambaRequestContext) async throws -> (ProviderContext, EndpointRequest) {
        let ctx = try context.issuerContext()
        let parameters: OAuthParameters
        do {
            parameters = try await OpenIDProviderRoutes.parameters(request, context)
        } catch let error as OAuthError {
            throw APIError.invalidRequest(error.message)
        }
        return (ctx, OpenIDProviderRoutes.endpointRequest(request, parameters))
    }
}
