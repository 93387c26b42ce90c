public import Hummingbird
import LambaASCII
public import LambaOAuth
import Foundation
import HTTPTypes
import LambaJOSE
import LambaModel
import LambaStore
internal import NIOCore

/// Maps HTTP to the OpenID Provider engine: every Project environment's issuer
/// `/p/{slug}/{environment}` and the endpoints under it, plus the hosted pages.
public struct OpenIDProviderRoutes: RouteGroup {
    public let provider: OpenIDProvider

    public init(dependencies: ServerDependencies) {
        var configuration = ProviderConfiguration(publicBaseURL: dependencies.configuration.publicBaseURL, masterKey: dependencies.masterKey,
                                                  upstreamHTTP: dependencies.upstreamHTTP)
        configuration.registrationLimits.perAddress = dependencies.configuration.registrationsPerAddressPerHour
        configuration.registrationLimits.perEnvironment = dependencies.configuration.selfRegisteredClientsPerEnvironment
        self.provider = OpenIDProvider(configuration: configuration, store: SQLOAuthStore(store: dependencies.store))
    }

    public init(provider: OpenIDProvider) {
        self.provider = provider
    }

    static let csrfCookie = "lamba_csrf"

    public func register(on router: Router<LambaRequestContext>) {
        let provider = self.provider
        let issuer = router.group("p/:slug/:environment")
        issuer.add(middleware: IssuerMiddleware(provider: provider))
        // Only the pages people read choose a language and a branding: the back-channel endpoints
        // (discovery, JWKS, token, userinfo, …) do none of that work on every request.
        let hosted = issuer.group()
        hosted.add(middleware: HostedPageLanguageMiddleware())
        hosted.add(middleware: HostedPageBrandingMiddleware())
        let pages = HostedPageRoutes(provider: provider)

        issuer.get(".well-known/openid-configuration") { _, context -> Response in try await Self.metadata(provider, context) }
        issuer.get(".well-known/oauth-authorization-server") { _, context -> Response in try await Self.metadata(provider, context) }
        issuer.get("jwks") { _, context -> Response in
            let ctx = try context.issuerContext()
            let jwks = try await provider.discovery.jwks(ctx)
            // A key is published this long before it signs (SigningKeyRing.rotate).
            return Response.json(jwks, headers: [.cacheControl: "public, max-age=\(SigningKeyRing.jwksMaxAgeSeconds)"])
        }
        hosted.get("authorize") { request, context -> Response in try await pages.authorize(request, context) }
        hosted.post("authorize") { request, context -> Response in try await pages.authorize(request, context) }
        issuer.post("token") { request, context -> Response in
            let ctx = try context.issuerContext()
            let (parameters, isForm) = try await Self.form(request, context)
            return Self.response(await provider.token.handle(Self.endpointRequest(request, parameters), ctx, isForm: isForm))
        }
        issuer.get("userinfo") { request, context -> Response in
            let ctx = try context.issuerContext()
            let parameters = try OAuthParameters.decode(request.uri.query ?? "")
            return Self.response(await provider.userInfo.handle(Self.endpointRequest(request, parameters), ctx))
        }
        issuer.post("userinfo") { request, context -> Response in
            let ctx = try context.issuerContext()
            let (parameters, _) = try await Self.form(request, context)
            return Self.response(await provider.userInfo.handle(Self.endpointRequest(request, parameters), ctx))
        }
        issuer.post("revoke") { request, context -> Response in
            let ctx = try context.issuerContext()
            let (parameters, isForm) = try await Self.form(request, context)
            return Self.response(await provider.revocation.handle(Self.endpointRequest(request, parameters), ctx, isForm: isForm))
        }
        issuer.post("introspect") { request, context -> Response in
            let ctx = try context.issuerContext()
            let (parameters, isForm) = try await Self.form(request, context)
            return Self.response(await provider.introspection.handle(Self.endpointRequest(request, parameters), ctx, isForm: isForm))
        }
        issuer.post("access/check") { request, context -> Response in
            let ctx = try context.issuerContext()
            let parameters: OAuthParameters
            if Self.hasMediaType(request, "application/json") {
                let object = try await request.readJSONObject(context: context)
                parameters = OAuthParameters(object.compactMap { member in member.value.stringValue.map { (member.name, $0) } })
            } else {
                parameters = try await Self.form(request, context).0
            }
            return Self.response(await provider.accessCheck.handle(Self.endpointRequest(request, parameters), ctx))
        }
        issuer.post("register") { request, context -> Response in
            let ctx = try context.issuerContext()
            let body = try await request.readBody(context: context)
            return Self.response(await provider.registration.handle(body: body, isJSON: Self.hasMediaType(request, "application/json"),
                                                                    clientAddress: context.clientAddress, ctx))
        }
        ClientConfigurationRoutes(provider: provider).register(on: issuer)
        AccountSelfServiceRoutes(provider: provider).register(on: issuer)
        hosted.get("logout") { request, context -> Response in try await pages.logout(request, context) }
        hosted.post("logout") { request, context -> Response in try await pages.logout(request, context) }
        hosted.post("not-you") { request, context -> Response in try await pages.notYou(request, context) }
        SocialSignInRoutes(provider: provider, pages: pages).register(on: hosted)
        AccountRecoveryRoutes(provider: provider).register(on: hosted)
        PasskeyAccountRoutes(provider: provider, pages: pages).register(on: hosted)
        for (path, page) in [("login", HostedPageRoutes.Page.login), ("signup", .signup), ("join", .join), ("consent", .consent),
                             ("select-account", .selectAccount), ("second-factor", .secondFactor)] {
            hosted.get(RouterPath(path)) { request, context -> Response in try await pages.show(page, request, context) }
            hosted.post(RouterPath(path)) { request, context -> Response in try await pages.submit(page, request, context) }
        }
    }

