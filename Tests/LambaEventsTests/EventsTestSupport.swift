import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LambaJOSE
import LambaModel
import LambaServer
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Starts a Hummingbird application on 127.0.0.1 with a free port; `stop()` ends it.
final class LiveServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    init<Context: InitializableFromSource<ApplicationRequestContextSource>>(router: Router<Context>) async throws {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "lamba-events-test")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        var configuration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger)
        // A receiver still answering a slow delivery is cancelled after this; its accept loop has ended by then.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        self.port = port
    }

    /// A graceful shutdown, not `task.cancel()`: cancelling the accept loop drops the connections it
    /// has accepted and not yet served, and NIO traps when one of them becomes active with nobody
    /// left to finish its writer ("Deinited NIOAsyncWriter without calling finish()", signal 4;
    /// apple/swift-nio#3481). Shutting down closes the listener and serves or closes each of them.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A webhook receiver that verifies Standard Webhooks signatures and records every request.
final class Receiver: Sendable {
    struct Delivery: Sendable {
        let path: String
        let id: String
        let timestamp: Int
        let signature: String
        let body: [UInt8]
        let verified: Bool
        let status: Int
    }

    /// How a path answers: fail the first `failFirst` tries of each id, answer 503 while `down`,
    /// and wait `delay` before answering.
    struct Behaviour: Sendable {
        var secrets: [String] = []
        var failFirst = 0
        var down = false
        var delay: Duration = .zero
    }

    private struct State {
        var behaviours: [String: Behaviour] = [:]
        var deliveries: [Delivery] = []
        var tries: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let server = Mutex<LiveServer?>(nil)

    static func start() async throws -> Receiver {
        let receiver = Receiver()
        let router = Router()
        router.post("hook/:name") { request, context -> Response in
            let name = try context.parameters.require("name")
            let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            return await receiver.handle(path: name, headers: request.headers, body: body)
        }
        let server = try await LiveServer(router: router)
        receiver.server.withLock { $0 = server }
        return receiver
    }

    var port: Int { server.withLock { $0?.port ?? 0 } }
    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/hook/\(name)" }

    func configure(_ name: String, _ change: (inout Behaviour) -> Void) {
        state.withLock { change(&$0.behaviours[name, default: Behaviour()]) }
    }

    func deliveries(_ name: String? = nil) -> [Delivery] {
        state.withLock { s in s.deliveries.filter { name == nil || $0.path == name } }
    }

    /// Ids answered with 2xx.
    func acceptedIDs(_ name: String) -> Set<String> {
        Set(deliveries(name).filter { (200..<300).contains($0.status) }.map(\.id))
    }

    private func handle(path: String, headers: HTTPFields, body: [UInt8]) async -> Response {
        let id = headers[HTTPField.Name("webhook-id")!] ?? ""
        let timestamp = Int(headers[HTTPField.Name("webhook-timestamp")!] ?? "") ?? 0
        let signature = headers[HTTPField.Name("webhook-signature")!] ?? ""
        let (behaviour, tries) = state.withLock { s -> (Behaviour, Int) in
            s.tries[path + id, default: 0] += 1
            return (s.behaviours[path] ?? Behaviour(), s.tries[path + id]!)
        }
        if behaviour.delay > .zero { try? await Task.sleep(for: behaviour.delay) }
        let verified = !behaviour.secrets.isEmpty && behaviour.secrets.allSatisfy {
            StandardWebhooks.verify(secret: $0, id: id, timestamp: timestamp, body: body, header: signature)
        }
        let status = behaviour.down ? 503 : (tries <= behaviour.failFirst ? 500 : (verified ? 204 : 401))
        state.withLock { $0.deliveries.append(Delivery(path: path, id: id, timestamp: timestamp, signature: signature, body: body,
                                                      verified: verified, status: status)) }
        return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: status == 204 ? "" : "receiver says \(status)")))
    }

    func stop() async {
        if let server = server.withLock({ $0 }) { await server.stop() }
    }
}

/// A fresh database on `backend` (a SQLite file, or a database on the tests' PostgreSQL cluster) with one
/// Workspace (owner key), one Project, and fast dispatch tuning.
struct EventsFixture: Sendable {
    let database: DatabaseURL
    let store: any Store
    let masterKey: MasterKey
    let caller: ConsoleCaller
    let ownerKey: String
    let projectID: String
    let webhooks: WebhookAdministration

    static func make(_ backend: Backend) async throws -> EventsFixture {
        let database = try TestDatabases.makeURL(backend, prefix: "events")
        let store = try await StoreFactory.open(database, poolSize: 3)
        try await store.migrate()
        let masterKey = try MasterKey.generate()
        let (caller, key) = try await makeWorkspace(store, slug: "acme")
        let project = try await ProjectAdministration(store: SQLIdentityStore(store: store))
            .createProject(caller, slug: "portal-\(UUID().uuidString.prefix(8).lowercased())", name: "Portal", visibility: .private)
        let webhooks = WebhookAdministration(store: store, masterKey: masterKey)
        try await webhooks.setAllowPrivateTargets(caller, projectID: project.id, environment: .sandbox, true)
        return EventsFixture(database: database, store: store, masterKey: masterKey, caller: caller,
                             ownerKey: key, projectID: project.id, webhooks: webhooks)
    }

