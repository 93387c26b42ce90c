public import Hummingbird
public import LambaJOSE
public import LambaStore
public import Logging
public import LambaOAuth

internal import NIOCore

/// What route groups may need from the running server.
public struct ServerDependencies: Sendable {
    public let configuration: ServerConfiguration
    public let store: any Store
    public let masterKey: MasterKey
    public let metrics: ServerMetrics
    /// Outbound HTTP to social providers.
    public let upstreamHTTP: any UpstreamHTTPClient

    public init(configuration: ServerConfiguration, store: any Store, masterKey: MasterKey, metrics: ServerMetrics = ServerMetrics(),
                upstreamHTTP: any UpstreamHTTPClient = ServerUpstreamHTTPClient()) {
        self.upstreamHTTP = upstreamHTTP
        self.configuration = configuration
        self.store = store
        self.masterKey = masterKey
        self.metrics = metrics
    }
}

/// Builds Lamba's Hummingbird application: middleware in a fixed order, then every route group.
public enum LambaApplication {
    public typealias App = Application<RouterResponder<LambaRequestContext>>

    /// Middleware, outermost first: request id with access log and metrics, security headers, error
    /// rendering, body size limit. Security headers and the request id sit outside error rendering
    /// so error responses carry them too.
    public static func build(
        dependencies: ServerDependencies,
        routes: [any RouteGroup],
        logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int?) async -> Void = { _ in }
    ) -> App {
        let router = makeRouter(dependencies: dependencies, routes: routes)
        let configuration = dependencies.configuration
        return Application(
            router: router,
            server: .http1(limits: ConnectionLimits(configuration)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) },
            logger: logger
        )
    }

    /// Runs until SIGINT or SIGTERM, then stops accepting connections and lets in-flight requests finish.
    public static func runUntilSignalled(_ app: App) async throws {
        try await app.runService()  // its default signals: SIGTERM, SIGINT
    }

    public static func makeRouter(dependencies: ServerDependencies, routes: [any RouteGroup]) -> Router<LambaRequestContext> {
        let router = Router(context: LambaRequestContext.self)
        let allowedMethods = AllowedMethodsIndex()
        router.add(middleware: RequestObservationMiddleware(metrics: dependencies.metrics))
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorRenderingMiddleware(allowedMethods: allowedMethods))
        router.add(middleware: BodySizeLimitMiddleware(limit: dependencies.configuration.maxRequestBodySize))
        for group in routes { group.register(on: router) }
        allowedMethods.build(from: router)
        return router
    }
}

/// Every feature's routes, in registration order. A feature adds one line here.
public enum FeatureRoutes {
    public static func all(_ dependencies: ServerDependencies) -> [any RouteGroup] {
        [
            HealthRoutes(store: dependencies.store),
            MetricsRoutes(metrics: dependencies.metrics),
            ConsoleRoutes(store: dependencies.store, masterKey: dependencies.masterKey, upstreamHTTP: dependencies.upstreamHTTP),
            EventsRoutes(dependencies: dependencies),
            OpenIDProviderRoutes(dependencies: dependencies),
        ]
    }
}
