import Hummingbird
import LambaModel
import LambaOAuth

/// The issuer's Project branding for the pages of this request (docs/hosted-pages.md#branding):
/// its name, logo and primary colour, validated when they were stored (`ProjectBranding.validated`).
struct HostedPageBrandingMiddleware: RouterMiddleware {
    typealias Context = LambaRequestContext

    /// The branding of the page being rendered; nil is Lamba's own look.
    @TaskLocal static var current: ProjectBranding?

    func handle(_ request: Request, context: LambaRequestContext,
                next: (Request, LambaRequestContext) async throws -> Response) async throws -> Response {
        try await Self.$current.withValue(context.issuer?.project.branding) { try await next(request, context) }
    }
}
