public import Hummingbird

/// The request context of every Lamba route. Middleware fills `requestID` and `maxRequestBodySize`
/// before any handler runs.
public struct LambaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` echoed on the response and attached to every log line of the request.
    public var requestID: String
    /// Body readers (`Request.readBody(context:)` and friends) never collect more than this.
    public var maxRequestBodySize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.maxRequestBodySize = ServerConfiguration.defaultMaxRequestBodySize
    }

    /// Hummingbird's own body collection honours the same limit.
    public var maxUploadSize: Int { maxRequestBodySize }
}

/// How a feature adds its routes: each feature declares one type in its own file and is listed once
/// in `FeatureRoutes`. Routes are registered after Lamba's middleware, so they all get it.
public protocol RouteGroup: Sendable {
    func register(on router: Router<LambaRequestContext>)
}
