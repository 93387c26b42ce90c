public import LambaOAuth
public import LambaStore
public import Logging

internal import Foundation

/// Why a configuration was refused. `setting` is the environment variable; `flag` the `lamba serve`
/// flag of the same setting, when it has one. The message names both, so that it points at the
/// setting whichever way it was given.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let setting: String
    public let flag: String?
    public let reason: String

    public init(setting: String, reason: String) {
        self.setting = setting
        self.flag = ServerConfiguration.flags[setting]
        self.reason = reason
    }

    /// `--port/LAMBA_PORT`, or the variable alone for a setting without a flag.
    public var name: String { flag.map { "\($0)/\(setting)" } ?? setting }

    public var description: String { "\(name): \(reason)" }
}

/// Everything the HTTP server needs to start, from environment variables overridden by flags.
/// Validated once at start, so a bad setting stops `lamba serve` with its name instead of failing later.
public struct ServerConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Absolute http(s) URL without query, fragment or trailing slash; issuers are built from it.
    public var publicBaseURL: String
    public var databaseURL: DatabaseURL
    public var maxRequestBodySize: Int
    public var logLevel: Logger.Level
    /// How long a client may take to send a request head: from accept, or from the first byte of a
    /// request on a kept-alive connection, until the head is complete (RFC 9112 §2.2, §9.5).
    public var headerReadTimeout: Duration
    /// How long a client may take to send a whole request body, from its head to its last byte. A total,
    /// not a gap between chunks, so dribbling a byte at a time cannot stretch it.
    public var bodyReadTimeout: Duration
    /// How long a kept-alive connection may wait, with no request in progress, for the next request (RFC 9112 §9.3).
    public var idleTimeout: Duration
    /// Open connections this process serves at once; one past it is closed on accept.
    public var maxConnections: Int
    /// Open connections one client address may hold at once; 0 turns the cap off.
    public var maxConnectionsPerAddress: Int
    /// Dynamic client registrations (RFC 7591) one address may make per environment and hour.
    public var registrationsPerAddressPerHour: Int
    /// Self-registered clients one environment may hold at once.
    public var selfRegisteredClientsPerEnvironment: Int
    /// Database connections (each with its own thread) this process opens at most; on PostgreSQL one
    /// more listens for other processes' changes (docs/deployment.md#connections).
    public var databasePoolSize: Int

    public enum Variable {
        public static let host = "LAMBA_HOST"
        public static let port = "LAMBA_PORT"
        public static let publicURL = "LAMBA_PUBLIC_URL"
        public static let databaseURL = DatabaseURL.environmentVariable
        public static let maxRequestBodySize = "LAMBA_MAX_BODY_BYTES"
        public static let logLevel = "LAMBA_LOG_LEVEL"
        public static let headerReadTimeout = "LAMBA_HEADER_READ_TIMEOUT_SECONDS"
        public static let bodyReadTimeout = "LAMBA_BODY_READ_TIMEOUT_SECONDS"
        public static let idleTimeout = "LAMBA_IDLE_TIMEOUT_SECONDS"
        public static let maxConnections = "LAMBA_MAX_CONNECTIONS"
        public static let maxConnectionsPerAddress = "LAMBA_MAX_CONNECTIONS_PER_ADDRESS"
        public static let registrationsPerAddressPerHour = "LAMBA_REGISTRATIONS_PER_ADDRESS_PER_HOUR"
        public static let selfRegisteredClientsPerEnvironment = "LAMBA_SELF_REGISTERED_CLIENTS_PER_ENVIRONMENT"
        public static let databasePoolSize = "LAMBA_DATABASE_POOL_SIZE"
    }

    /// The `lamba serve` flag of each setting that has one, by variable.
    public static let flags: [String: String] = [
        Variable.host: "--host", Variable.port: "--port", Variable.publicURL: "--public-url", Variable.databaseURL: "--database",
    ]

    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 8080
    public static let defaultMaxRequestBodySize = 64 * 1024
    public static let defaultHeaderReadTimeout = Duration.seconds(10)
    public static let defaultBodyReadTimeout = Duration.seconds(30)
    public static let defaultIdleTimeout = Duration.seconds(60)
    public static let defaultMaxConnections = 10_000
    public static let defaultMaxConnectionsPerAddress = 256
    /// Timeouts are whole seconds in this range: long enough for any client, short enough that no
    /// conversion to the event loop's nanoseconds can overflow.
    public static let timeoutSecondsRange = 1...3600
    public static let maxConnectionsRange = 1...1_000_000
    public static let defaultDatabasePoolSize = 8
    public static let databasePoolSizeRange = 1...256

    public init(
        host: String = ServerConfiguration.defaultHost,
        port: Int = ServerConfiguration.defaultPort,
        publicBaseURL: String? = nil,
        databaseURL: DatabaseURL = .sqlite(path: DatabaseURL.defaultSQLitePath),
        maxRequestBodySize: Int = ServerConfiguration.defaultMaxRequestBodySize,
        logLevel: Logger.Level = .info,
        headerReadTimeout: Duration = ServerConfiguration.defaultHeaderReadTimeout,
        bodyReadTimeout: Duration = ServerConfiguration.defaultBodyReadTimeout,
        idleTimeout: Duration = ServerConfiguration.defaultIdleTimeout,
        maxConnections: Int = ServerConfiguration.defaultMaxConnections,
        maxConnectionsPerAddress: Int = ServerConfiguration.defaultMaxConnectionsPerAddress,
        registrationsPerAddressPerHour: Int = ClientRegistrationLimits().perAddress,
        selfRegisteredClientsPerEnvironment: Int = ClientRegistrationLimits().perEnvironment,
        databasePoolSize: Int = ServerConfiguration.defaultDatabasePoolSize
    ) throws(ConfigurationError) {
        guard !host.isEmpty else { throw ConfigurationError(setting: Variable.host, reason: "must not be empty") }
        guard (0...65535).contains(port) else {
            throw ConfigurationError(setting: Variable.port, reason: "must be between 0 and 65535, got \(port)")
        }
        guard maxRequestBodySize > 0 else {
            throw ConfigurationError(setting: Variable.maxRequestBodySize, reason: "must be a positive number of bytes")
        }
        // Sub-second values are allowed here (tests use them); the environment speaks whole seconds.
        let timeoutLimit = Duration.seconds(Self.timeoutSecondsRange.upperBound)
        for (setting, timeout) in [
            (Variable.headerReadTimeout, headerReadTimeout), (Variable.bodyReadTimeout, bodyReadTimeout), (Variable.idleTimeout, idleTimeout),
        ] where timeout <= .zero || timeout > timeoutLimit {
            throw ConfigurationError(setting: setting, reason: "must be between 1 and \(Self.timeoutSecondsRange.upperBound) seconds")
        }
        guard Self.maxConnectionsRange.contains(maxConnections) else {
            throw ConfigurationError(
                setting: Variable.maxConnections,
                reason: "must be between 1 and \(Self.maxConnectionsRange.upperBound), got \(maxConnections)")
        }
        // Above the process cap it is simply never reached, so only the range is checked.
        guard (0...Self.maxConnectionsRange.upperBound).contains(maxConnectionsPerAddress) else {
            throw ConfigurationError(
                setting: Variable.maxConnectionsPerAddress,
                reason: "must be between 0 (off) and \(Self.maxConnectionsRange.upperBound), got \(maxConnectionsPerAddress)")
        }
        for (setting, value) in [(Variable.registrationsPerAddressPerHour, registrationsPerAddressPerHour),
                                 (Variable.selfRegisteredClientsPerEnvironment, selfRegisteredClientsPerEnvironment)]
        where !(1...1_000_000).contains(value) {
            throw ConfigurationError(setting: setting, reason: "must be between 1 and 1000000, got \(value)")
        }
        guard Self.databasePoolSizeRange.contains(databasePoolSize) else {
            throw ConfigurationError(
                setting: Variable.databasePoolSize,
                reason: "must be between \(Self.databasePoolSizeRange.lowerBound) and \(Self.databasePoolSizeRange.upperBound), got \(databasePoolSize)")
        }
        self.databasePoolSize = databasePoolSize
        self.registrationsPerAddressPerHour = registrationsPerAddressPerHour
        self.selfRegisteredClientsPerEnvironment = selfRegisteredClientsPerEnvironment
        self.host = host
        self.port = port
        self.publicBaseURL = try Self.validatePublicURL(publicBaseURL ?? "http://127.0.0.1:\(port)")
        self.databaseURL = databaseURL
        self.maxRequestBodySize = maxRequestBodySize
        self.logLevel = logLevel
        self.headerReadTimeout = headerReadTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Reads the environment; each non-nil override (a command-line flag) wins over its variable.
    public static func load(
        environment: [String: String]? = nil,
        host: String? = nil,
        port: Int? = nil,
        publicURL: String? = nil,
        database: String? = nil
    ) throws(ConfigurationError) -> ServerConfiguration {
        var flags: [String: String] = [:]
        flags[Variable.host] = host
        flags[Variable.port] = port.map { String($0) }
        flags[Variable.publicURL] = publicURL
        flags[Variable.databaseURL] = database
        return try load(environment: environment, flags: flags)
    }

    /// Reads the environment; `flags` holds the command-line flags as given, by the variable of
    /// their setting, and each wins over its variable. Both are read by the same code, so a bad
    /// value is refused in the same words however it was given.
    public static func load(environment: [String: String]?, flags: [String: String]) throws(ConfigurationError) -> ServerConfiguration {
        let environment = environment ?? ProcessInfo.processInfo.environment
        // An empty variable counts as unset; an empty flag was typed, and is refused as a value.
        func value(_ name: String) -> String? {
            flags[name] ?? environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func integer(_ name: String) throws(ConfigurationError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text) else { throw ConfigurationError(setting: name, reason: "must be an integer, got \"\(text)\"") }
            return number
        }
        let databaseURL = try Self.databaseURL(value(Variable.databaseURL))
        var logLevel = Logger.Level.info
        if let text = value(Variable.logLevel) {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ConfigurationError(setting: Variable.logLevel, reason: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = level
        }
        // `??` with a throwing right side loses the typed error, hence the explicit steps.
        let resolvedPort = try integer(Variable.port) ?? defaultPort
        let environmentBodySize = try integer(Variable.maxRequestBodySize)
        let maxRequestBodySize = environmentBodySize ?? defaultMaxRequestBodySize
        func seconds(_ name: String, default fallback: Duration) throws(ConfigurationError) -> Duration {
            guard let number = try integer(name) else { return fallback }
            guard timeoutSecondsRange.contains(number) else {
                throw ConfigurationError(setting: name, reason: "must be between 1 and \(timeoutSecondsRange.upperBound) seconds, got \(number)")
            }
            return .seconds(number)
        }
        let headerReadTimeout = try seconds(Variable.headerReadTimeout, default: defaultHeaderReadTimeout)
        let bodyReadTimeout = try seconds(Variable.bodyReadTimeout, default: defaultBodyReadTimeout)
        let idleTimeout = try seconds(Variable.idleTimeout, default: defaultIdleTimeout)
        let environmentMaxConnections = try integer(Variable.maxConnections)
        let maxConnections = environmentMaxConnections ?? defaultMaxConnections
        let environmentPerAddress = try integer(Variable.maxConnectionsPerAddress)
        let maxConnectionsPerAddress = environmentPerAddress ?? defaultMaxConnectionsPerAddress
        let environmentRegistrations = try integer(Variable.registrationsPerAddressPerHour)
        let environmentSelfRegistered = try integer(Variable.selfRegisteredClientsPerEnvironment)
        let environmentPoolSize = try integer(Variable.databasePoolSize)
        return try ServerConfiguration(
            host: value(Variable.host) ?? defaultHost,
            port: resolvedPort,
            publicBaseURL: value(Variable.publicURL),
            databaseURL: databaseURL,
            maxRequestBodySize: maxRequestBodySize,
            logLevel: logLevel,
            headerReadTimeout: headerReadTimeout,
            bodyReadTimeout: bodyReadTimeout,
            idleTimeout: idleTimeout,
            maxConnections: maxConnections,
            maxConnectionsPerAddress: maxConnectionsPerAddress,
            registrationsPerAddressPerHour: environmentRegistrations ?? ClientRegistrationLimits().perAddress,
            selfRegisteredClientsPerEnvironment: environmentSelfRegistered ?? ClientRegistrationLimits().perEnvironment,
            databasePoolSize: environmentPoolSize ?? defaultDatabasePoolSize
        )
    }

    /// The store named by `--database` or `LAMBA_DATABASE_URL` (`text`), else the embedded default.
    /// Only the default's directory is created (so that `lamba serve` runs with no setup); a named
    /// SQLite file must be in a directory that exists (docs/startup.md#database).
    public static func databaseURL(_ text: String?) throws(ConfigurationError) -> DatabaseURL {
        guard let text else { return .sqlite(path: DatabaseURL.defaultSQLitePath) }
        let url: DatabaseURL
        do {
            url = try DatabaseURL(parsing: text)
        } catch {
            let reason = if case .invalidURL(let message) = error { message } else { error.description }
            throw ConfigurationError(setting: Variable.databaseURL, reason: reason)
        }
        if let directory = url.missingDirectory {
            throw ConfigurationError(
                setting: Variable.databaseURL,
                reason: "the directory \(directory) of \(url) does not exist; create it first (only the default \(DatabaseURL.defaultSQLitePath) gets its directory made)")
        }
        return url
    }

    /// `databaseURL(_:)` of a command's `--database` flag, else of `LAMBA_DATABASE_URL` (empty counts as unset).
    public static func databaseURL(flag: String?, environment: [String: String]? = nil) throws(ConfigurationError) -> DatabaseURL {
        let environment = environment ?? ProcessInfo.processInfo.environment
        return try databaseURL(flag ?? environment[Variable.databaseURL].flatMap { $0.isEmpty ? nil : $0 })
    }

    static func validatePublicURL(_ text: String) throws(ConfigurationError) -> String {
        func refuse(_ reason: String) -> ConfigurationError { ConfigurationError(setting: Variable.publicURL, reason: reason) }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw refuse("\"\(text)\" is not an absolute URL")
        }
        guard scheme == "http" || scheme == "https" else { throw refuse("must use http or https, got \(scheme)") }
        guard let host = components.host, !host.isEmpty else { throw refuse("has no host") }
        guard components.query == nil, components.fragment == nil else { throw refuse("must not have a query or fragment") }
        guard components.user == nil, components.password == nil else { throw refuse("must not carry credentials") }
        return trimmed
    }
}
