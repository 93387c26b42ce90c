import Foundation
import Hummingbird
import LambaJOSE
import LambaModel
import LambaServer
import LambaStore
import Logging
import ServiceLifecycle

// Events written per second through the store, then delivered per second by one dispatcher to a
// local receiver on 127.0.0.1 that answers 204. Usage: lamba-events-bench [events] [endpoints]
let arguments = CommandLine.arguments
let eventCount = arguments.count > 1 ? Int(arguments[1]) ?? 5000 : 5000
let endpointCount = arguments.count > 2 ? Int(arguments[2]) ?? 2 : 2

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-events-bench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: directory) }
let store = try await SQLiteStore(path: directory.appendingPathComponent("bench.sqlite").path)
try await store.migrate()
let masterKey = try MasterKey.generate()

// Receiver: counts requests.
let received = ReceivedCounter()
let router = Router()
router.post("hook") { _, _ -> Response in
    received.increment()
    return Response(status: .noContent)
}
let (ports, portContinuation) = AsyncStream<Int>.makeStream()
var quiet = Logger(label: "lamba-events-bench")
quiet.logLevel = .critical
let receiverApp = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
// Stopped by a graceful shutdown: cancelling the accept loop can leave an accepted connection whose
// writer NIO traps on (apple/swift-nio#3481).
let receiverGroup = ServiceGroup(configuration: .init(services: [receiverApp], gracefulShutdownSignals: [], logger: quiet))
let receiverTask = Task { try await receiverGroup.run() }
let port = await firstPort(ports)

// Tenant, Project, endpoints.
let workspace = Workspace(slug: "bench", name: "Bench")
try await SQLIdentityStore(store: store).write { tx in try tx.insert(workspace) }
let caller = ConsoleCaller(actor: "bench", workspaceID: workspace.id, workspaceRole: .owner)
let project = try await ProjectAdministration(store: SQLIdentityStore(store: store)).createProject(caller, slug: "bench", name: "Bench", visibility: .private)
let webhooks = WebhookAdministration(store: store, masterKey: masterKey)
try await webhooks.setAllowPrivateTargets(caller, projectID: project.id, environment: .sandbox, true)
for _ in 0..<endpointCount {
    _ = try await webhooks.createEndpoint(caller, projectID: project.id, environment: .sandbox,
                                          .init(url: "http://127.0.0.1:\(port)/hook", maxConcurrency: 32))
}

// Write: one event per transaction, as domain changes do.
let writeStart = ContinuousClock.now
for index in 0..<eventCount {
    let event = try OutboxEvent(type: "user.signed_in", actor: "usr_bench", workspaceID: workspace.id, projectID: project.id,
                                environment: "sandbox", data: "{\"n\":\(index)}")
    try await store.withTransaction { tx in try tx.appendEvent(event) }
}
let writeSeconds = seconds(ContinuousClock.now - writeStart)

// Deliver: fan-out, claim, sign, POST, record, until every delivery succeeded.
var configuration = WebhookDispatchConfiguration()
configuration.pollInterval = .milliseconds(10)
let dispatcher = WebhookDispatcher(store: store, masterKey: masterKey, configuration: configuration, logger: quiet)
let deliverStart = ContinuousClock.now
let dispatching = Task { await dispatcher.run() }
while true {
    let done = try await store.read { r in try r.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state = 'succeeded'").int("n") }
    let total = try await store.read { r in try r.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries").int("n") }
    if total > 0 && done == total && total >= eventCount * endpointCount { break }
    try await Task.sleep(for: .milliseconds(20))
}
let deliverSeconds = seconds(ContinuousClock.now - deliverStart)
dispatching.cancel()
await dispatching.value
let deliveries = try await store.read { r in try r.queryOne("SELECT COUNT(*) AS n FROM webhook_deliveries").int("n") }
await receiverGroup.triggerGracefulShutdown()
_ = try? await receiverTask.value
await store.close()

print("events written:    \(eventCount) in \(format(writeSeconds)) s = \(format(Double(eventCount) / writeSeconds)) events/s (one transaction each)")
print("deliveries:        \(deliveries) to \(endpointCount) endpoints in \(format(deliverSeconds)) s = \(format(Double(deliveries) / deliverSeconds)) deliveries/s")
print("receiver requests: \(received.value) (\(eventCount * endpointCount) plus the endpoints' own webhook_endpoint.created events)")

func firstPort(_ ports: AsyncStream<Int>) async -> Int {
    for await port in ports { return port }
    return 0
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func format(_ value: Double) -> String { String(format: "%.1f", value) }

final class ReceivedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