    // MARK: Mapping

    static func metadata(_ provider: OpenIDProvider, _ context: LambaRequestContext) async throws -> Response {
        let ctx = try context.issuerContext()
        return Response.json(provider.discovery.metadata(ctx), headers: [.cacheControl: "public, max-age=300"])
    }


    /// Whether the Content-Type's media type (parameters aside) is `expected` (lower case), ignoring
    /// case. Compared in place: it runs on every token, introspection and access check request.
    static func hasMediaType(_ request: Request, _ expected: StaticString) -> Bool {
        guard let header = request.headers[.contentType] else { return false }
        var essence = header.utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = essence.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { essence.removeFirst() }
        while let last = essence.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { essence.removeLast() }
        return essence.equalsIgnoringASCIICase(expected)
    }

    /// The request's parameters: the form body of a POST, the query string otherwise.
    /// - Throws: `OAuthError` for a malformed query or form, `APIError` for a body too large to read.
    static func parameters(_ request: Request, _ context: LambaRequestContext) async throws -> OAuthParameters {
        request.method == .post ? try await form(request, context).0 : try OAuthParameters.decode(request.uri.query ?? "")
    }

    /// The form body (kept as sent, duplicates included) and whether it was a form at all.
    static func form(_ request: Request, _ context: LambaRequestContext) async throws -> (OAuthParameters, Bool) {
        let bytes = try await request.readBody(context: context)
        guard hasMediaType(request, "application/x-www-form-urlencoded") else { return (OAuthParameters([]), false) }
        do {
            return (try OAuthParameters.decode(bytes), true)
        } catch {
            throw APIError.invalidRequest(error.message)
        }
    }

    static func endpointRequest(_ request: Request, _ parameters: OAuthParameters) -> EndpointRequest {
        EndpointRequest(method: request.method.rawValue, parameters: parameters, authorization: request.headers[.authorization])
    }

    static func response(_ response: EndpointResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(status: HTTPResponse.Status(code: response.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
