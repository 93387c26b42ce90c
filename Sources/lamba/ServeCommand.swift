import ArgumentParser
import Foundation
import LambaJOSE
import LambaPostgres
import LambaServer
import LambaStore
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Lamba HTTP server (SQLite under ./data by default; no setup needed)."
    )

    @Option(help: "Port to listen on (LAMBA_PORT, default 8080; 0 picks a free port).")
    var port: Int?

    @Option(help: "Address to bind (LAMBA_HOST, default 127.0.0.1).")
    var host: String?

    @Option(name: .customLong("public-url"), help: "Public base URL that issuers are built from (LAMBA_PUBLIC_URL).")
    var publicURL: String?

    @Option(help: "Database URL: sqlite:///path or postgres://… (LAMBA_DATABASE_URL).")
    var database: String?

    /// Work done after the store is open and before the server listens, in order.
    /// Features that must prepare data at start add a step here.
    static let startupSteps: [StartupStep] = [
        StartupStep(name: "migrate store") { dependencies, logger in
            let applied = try await dependencies.store.migrate()
            logger.info("migrations applied", metadata: ["count": .stringConvertible(applied.count)])
        },
        StartupStep(name: "first-run demo") { dependencies, logger in
            // On the embedded default only, and only into an empty database.
            guard case .sqlite = dependencies.configuration.databaseURL, try await DemoSetup.isEmpty(dependencies.store) else { return }
            let demo = try await DemoSetup.ensure(store: dependencies.store, publicBaseURL: dependencies.configuration.publicBaseURL)
            logger.info("created the demo workspace, project, clients and user", metadata: ["issuer": .string(demo.issuer)])
            // Written unbuffered, so it shows before the server's first log line even when piped.
            FileHandle.standardOutput.write(Data((demo.instructions + "\n").utf8))
        },
    ]

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(host: host, port: port, publicURL: publicURL, database: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let metrics = ServerMetrics()
        let logger = ServerObservability.bootstrap(configuration: configuration, metrics: metrics)

        let store = try await StoreFactory.open(configuration.databaseURL)
        do {
            let dependencies = ServerDependencies(
                configuration: configuration, store: store, masterKey: try MasterKeyLocation.resolve(), metrics: metrics)
            for step in Self.startupSteps {
                logger.debug("startup step", metadata: ["step": .string(step.name)])
                try await step.run(dependencies, logger)
            }
            let app = LambaApplication.build(
                dependencies: dependencies,
                routes: FeatureRoutes.all(dependencies),
                logger: logger,
                onServerRunning: { port in
                    logger.info("listening", metadata: [
                        "address": .string("http://\(configuration.host):\(port.map(String.init) ?? "?")"),
                        "public_url": .string(configuration.publicBaseURL),
                        "database": .string(configuration.databaseURL.description),
                    ])
                }
            )
            try await LambaApplication.runUntilSignalled(app)
            logger.info("stopped")
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// One named piece of `lamba serve`'s start-up.
struct StartupStep: Sendable {
    let name: String
    let run: @Sendable (ServerDependencies, Logger) async throws -> Void
}
