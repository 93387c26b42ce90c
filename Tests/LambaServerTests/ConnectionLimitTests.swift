import Foundation
import Hummingbird
import LambaJOSE
import LambaServer
import LambaStore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// A raw TCP connection to 127.0.0.1 that records every byte the server sends and when it closes,
/// so a test sees exactly what a slow or idle client sees.
final class RawConnection: Sendable {
    private final class Recorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }

        // A reset by the server is a close too; the channel closes after the error.
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    let channel: any Channel
    private let recorder: Recorder
    let openedAt = ContinuousClock.now

    private init(channel: any Channel, recorder: Recorder) {
        self.channel = channel
        self.recorder = recorder
    }

    static func connect(port: Int) async throws -> RawConnection {
        let recorder = Recorder()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in channel.pipeline.addHandler(recorder) }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, recorder: recorder)
    }

    /// Sends `text`; false once the server has closed the connection.
    @discardableResult
    func send(_ text: String) async -> Bool {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text)).get()
            return true
        } catch {
            return false
        }
    }

    var received: String { String(decoding: recorder.bytes.withLock { $0 }, as: UTF8.self) }

    /// Waits for the server to close the connection, at most `limit`; returns when it did (from
    /// `openedAt`), or nil when it was still open and this side closed it.
    func serverClose(within limit: Duration) async -> Duration? {
        let timedOut = Mutex(false)
        let channel = self.channel
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            timedOut.withLock { $0 = true }
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        timer.cancel()
        return timedOut.withLock { $0 } ? nil : openedAt.duration(to: .now)
    }

    /// Waits until the received text contains `marker`, at most `limit`.
    func waitFor(_ marker: String, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if received.contains(marker) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return received.contains(marker)
    }

    func close() async {
        try? await channel.close()
    }
}

/// A real Lamba server on 127.0.0.1 with `configure`'s limits and a fresh SQLite store, as `withServer`
/// sets one up, run directly so that raw sockets know the port it bound.
func withLimitedServer(
    _ configure: (inout ServerConfiguration) -> Void,
    _ test: @Sendable (_ port: Int) async throws -> Void
) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-server-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("lamba.sqlite").path
    var configuration = try ServerConfiguration(host: "127.0.0.1", port: 0, databaseURL: .sqlite(path: path), maxRequestBodySize: 1024)
    configure(&configuration)
    let store = try await SQLiteStore(path: path)
    try await store.migrate()
    let dependencies = ServerDependencies(
        configuration: configuration, store: store, masterKey: try MasterKey(bytes: try SecureRandom.bytes(32)))
    var logger = Logger(label: "lamba-test")
    logger.logLevel = .warning
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let app = LambaApplication.build(
        dependencies: dependencies, routes: FeatureRoutes.all(dependencies) + [ProbeRoutes()], logger: logger,
        onServerRunning: { port in
            portContinuation.yield(port ?? 0)
            portContinuation.finish()
        })
    // Stopped by a graceful shutdown, as HummingbirdTesting stops its live server, not by cancellation.
    let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await services.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw CancellationError() }
        do {
            try await test(port)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
    }
    await store.close()
}

/// One request on its own connection with `Connection: close`; the whole response text, or "" when the
/// server closed without answering within `limit`.
func rawRequest(port: Int, _ request: String, within limit: Duration = .seconds(5)) async throws -> String {
    let connection = try await RawConnection.connect(port: port)
    await connection.send(request)
    _ = await connection.serverClose(within: limit)
    return connection.received
}

let healthRequest = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
let keepAliveHealthRequest = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

/// Timing bounds are wide (the machine is shared): each test asserts that a close happens, after the
/// timeout and within a few seconds of it, and exactly what the client received.
@Suite(.serialized) struct ConnectionLimitTests {
    @Test func slowHeader_isAnswered408AndClosed_whileOtherClientsAreServed() async throws {
        try await withLimitedServer({ $0.headerReadTimeout = .seconds(2) }) { port in
            let slow = try await RawConnection.connect(port: port)
            await slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
            // Dribble a header a byte at a time: progress must not extend the header timeout.
            let dribbler = Task {
                for byte in "X-Slow: aaaaaaaaaaaaaaaaaaaa" {
                    try await Task.sleep(for: .milliseconds(200))
                    guard await slow.send(String(byte)) else { return }
                }
            }
            defer { dribbler.cancel() }
            for _ in 0..<5 {
                let answer = try await rawRequest(port: port, healthRequest, within: .seconds(10))
                #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
            }
            let closedAfter = try #require(await slow.serverClose(within: .seconds(10)))
            #expect(closedAfter >= .milliseconds(1900))
            #expect(slow.received.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(slow.received)")
            #expect(slow.received.lowercased().contains("connection: close\r\n"))
        }
    }

