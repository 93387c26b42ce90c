public import Hummingbird
public import LambaStore
internal import LambaOAuth

internal import HTTPTypes
internal import LambaJOSE
internal import Logging

/// `GET /healthz`: 200 while the store answers a trivial query, 503 otherwise, for load balancers.
/// The 503 carries `Retry-After` (RFC 9110 §15.6.4, §10.2.3) like every other route's answer while the
/// store is unreachable, so a balancer or probe can tell an outage from a broken process.
public struct HealthRoutes: RouteGroup {
    let store: any Store

    public init(store: any Store) { self.store = store }

    public func register(on router: Router<LambaRequestContext>) {
        router.get("/healthz") { _, context -> Response in
            do {
                _ = try await store.read { reader in try reader.query("SELECT 1").count }
                return .json(["status": "ok"])
            } catch {
                context.logger.warning("health check failed", metadata: ["error": .string(String(describing: error))])
                return .json(["status": "unavailable", "error": .string(OAuthError.Code.temporarilyUnavailable.rawValue)],
                             status: .serviceUnavailable,
                             headers: [.retryAfter: String(OAuthError.retryAfterSeconds)])
            }
        }
    }
}

/// `GET /metrics`: Prometheus text exposition of `ServerMetrics`.
public struct MetricsRoutes: RouteGroup {
    let metrics: ServerMetrics

    public init(metrics: ServerMetrics) { self.metrics = metrics }

    public func register(on router: Router<LambaRequestContext>) {
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }
}
