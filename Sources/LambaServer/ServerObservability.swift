public import Logging
internal import Metrics
internal import Prometheus

/// Process-wide logging and metrics backends; bootstrapped once, by `lamba serve`.
public enum ServerObservability {
    /// Logs go to standard error at `configuration.logLevel`; metrics recorded through swift-metrics
    /// anywhere in the process land in `metrics`' registry and so in `/metrics`.
    public static func bootstrap(configuration: ServerConfiguration, metrics: ServerMetrics) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        var logger = Logger(label: "lamba")
        logger.logLevel = configuration.logLevel
        return logger
    }
}