    @Test func silentConnection_isClosedAfterHeaderTimeout_withoutAResponse() async throws {
        try await withLimitedServer({ $0.headerReadTimeout = .seconds(1) }) { port in
            let silent = try await RawConnection.connect(port: port)
            let closedAfter = try #require(await silent.serverClose(within: .seconds(5)))
            #expect(closedAfter >= .milliseconds(900))
            #expect(silent.received == "")
        }
    }

    @Test func slowBody_isAnswered408AndClosed() async throws {
        try await withLimitedServer({ $0.bodyReadTimeout = .seconds(1) }) { port in
            let slow = try await RawConnection.connect(port: port)
            await slow.send("POST /probe/json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            await slow.send("{\"a\":\"bbbb")  // 10 of the 100 bytes, then nothing
            let closedAfter = try #require(await slow.serverClose(within: .seconds(5)))
            #expect(closedAfter >= .milliseconds(900))
            #expect(slow.received.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(slow.received)")
        }
    }

    @Test func idleKeepAlive_isClosedAfterIdleTimeout_notTheHeaderTimeout() async throws {
        try await withLimitedServer({
            $0.headerReadTimeout = .seconds(1)
            $0.idleTimeout = .seconds(2)
        }) { port in
            let connection = try await RawConnection.connect(port: port)
            await connection.send(keepAliveHealthRequest)
            #expect(await connection.waitFor("\"ok\"", within: .seconds(5)), "\(connection.received)")
            let answeredAfter = connection.openedAt.duration(to: .now)
            let closedAfter = try #require(await connection.serverClose(within: .seconds(8)))
            // Idle from the end of the response: not before the idle timeout, so not at the header one.
            #expect(closedAfter - answeredAfter >= .milliseconds(1800))
            #expect(connection.received.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(!connection.received.contains("408"))
        }
    }

    @Test func bodyFinishedAfterAnEarlyAnswer_isThenHeldOnlyForTheIdleTimeout() async throws {
        try await withLimitedServer({
            $0.headerReadTimeout = .seconds(5)
            $0.bodyReadTimeout = .seconds(5)
            $0.idleTimeout = .seconds(1)
        }) { port in
            let connection = try await RawConnection.connect(port: port)
            // 413 from the body size limit, written before the body is read.
            await connection.send("POST /probe/json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n")
            #expect(await connection.waitFor("\r\n\r\n", within: .seconds(5)), "\(connection.received)")
            await connection.send(String(repeating: "a", count: 2000))
            let bodySentAfter = connection.openedAt.duration(to: .now)
            let closedAfter = try #require(await connection.serverClose(within: .seconds(8)))
            #expect(closedAfter - bodySentAfter < .milliseconds(3500))
            #expect(connection.received.hasPrefix("HTTP/1.1 413 "), "\(connection.received)")
        }
    }

    @Test func perAddressCap_closesTheNextConnectionAtOnce_andFreesASlotOnClose() async throws {
        try await withLimitedServer({ $0.maxConnectionsPerAddress = 3 }) { port in
            try await expectCap(of: 3, port: port)
        }
    }

    @Test func processCap_closesTheNextConnectionAtOnce_andFreesASlotOnClose() async throws {
        try await withLimitedServer({
            $0.maxConnections = 3
            $0.maxConnectionsPerAddress = 0
        }) { port in
            try await expectCap(of: 3, port: port)
        }
    }

    /// Opens `cap` kept-alive connections (each answered, so each is counted before the next), then one
    /// more that must be closed without a byte; closing one of the first lets a new one be served.
    private func expectCap(of cap: Int, port: Int) async throws {
        var open: [RawConnection] = []
        for _ in 0..<cap {
            let connection = try await RawConnection.connect(port: port)
            await connection.send(keepAliveHealthRequest)
            #expect(await connection.waitFor("\"ok\"", within: .seconds(5)), "\(connection.received)")
            open.append(connection)
        }
        let refused = try await RawConnection.connect(port: port)
        let closedAfter = try #require(await refused.serverClose(within: .seconds(3)))
        #expect(closedAfter < .seconds(2))
        #expect(refused.received == "")
        for connection in open { #expect(connection.channel.isActive) }

        await open.removeFirst().close()
        // The server learns of the close asynchronously; a few attempts, bounded.
        var answer = ""
        for _ in 0..<20 {
            answer = try await rawRequest(port: port, healthRequest)
            if !answer.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answer)")
        for connection in open { await connection.close() }
    }

    @Test func defaults_andEnvironmentValues() throws {
        let defaults = try ServerConfiguration.load(environment: [:])
        #expect(defaults.headerReadTimeout == .seconds(10))
        #expect(defaults.bodyReadTimeout == .seconds(30))
        #expect(defaults.idleTimeout == .seconds(60))
        #expect(defaults.maxConnections == 10_000)
        #expect(defaults.maxConnectionsPerAddress == 256)
        let set = try ServerConfiguration.load(environment: [
            "LAMBA_HEADER_READ_TIMEOUT_SECONDS": "5", "LAMBA_BODY_READ_TIMEOUT_SECONDS": "20", "LAMBA_IDLE_TIMEOUT_SECONDS": "120",
            "LAMBA_MAX_CONNECTIONS": "500", "LAMBA_MAX_CONNECTIONS_PER_ADDRESS": "0",
        ])
        #expect(set.headerReadTimeout == .seconds(5))
        #expect(set.bodyReadTimeout == .seconds(20))
        #expect(set.idleTimeout == .seconds(120))
        #expect(set.maxConnections == 500)
        #expect(set.maxConnectionsPerAddress == 0)
    }

    @Test func registrationLimits_defaultsAndEnvironmentValues() throws {
        let defaults = try ServerConfiguration.load(environment: [:])
        #expect(defaults.registrationsPerAddressPerHour == 20)
        #expect(defaults.selfRegisteredClientsPerEnvironment == 1000)
        let set = try ServerConfiguration.load(environment: ["LAMBA_REGISTRATIONS_PER_ADDRESS_PER_HOUR": "5",
                                                             "LAMBA_SELF_REGISTERED_CLIENTS_PER_ENVIRONMENT": "50"])
        #expect(set.registrationsPerAddressPerHour == 5)
        #expect(set.selfRegisteredClientsPerEnvironment == 50)
    }

    @Test func databasePoolSize_defaultAndEnvironmentValue() throws {
        #expect(try ServerConfiguration.load(environment: [:]).databasePoolSize == 8)
        #expect(try ServerConfiguration.load(environment: ["LAMBA_DATABASE_POOL_SIZE": "3"]).databasePoolSize == 3)
    }

    @Test(arguments: [
        ("LAMBA_HEADER_READ_TIMEOUT_SECONDS", "0"), ("LAMBA_HEADER_READ_TIMEOUT_SECONDS", "ten"),
        ("LAMBA_BODY_READ_TIMEOUT_SECONDS", "-1"), ("LAMBA_BODY_READ_TIMEOUT_SECONDS", "3601"),
        ("LAMBA_IDLE_TIMEOUT_SECONDS", "0"), ("LAMBA_IDLE_TIMEOUT_SECONDS", "99999999999999999999"),
        ("LAMBA_MAX_CONNECTIONS", "0"), ("LAMBA_MAX_CONNECTIONS", "1000001"),
        ("LAMBA_MAX_CONNECTIONS_PER_ADDRESS", "-1"), ("LAMBA_MAX_CONNECTIONS_PER_ADDRESS", "many"),
        ("LAMBA_REGISTRATIONS_PER_ADDRESS_PER_HOUR", "0"), ("LAMBA_SELF_REGISTERED_CLIENTS_PER_ENVIRONMENT", "1000001"),
        ("LAMBA_DATABASE_POOL_SIZE", "0"), ("LAMBA_DATABASE_POOL_SIZE", "257"),
    ])
    func invalidSetting_isRefused_namingIt(variable: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(environment: [variable: value]) }
        #expect(error?.setting == variable)
    }
}
