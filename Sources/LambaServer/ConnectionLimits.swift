internal import Hummingbird
internal import HummingbirdCore
internal import HTTPTypes
internal import Logging
internal import NIOCore
internal import NIOHTTPTypes
internal import Synchronization

/// The connection limits of `ServerConfiguration`, applied to every accepted connection, so that no
/// client holds a socket forever: a slow head, a slow body or an idle keep-alive is closed, and one
/// connection past a cap is closed on accept.
///
/// Pipeline of each child channel, head (socket) first:
/// `ConnectionCapHandler` → `RequestBytesObserver` → HTTP/1.1 encoder and decoder → `RequestDeadlineHandler` → Hummingbird.
/// The observer sits before the decoder because only raw bytes say that a client has started its next
/// request; the deadline handler sits after it because only decoded parts say where a head or a body ends.
struct ConnectionLimits: Sendable {
    struct Timeouts: Sendable {
        let headerRead: TimeAmount
        let bodyRead: TimeAmount
        let idle: TimeAmount
    }

    let timeouts: Timeouts
    let counter: ConnectionCounter

    init(_ configuration: ServerConfiguration) {
        func amount(_ duration: Duration) -> TimeAmount {
            // The configuration bounds every timeout to an hour, so nanoseconds fit in Int64.
            let (seconds, attoseconds) = duration.components
            return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        }
        self.timeouts = Timeouts(
            headerRead: amount(configuration.headerReadTimeout),
            bodyRead: amount(configuration.bodyReadTimeout),
            idle: amount(configuration.idleTimeout))
        self.counter = ConnectionCounter(
            maxConnections: configuration.maxConnections, maxConnectionsPerAddress: configuration.maxConnectionsPerAddress)
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1.1 server with `limits` on every accepted connection.
    static func http1(limits: ConnectionLimits) -> HTTPServerBuilder {
        let timeouts = limits.timeouts
        return .init { responder in
            // Hummingbird's own idle timeout stays off: it restarts on every request part, so a
            // client dribbling a body would keep it alive; `RequestDeadlineHandler` does this job.
            let http1 = HTTP1Channel(
                responder: responder,
                configuration: .init(additionalChannelHandlers: [RequestDeadlineHandler(timeouts: timeouts)], idleTimeout: nil))
            return LimitedHTTP1Channel(http1: http1, counter: limits.counter)
        }
    }
}

/// Hummingbird's HTTP/1.1 child channel with the raw-byte handlers of `ConnectionLimits` in front of it.
struct LimitedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let counter: ConnectionCounter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let counter = self.counter
        // Runs on the channel's event loop; HTTP1Channel has built its pipeline when this runs.
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let deadlines = try pipeline.handler(type: RequestDeadlineHandler.self)
            try pipeline.addHandler(RequestBytesObserver(deadlines: deadlines), position: .first)
            try pipeline.addHandler(ConnectionCapHandler(counter: counter, logger: logger), position: .first)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}

// MARK: - Connection caps

/// Open connections of one process, in total and per client address, shared by every event loop.
/// Taken once per connection (not per request), so one lock is cheap enough.
final class ConnectionCounter: Sendable {
    private struct Counts {
        var total = 0
        var perAddress: [String: Int] = [:]
    }

    let maxConnections: Int
    /// 0: no per-address cap.
    let maxConnectionsPerAddress: Int
    private let counts = Mutex(Counts())

    init(maxConnections: Int, maxConnectionsPerAddress: Int) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Counts a new connection, or refuses it (and counts nothing) when a cap is reached.
    func open(address: String?) -> Bool {
        counts.withLock { counts in
            guard counts.total < maxConnections else { return false }
            if maxConnectionsPerAddress > 0, let address {
                let open = counts.perAddress[address, default: 0]
                guard open < maxConnectionsPerAddress else { return false }
                counts.perAddress[address] = open + 1
            }
            counts.total += 1
            return true
        }
    }

    /// Releases a connection that `open` counted.
    func close(address: String?) {
        counts.withLock { counts in
            counts.total -= 1
            if maxConnectionsPerAddress > 0, let address, let open = counts.perAddress[address] {
                // Drop the key at zero so the table holds only addresses with open connections.
                counts.perAddress[address] = open > 1 ? open - 1 : nil
            }
        }
    }

    var openConnections: Int { counts.withLock { $0.total } }
}

