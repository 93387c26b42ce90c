public import Hummingbird
public import LambaJOSE
public import LambaStore
public import Logging
public import LambaOAuth

internal import Foundation
internal import NIOCore
internal import ServiceLifecycle
internal import UnixSignals
internal import Synchronization

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

    /// `lamba serve`: binds the port first, then runs `prepare` (open the store, migrate, check the
    /// master key, first-run data) with the bound port, then serves until SIGINT or SIGTERM. So a
    /// busy port is refused before any data exists, and a refused start leaves nothing behind
    /// (docs/startup.md#order). Connections that arrive while `prepare` runs wait in the accept
    /// queue: Hummingbird calls `onServerRunning` after binding and before its accept loop.
    /// - Throws: `ListenError` when the address cannot be bound; the error of `prepare`.
    public static func serve(
        configuration: ServerConfiguration,
        logger: Logger,
        prepare: @escaping @Sendable (_ port: Int) async throws -> ServerDependencies,
        onServing: @escaping @Sendable (_ port: Int, ServerDependencies) async -> Void = { _, _ in }
    ) async throws {
        let responder = PreparedResponder()
        let start = StartState()
        let app = Application(
            responder: responder,
            server: .http1(limits: ConnectionLimits(configuration)),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                do {
                    let dependencies = try await prepare(port)
                    responder.install(makeRouter(dependencies: dependencies, routes: FeatureRoutes.all(dependencies)).buildResponder())
                    await onServing(port, dependencies)
                } catch {
                    start.failure.withLock { $0 = error }
                    await start.group.withLock { $0 }?.triggerGracefulShutdown()
                }
            },
            logger: logger
        )
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        start.group.withLock { $0 = serviceGroup }
        do {
            try await serviceGroup.run()
        } catch {
            throw ListenError(error, host: configuration.host, port: configuration.port) ?? error
        }
        if let error = start.failure.withLock({ $0 }) { throw error }
    }

    /// What `serve`'s start hands from `onServerRunning` back to its caller.
    private final class StartState: Sendable {
        /// Set before the group runs, so a failed `prepare` can stop it.
        let group = Mutex<ServiceGroup?>(nil)
        let failure = Mutex<(any Error)?>(nil)
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
        let openIDProvider = OpenIDProviderRoutes(dependencies: dependencies)
        return [
            HealthRoutes(store: dependencies.store),
            MetricsRoutes(metrics: dependencies.metrics),
            ConsoleRoutes(store: dependencies.store, masterKey: dependencies.masterKey, upstreamHTTP: dependencies.upstreamHTTP,
                          publicBaseURL: dependencies.configuration.publicBaseURL),
            EventsRoutes(dependencies: dependencies),
            openIDProvider,
            // The console signs people in through the same engine, as a client of the console issuer.
            ConsoleSignInRoutes(provider: openIDProvider.provider, dependencies: dependencies),
        ]
    }
}

/// The router of `serve`, installed once `prepare` has succeeded. Requests are served only after
/// that (the accept loop starts when `onServerRunning` returns); a connection accepted while a
/// failed start shuts down is answered 503.
final class PreparedResponder: HTTPResponder, Sendable {
    private let router = Mutex<RouterResponder<LambaRequestContext>?>(nil)

    func install(_ responder: RouterResponder<LambaRequestContext>) {
        router.withLock { $0 = responder }
    }

    func respond(to request: Request, context: LambaRequestContext) async throws -> Response {
        guard let router = router.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
        return try await router.respond(to: request, context: context)
    }
}

/// Why `lamba serve` could not listen, in the words of its settings.
public struct ListenError: Error, Sendable, CustomStringConvertible {
    public let description: String

    /// Nil for an error that is not about binding the address.
    init?(_ error: any Error, host: String, port: Int) {
        let address = "\(host):\(port)"
        let settings = "--host/\(ServerConfiguration.Variable.host), --port/\(ServerConfiguration.Variable.port)"
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE: description = "\(address) is already in use (\(settings))"
            case EADDRNOTAVAIL: description = "\(address) is not an address of this machine (\(settings))"
            case EACCES: description = "\(address) may not be bound by this user: ports below 1024 need privileges (\(settings))"
            default: return nil
            }
        } else if error is SocketAddressError {
            description = "\(host) does not resolve to an address to listen on (--host/\(ServerConfiguration.Variable.host))"
        } else {
            return nil
        }
    }
}