    /// A Workspace and an API key of `role`, written directly so tests do not depend on bootstrap rules.
    static func makeWorkspace(_ store: any Store, slug: String, role: WorkspaceRole = .owner) async throws -> (ConsoleCaller, String) {
        let workspace = Workspace(slug: slug + "-" + UUID().uuidString.prefix(8).lowercased(), name: slug)
        let (caller, secret) = try await addKey(store, workspaceID: workspace.id, role: role) { tx in try tx.insert(workspace) }
        return (caller, secret)
    }

    static func addKey(_ store: any Store, workspaceID: String, role: WorkspaceRole,
                       before: @escaping @Sendable (any IdentityWriter) throws -> Void = { _ in }) async throws -> (ConsoleCaller, String) {
        let secret = OpaqueSecret.generate(prefix: "lmb_sk_")
        let key = APIKey(id: EntityID.generate(.apiKey), workspaceID: workspaceID, name: "test", role: role, secretHash: secret.hash,
                         displayPrefix: String(secret.value.prefix(12)), createdBy: nil, createdAt: Date(), revokedAt: nil)
        try await SQLIdentityStore(store: store).write { tx in
            try before(tx)
            try tx.insert(key)
        }
        return (ConsoleCaller(actor: key.id, workspaceID: workspaceID, workspaceRole: role), secret.value)
    }

    /// Appends `count` events of the fixture's Project sandbox to the outbox; returns their ids in order.
    @discardableResult
    func writeEvents(_ count: Int, type: String = "user.signed_in", environment: LambaModel.Environment = .sandbox) async throws -> [String] {
        let workspaceID = caller.workspaceID, projectID = projectID
        return try await store.withTransaction { tx in
            try (0..<count).map { index in
                let event = try OutboxEvent(id: EntityID.generate(.event), type: type, actor: "usr_test", workspaceID: workspaceID,
                                            projectID: projectID, environment: environment.rawValue,
                                            data: "{\"n\":\(index),\"note\":\"caf\\u00e9 \\/ \\ud83d\\ude00\",\"x\":1.50}")
                try tx.appendEvent(event)
                return event.id
            }
        }
    }

    func endpoint(_ receiver: Receiver, _ name: String, eventTypes: [String] = [], concurrency: Int = 4) async throws -> (WebhookEndpointRecord, String) {
        let created = try await webhooks.createEndpoint(caller, projectID: projectID, environment: .sandbox, .init(
            url: receiver.url(name), eventTypes: eventTypes, maxConcurrency: concurrency))
        receiver.configure(name) { $0.secrets = [created.secret] }
        return created
    }

    static func fastDispatch() -> WebhookDispatchConfiguration {
        var configuration = WebhookDispatchConfiguration()
        configuration.pollInterval = .milliseconds(20)
        configuration.backoffBase = 0.05
        configuration.backoffCap = 0.3
        configuration.requestTimeout = 5
        configuration.lease = 10
        return configuration
    }

    /// Runs a dispatcher for the duration of `body`.
    func dispatching<T: Sendable>(_ configuration: WebhookDispatchConfiguration = fastDispatch(), _ body: () async throws -> T) async throws -> T {
        var logger = Logger(label: "lamba-events-test")
        logger.logLevel = .critical
        let dispatcher = WebhookDispatcher(store: store, masterKey: masterKey, configuration: configuration, logger: logger)
        let task = Task { await dispatcher.run() }
        do {
            let value = try await body()
            task.cancel()
            await task.value
            return value
        } catch {
            task.cancel()
            await task.value
            throw error
        }
    }

    func close() async {
        await store.close()
        TestDatabases.remove(database)
    }
}

/// Polls `condition` until it holds or `timeout` passes. The timeout only stops a hang: the suite
/// runs beside hundreds of other tests on two cores, so it is no measure of speed.
func eventually(timeout: Duration = .seconds(90), _ what: String, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw TestFailure("timed out waiting for \(what)")
}

/// The Lamba console API of a fixture, served live on 127.0.0.1.
struct ConsoleClient: Sendable {
    let baseURL: String

    struct Reply: Sendable {
        let status: Int
        let json: JSONObject
    }

    func call(_ method: HTTPMethod, _ path: String, key: String, body: JSONObject? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSON.encode(body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(40))
        let bytes = Array(try await response.body.collect(upTo: 1 << 22).readableBytesView)
        let json = bytes.isEmpty ? JSONObject() : ((try? JSON.decodeObject(bytes, limits: JSONLimits(maxBytes: 1 << 22, maxDepth: 64))) ?? JSONObject())
        return Reply(status: Int(response.status.code), json: json)
    }
}

extension EventsFixture {
    /// Serves Lamba's routes over this fixture's store for the duration of `body`.
    func serving<T: Sendable>(_ body: (ConsoleClient) async throws -> T) async throws -> T {
        let configuration = try ServerConfiguration(port: 0, databaseURL: database)
        let dependencies = ServerDependencies(configuration: configuration, store: store, masterKey: masterKey)
        let router = LambaApplication.makeRouter(dependencies: dependencies, routes: FeatureRoutes.all(dependencies))
        let server = try await LiveServer(router: router)
        do {
            let value = try await body(ConsoleClient(baseURL: "http://127.0.0.1:\(server.port)"))
            await server.stop()
            return value
        } catch {
            await server.stop()
            throw error
        }
    }
}
