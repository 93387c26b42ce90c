public import Hummingbird
public import NIOCore
public import LambaOAuth

/// The request context of every Lamba route. Middleware fills `requestID` and `maxRequestBodySize`
/// before any handler runs.
public struct LambaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The `X-Request-Id` echoed on the response and attached to every log line of the request.
    public var requestID: String
    /// Body readers (`Request.readBody(context:)` and friends) never collect more than this.
    public var maxRequestBodySize: Int

    /// The event loop of the request's connection, where its handler runs (`ConnectionExecutor`).
    public let eventLoop: any EventLoop
    /// The peer's IP address as the socket saw it (no proxy headers are trusted), for per-address limits.
    public let clientAddress: String
    /// The Project environment of an issuer route, resolved once by `IssuerMiddleware`.
    public var issuer: ProviderContext?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.eventLoop = source.channel.eventLoop
        self.clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
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

/// Runs a request's jobs on the event loop of its connection. Without a preference, a task that
/// resumes from a database thread lands on any event loop, and its response then hops back to the
/// connection's loop to be written (two cross-thread hand-offs per database call).
final class ConnectionExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
