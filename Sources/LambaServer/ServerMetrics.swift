internal import Hummingbird
public import Prometheus

internal import Dispatch
import Synchronization

/// Lamba's Prometheus registry: request counts and latency by route pattern, method and status.
/// `lamba serve` also makes it the swift-metrics backend, so other modules' metrics appear in `/metrics`.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    // Immutable structs that swift-prometheus has not marked Sendable.
    nonisolated(unsafe) static let requests = MetricNameDescriptor(namespace: "lamba", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route, method and status")
    nonisolated(unsafe) static let duration = MetricNameDescriptor(namespace: "lamba", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency")

    /// The counter and histogram of each (route, method, status): the registry validates names and
    /// labels on every `make…` call, which is too much work to repeat per request.
    private let series = Mutex<[String: (Counter, DurationHistogram)]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func record(route: String, method: String, status: Int, nanoseconds: UInt64) {
        let key = route + " " + method + " " + String(status)
        let (counter, histogram) = series.withLock { series in
            if let known = series[key] { return known }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let made = (registry.makeCounter(descriptor: Self.requests, labels: labels),
                        registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.durationBuckets))
            series[key] = made
            return made
        }
        counter.increment()
        histogram.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// The text exposition format.
    public func exposition() -> String { registry.emitToString() }
}