/// First in the pipeline: counts the connection when it becomes active and closes it at once, before
/// reading a byte, when a cap is reached. Closing is cheaper for the process than answering 503, and
/// a response written before any request would be misread by a client (RFC 9112 §9.3).
final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private enum State {
        case pending
        case counted(address: String?)
        case refused
        case released
    }

    private let counter: ConnectionCounter
    private let logger: Logger
    private var state = State.pending

    init(counter: ConnectionCounter, logger: Logger) {
        self.counter = counter
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        if case .counted = state { context.fireChannelActive() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .counted = state else { return }  // a refused connection is being closed; read nothing
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func admit(context: ChannelHandlerContext) {
        guard case .pending = state else { return }
        // Per address, not per address and port: a client opens its connections from many ports.
        let address = context.channel.remoteAddress?.ipAddress
        if counter.open(address: address) {
            state = .counted(address: address)
        } else {
            state = .refused
            logger.debug("Connection refused: connection cap reached", metadata: ["address": "\(address ?? "unknown")"])
            context.close(promise: nil)
        }
    }

    private func release() {
        guard case .counted(let address) = state else { return }
        state = .released
        counter.close(address: address)
    }
}

@available(*, unavailable)
extension ConnectionCapHandler: Sendable {}

// MARK: - Read timeouts

/// Before the HTTP decoder: tells `RequestDeadlineHandler` that bytes arrived, which on an idle
/// kept-alive connection means the next request has begun and the header timeout replaces the idle one.
final class RequestBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadlines: RequestDeadlineHandler

    init(deadlines: RequestDeadlineHandler) {
        self.deadlines = deadlines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadlines.requestBytesArrived()
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension RequestBytesObserver: Sendable {}

/// After the HTTP decoder: one deadline per connection, set by where the connection is in its
/// request/response cycle (RFC 9112 §9.3, §9.5):
/// - reading a head: header timeout, from accept or from the first byte of a request;
/// - reading a body: body timeout, from the head to the end of the body;
/// - a request read and its response not yet written: no deadline (the server's time, not the client's);
/// - idle between requests: idle timeout, from the end of the last response.
/// When it passes, a connection that has sent part of a request and is owed no other response is
/// answered 408 with `Connection: close` (RFC 9110 §15.5.9) and closed; any other is closed silently.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase {
        case readingHead
        case readingBody
        case responding
        case idle
    }

    private let timeouts: ConnectionLimits.Timeouts
    private var context: ChannelHandlerContext?
    private var phase = Phase.readingHead
    /// Requests whose head was read and whose response has not ended (more than one when pipelined).
    private var awaitingResponses = 0
    /// A response head has been written and its end has not.
    private var writingResponse = false
    /// Bytes arrived while responding: the next request has begun, so it gets the header timeout, not the idle one.
    private var nextRequestStarted = false
    /// Some bytes of the head being read have arrived. A connection that sent none (a browser's
    /// preconnect) is closed without a 408, which it could take for the answer to a request it sends next.
    private var headStarted = false
    private var deadline: NIODeadline?
    /// One timer at a time, moved only when the deadline comes earlier; a later deadline is picked up
    /// when the timer fires, so a request costs at most one or two scheduled tasks.
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?

    init(timeouts: ConnectionLimits.Timeouts) {
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { setDeadline(.now() + timeouts.headerRead) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if deadline == nil, phase == .readingHead { setDeadline(.now() + timeouts.headerRead) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    /// Called by `RequestBytesObserver` for every read, before the decoder sees the bytes.
    func requestBytesArrived() {
        switch phase {
        case .idle:
            phase = .readingHead
            headStarted = true
            setDeadline(.now() + timeouts.headerRead)
        case .responding:
            nextRequestStarted = true
        case .readingHead:
            headStarted = true
        case .readingBody:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            awaitingResponses += 1
            nextRequestStarted = false
            headStarted = false
            phase = .readingBody
            setDeadline(.now() + timeouts.bodyRead)
        case .body:
            break
        case .end:
            if awaitingResponses == 0 {
                // Answered before its body was read (an early error): the connection is now between requests.
                awaitNextRequest()
            } else {
                phase = .responding
                deadline = nil
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            // An interim (1xx) head is followed by the final one; only the final head starts the response.
            if response.status.kind != .informational { writingResponse = true }
        case .body:
            break
        case .end:
            writingResponse = false
            if awaitingResponses > 0 { awaitingResponses -= 1 }
            if awaitingResponses == 0, phase == .responding { awaitNextRequest() }
        }
        context.write(data, promise: promise)
    }

    /// Every response is written and no request is being read: idle, unless the next one has begun.
    private func awaitNextRequest() {
        if nextRequestStarted {
            phase = .readingHead
            headStarted = true
            setDeadline(.now() + timeouts.headerRead)
        } else {
            phase = .idle
            setDeadline(.now() + timeouts.idle)
        }
    }

    private func setDeadline(_ newDeadline: NIODeadline) {
        deadline = newDeadline
        if let timerFiresAt, timerFiresAt <= newDeadline { return }
        cancelTimer()
        scheduleTimer(at: newDeadline)
    }

    private func scheduleTimer(at when: NIODeadline) {
        guard let context else { return }
        timerFiresAt = when
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: when) { [self] in
            timer = nil
            timerFiresAt = nil
            timerFired()
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerFiresAt = nil
    }

    private func timerFired() {
        guard let deadline, let context else { return }
        guard deadline <= .now() else {
            scheduleTimer(at: deadline)
            return
        }
        self.deadline = nil
        switch phase {
        case .readingHead, .readingBody:
            // Answer 408 only when no earlier response is owed or being written: a 408 in the middle of
            // one, or ahead of one still owed to a pipelined request, would be taken as that response.
            let requestBeingRead = phase == .readingBody ? 1 : 0
            guard phase == .readingBody || headStarted, !writingResponse, awaitingResponses == requestBeingRead else {
                context.close(promise: nil)
                return
            }
            // `Connection: close` says the connection ends with this response (RFC 9112 §9.6).
            let response = HTTPResponse(status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(wrapOutboundOut(.head(response)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .idle:
            // A server may close an idle connection at any time; clients retry on a new one (RFC 9112 §9.5).
            context.close(promise: nil)
        case .responding:
            break
        }
    }
}

@available(*, unavailable)
extension RequestDeadlineHandler: Sendable {}
