import Foundation
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaOAuth
import LambaServer
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Logging

/// Routes that exercise the foundation the way features will use it.
struct ProbeRoutes: RouteGroup {
    struct Boom: Error, CustomStringConvertible {
        var description: String { "secret detail: SELECT * FROM users" }
    }

    func register(on router: Router<LambaRequestContext>) {
        router.post("/probe/json") { request, context -> Response in
            let object = try await request.readJSONObject(context: context)
            return .json(["received": .object(object)])
        }
        router.post("/probe/form") { request, context -> Response in
            let form = try await request.readForm(context: context)
            try form.rejectDuplicates()
            return .json(["names": .array(form.pairs.map { .string($0.name) })])
        }
        router.get("/probe/boom") { _, _ -> Response in throw Boom() }
        // Where a request's code runs: on its connection's event loop, before and after a suspension.
        router.get("/probe/event-loop") { _, context -> Response in
            let before = context.eventLoop.inEventLoop
            try await Task.sleep(for: .milliseconds(5))
            let after = context.eventLoop.inEventLoop
            return .json(["before": .bool(before), "after": .bool(after)])
        }
        router.get("/probe/field") { _, _ -> Response in
            throw APIError.invalidRequest("redirect_uri is not registered", field: "redirect_uri", debug: "got https://evil")
        }
    }
}

/// A real server on 127.0.0.1 over a fresh, migrated store on `backend` (a SQLite file in a temporary
/// directory, or a new database on the tests' PostgreSQL cluster).
func withServer<Value: Sendable>(
    _ backend: Backend = .sqlite,
    maxRequestBodySize: Int = 1024,
    closeStoreFirst: Bool = false,
    _ test: @Sendable (any TestClientProtocol, ServerDependencies) async throws -> Value
) async throws -> Value {
    let url = try TestDatabases.makeURL(backend, prefix: "server")
    defer { TestDatabases.remove(url) }
    // One kept-alive test client connects before the test's own setup runs; on a loaded machine that
    // setup can outlast the production header and idle timeouts (ConnectionLimitTests tests those).
    let configuration = try ServerConfiguration(
        port: 0, databaseURL: url, maxRequestBodySize: maxRequestBodySize, headerReadTimeout: .seconds(600), idleTimeout: .seconds(600))
    let store = try await StoreFactory.open(url, poolSize: 3)
    try await store.migrate()
    if closeStoreFirst { await store.close() }
    let dependencies = ServerDependencies(
        configuration: configuration, store: store, masterKey: try MasterKey(bytes: try SecureRandom.bytes(32)))
    var logger = Logger(label: "lamba-test")
    logger.logLevel = .warning
    let app = LambaApplication.build(
        dependencies: dependencies, routes: FeatureRoutes.all(dependencies) + [ProbeRoutes()], logger: logger)
    do {
        let value = try await app.test(.live) { client in try await test(client, dependencies) }
        if !closeStoreFirst { await store.close() }
        return value
    } catch {
        if !closeStoreFirst { await store.close() }
        throw error
    }
}

extension TestResponse {
    /// Decoded with room for the console's OpenAPI document, which outgrew the JOSE limits.
    var json: JSONObject? { try? JSON.decodeObject(Array(body.readableBytesView), limits: JSONLimits(maxBytes: 1 << 20, maxDepth: 32)) }
    var text: String { String(buffer: body) }
}

func jsonHeaders(_ contentType: String = "application/json") -> HTTPFields {
    [.contentType: contentType]
}
