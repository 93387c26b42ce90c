import ArgumentParser
import Foundation
import LambaJOSE
import LambaPostgres
import LambaServer
import LambaStore
import Logging
import Synchronization

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Lamba HTTP server (SQLite under ./data by default; no setup needed)."
    )

    // Text, not Int: the configuration reads a flag as it reads its variable, so a bad value is
    // refused naming both (`--port/LAMBA_PORT`).
    @Option(help: "Port to listen on (LAMBA_PORT, default 8080; 0 picks a free port).")
    var port: String?

    @Option(help: "Address to bind (LAMBA_HOST, default 127.0.0.1).")
    var host: String?

    @Option(name: .customLong("public-url"), help: "Public base URL that issuers are built from (LAMBA_PUBLIC_URL).")
    var publicURL: String?

    @Option(help: "Database URL: sqlite:///path (its directory must exist) or postgres://… (LAMBA_DATABASE_URL).")
    var database: String?

    /// Work done once the port is bound, the store migrated and its master key verified, before the
    /// server serves, in order. Features that must prepare data at start add a step here.
    static let startupSteps: [StartupStep] = [
        StartupStep(name: "first-run demo") { dependencies, logger in
            // On the embedded default only, and only into an empty database.
            guard case .sqlite = dependencies.configuration.databaseURL, try await DemoSetup.isEmpty(dependencies.store) else { return }
            let demo = try await DemoSetup.ensure(store: dependencies.store, publicBaseURL: dependencies.configuration.publicBaseURL)
            logger.info("created the demo workspace, project, clients and user", metadata: ["issuer": .string(demo.issuer)])
            // Written unbuffered, so it shows before the server's first log line even when piped.
            FileHandle.standardOutput.write(Data((demo.instructions + "\n").utf8))
        },
        StartupStep(name: "console") { dependencies, logger in
            let text = try await ConsoleStartup.prepare(store: dependencies.store, publicBaseURL: dependencies.configuration.publicBaseURL)
            logger.info("console ready", metadata: ["console": .string(dependencies.configuration.publicBaseURL + "/console")])
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        },
    ]

    /// In order: every setting is checked; the port is bound; then the store is opened and migrated,
    /// the master key verified against it, and first-run data made (docs/startup.md#order). A
    /// refused start therefore names its setting before anything exists, and a busy port before
    /// any data is written.
    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(environment: nil, flags: [
                ServerConfiguration.Variable.host: host, ServerConfiguration.Variable.port: port,
                ServerConfiguration.Variable.publicURL: publicURL, ServerConfiguration.Variable.databaseURL: database,
            ].compactMapValues { $0 })
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let webhooks = try Self.webhookConfiguration()
        let mail = try MailStartup.load(databaseURL: configuration.databaseURL, publicBaseURL: configuration.publicBaseURL)
        let configuredKey = try MasterKeyLocation.configured()
        let metrics = ServerMetrics()
        let logger = ServerObservability.bootstrap(configuration: configuration, metrics: metrics)

        // With port 0 the default public URL can only be known once the port is bound.
        let publicURLFromPort = configuration.port == 0 && publicURL == nil
            && (ProcessInfo.processInfo.environment[ServerConfiguration.Variable.publicURL] ?? "").isEmpty

        let running = RunningParts()
        do {
            try await LambaApplication.serve(configuration: configuration, logger: logger, prepare: { port in
                var configuration = configuration
                if publicURLFromPort { configuration.publicBaseURL = "http://127.0.0.1:\(port)" }
                let store = try await StoreFactory.open(configuration.databaseURL, poolSize: configuration.databasePoolSize)
                running.hold(store)
                let applied = try await store.migrate()
                logger.info("migrations applied", metadata: ["count": .stringConvertible(applied.count)])
                let (masterKey, outcome) = try await MasterKeyLocation.verified(configuredKey, for: store, at: configuration.databaseURL)
                logger.info("master key verified", metadata: ["check": .string("\(outcome)")])
                let dependencies = ServerDependencies(configuration: configuration, store: store, masterKey: masterKey, metrics: metrics)
                for step in Self.startupSteps {
                    logger.debug("startup step", metadata: ["step": .string(step.name)])
                    try await step.run(dependencies, logger)
                }
                return dependencies
            }, onServing: { port, dependencies in
                // Webhook delivery runs beside the server and stops with it; in-flight deliveries go back to the queue.
                let dispatcher = WebhookDispatcher(store: dependencies.store, masterKey: dependencies.masterKey, configuration: webhooks, logger: logger)
                running.hold(Task { await dispatcher.run() })
                let mailer = MailDispatcher(store: dependencies.store, transport: mail.transport, configuration: mail.configuration, logger: logger)
                running.hold(mail: Task { await mailer.run() })
                FileHandle.standardOutput.write(Data((mail.summary + "\n").utf8))
                logger.info("listening", metadata: [
                    "address": .string("http://\(configuration.host):\(port)"),
                    "public_url": .string(dependencies.configuration.publicBaseURL),
                    "database": .string(configuration.databaseURL.description),
                ])
            })
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
        logger.info("stopped")
    }
}

/// What `serve` started beside the server, stopped after it: webhook and mail delivery first, then the store.
final class RunningParts: Sendable {
    private let parts = Mutex<(store: (any Store)?, dispatching: Task<Void, Never>?, mailing: Task<Void, Never>?)>((nil, nil, nil))

    func hold(_ store: any Store) { parts.withLock { $0.store = store } }
    func hold(_ dispatching: Task<Void, Never>) { parts.withLock { $0.dispatching = dispatching } }
    func hold(mail: Task<Void, Never>) { parts.withLock { $0.mailing = mail } }

    func stop() async {
        let (store, dispatching, mailing) = parts.withLock { ($0.store, $0.dispatching, $0.mailing) }
        for task in [dispatching, mailing].compactMap({ $0 }) {
            task.cancel()
            await task.value
        }
        await store?.close()
    }
}

extension ServeCommand {
    static func webhookConfiguration() throws -> WebhookDispatchConfiguration {
        do {
            return try WebhookDispatchConfiguration.load()
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
    }
}

/// One named piece of `lamba serve`'s start-up.
struct StartupStep: Sendable {
    let name: String
    let run: @Sendable (ServerDependencies, Logger) async throws -> Void
}
