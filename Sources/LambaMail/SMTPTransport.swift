import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Delivers each message over its own SMTP connection (RFC 5321) to one relay: TLS from the first
/// byte (RFC 8314) or STARTTLS (RFC 3207), AUTH PLAIN (RFC 4616) or LOGIN (RFC 4954), with a timeout
/// on the connection and on every reply, so a server that goes silent fails the send instead of hanging it.
public struct SMTPTransport: MailTransport, CustomStringConvertible {
    public let settings: MailSettings
    private let tls: NIOSSLContext?

    public init(settings: MailSettings) throws(MailError) {
        self.settings = settings
        guard settings.security != .none else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        do {
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidConfiguration("cannot load the TLS trust roots\(settings.caFile.map { " from \($0)" } ?? ""): \(error)")
        }
    }

    public var description: String { "SMTPTransport(\(settings))" }

    public func send(_ message: MailMessage) async throws(MailError) {
        do {
            try await deliver(message)
        } catch let error as MailError {
            throw error
        } catch {
            throw .unavailable("\(settings.host):\(settings.port): \(error)")
        }
    }

    private func deliver(_ message: MailMessage) async throws {
        let tls = self.tls
        // RFC 6066 §3: SNI carries host names only; for an IP address NIOSSL checks the certificate's IP SAN.
        let isAddress = settings.host.contains(":") || settings.host.allSatisfy { $0.isNumber || $0 == "." }
        let serverName: String? = isAddress ? nil : settings.host
        let implicit = settings.security == .implicitTLS
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(settings.connectTimeout))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicit, let tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        } else if tls != nil {
                            try channel.pipeline.syncOperations.addHandler(STARTTLSGate())
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MailError.unavailable("cannot connect to \(settings.host):\(settings.port): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            var session = SMTPSession(
                channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound,
                timeout: TimeAmount(settings.replyTimeout))
            try await session.run(message, settings: settings, armStartTLS: {
                try await channel.channel.eventLoop.submit {
                    try channel.channel.pipeline.syncOperations.handler(type: STARTTLSGate.self).arm()
                }.get()
            }, startTLS: {
                guard let tls else { return }
                try await channel.channel.eventLoop.submit {
                    let pipeline = channel.channel.pipeline.syncOperations
                    try pipeline.handler(type: STARTTLSGate.self).startTLS(pipeline, tls: tls, serverName: serverName)
                }.get()
            })
        }
    }

    /// RFC 5321 §4.5.2: a line starting with `.` gets one more; line ends are CRLF (§2.3.8), and the
    /// text ends with CRLF so the terminating `.` line stands alone.
    static func dataPayload(_ rendered: String) -> String {
        let normalized = rendered.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = normalized.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n") + "\r\n"
    }
}

/// One reply (RFC 5321 §4.2): a three-digit code and its text lines.
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    var text: String { lines.joined(separator: " / ") }
    var isPositive: Bool { (200..<300).contains(code) }
}

/// Splits incoming bytes into replies. Multiline replies are `code-text` lines ending with one
/// `code text` line (RFC 5321 §4.2.1); lines are capped, as a hostile server could send endless ones.
struct SMTPReplyParser {
    private var buffer: [UInt8] = []
    private var lines: [String] = []
    private var code: Int?
    static let maximumLine = 4096
    static let maximumLines = 200

    var hasBufferedBytes: Bool { !buffer.isEmpty }

    mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next complete reply in the buffer, if any.
    mutating func next() throws(MailError) -> SMTPReply? {
        while let newline = buffer.firstIndex(of: 0x0A) {
            var line = Array(buffer[..<newline])
            buffer.removeFirst(newline + 1)
            if line.last == 0x0D { line.removeLast() }
            guard line.count >= 3, line.count <= Self.maximumLine,
                  line[0..<3].allSatisfy({ (0x30...0x39).contains($0) }), (0x32...0x35).contains(line[0]),
                  line.count == 3 || line[3] == 0x20 || line[3] == 0x2D
            else { throw .unavailable("not an SMTP reply line: \(Self.printable(line))") }
            let lineCode = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
            if let code, code != lineCode { throw .unavailable("reply lines with codes \(code) and \(lineCode) mixed") }
            code = lineCode
            lines.append(line.count > 4 ? Self.printable(line[4...]) : "")
            guard lines.count <= Self.maximumLines else { throw .unavailable("reply longer than \(Self.maximumLines) lines") }
            if line.count == 3 || line[3] == 0x20 {
                defer { lines = []; code = nil }
                return SMTPReply(code: lineCode, lines: lines)
            }
        }
        guard buffer.count <= Self.maximumLine else { throw .unavailable("reply line longer than \(Self.maximumLine) bytes") }
        return nil
    }

    private static func printable(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.prefix(300).map { (0x20..<0x7F).contains($0) ? $0 : 0x3F }, as: UTF8.self)
    }
}

/// What the server said about itself in its EHLO reply (RFC 5321 §4.1.1.1).
struct SMTPExtensions: Sendable, Equatable {
    var startTLS = false
    var authMechanisms: Set<String> = []
    var smtpUTF8 = false

    init(ehlo reply: SMTPReply?) {
        for line in reply?.lines.dropFirst() ?? [] {
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": startTLS = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst())
            case "SMTPUTF8": smtpUTF8 = true
            default: break
            }
        }
    }
}

/// Guards the gap between the 220 reply to STARTTLS and the TLS handler's arrival (RFC 3207 §4.2):
/// bytes that reach it in that gap came in plaintext, and fail the connection instead of being read
/// as the server's first words over TLS. Passes every other byte on unchanged.
final class STARTTLSGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State { case passing, awaitingReply, awaitingTLS }
    private var state = State.passing
    private var parser = SMTPReplyParser()

    /// The next reply answers STARTTLS.
    func arm() {
        state = .awaitingReply
        parser = SMTPReplyParser()
    }

    /// Adds the TLS handler below everything else, so every later byte in both directions is
    /// encrypted; on the event loop, so no read falls between the two.
    func startTLS(_ pipeline: ChannelPipeline.SynchronousOperations, tls: NIOSSLContext, serverName: String?) throws {
        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName), position: .first)
        state = .passing
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing:
            context.fireChannelRead(data)
        case .awaitingReply:
            parser.append(unwrapInboundIn(data).readableBytesView)
            // A malformed reply is the session's to report; it reads the same bytes.
            let reply = try? parser.next()
            context.fireChannelRead(data)
            guard let reply else { return }
            state = reply.code == 220 ? .awaitingTLS : .passing
            if reply.code == 220 && parser.hasBufferedBytes { refuse(context) }
        case .awaitingTLS:
            refuse(context)
        }
    }

    private func refuse(_ context: ChannelHandlerContext) {
        context.fireErrorCaught(MailError.unavailable("the server sent data after its STARTTLS reply, before TLS"))
        context.close(promise: nil)
    }
}

/// A flag the timeout timer sets on the event loop and the reader checks afterwards.
private final class TimedOut: Sendable {
    let value = Atomic<Bool>(false)
}

/// The conversation on one connection.
struct SMTPSession {
    let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let timeout: TimeAmount
    var parser = SMTPReplyParser()

    init(channel: any Channel, inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
         outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, timeout: TimeAmount) {
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.timeout = timeout
    }

    /// `armStartTLS` readies the `STARTTLSGate` for the reply to STARTTLS; `startTLS` adds the TLS handler.
    mutating func run(_ message: MailMessage, settings: MailSettings, armStartTLS: () async throws -> Void,
                      startTLS: () async throws -> Void) async throws {
        try expect(try await reply(), "greeting")
        var extensions = try await hello(settings.heloName)

        if settings.security == .startTLS {
            // RFC 3207 §4: without STARTTLS, the password and the message (sign-in links) would go in
            // clear; a server that does not offer it, or an attacker who strips it, gets nothing.
            guard extensions.startTLS else {
                throw MailError.unavailable("\(settings.host) does not offer STARTTLS (RFC 3207); tls=none is for a local test server only")
            }
            try await armStartTLS()
            try expect(try await command("STARTTLS"), "STARTTLS")
            // RFC 3207 §4.2: bytes the server sent before the handshake must not be read as if protected.
            guard !parser.hasBufferedBytes else { throw MailError.unavailable("the server sent data after its STARTTLS reply") }
            try await startTLS()
            // RFC 3207 §4.2: forget what was learned in plaintext and ask again.
            extensions = try await hello(settings.heloName)
        }

        if let username = settings.username, let password = settings.password {
            try await authenticate(username: username, password: password, offered: extensions, settings: settings)
        }

        let needsUTF8 = !message.from.address.utf8.allSatisfy { $0 < 0x80 } || !message.to.address.utf8.allSatisfy { $0 < 0x80 }
        if needsUTF8 && !extensions.smtpUTF8 {
            throw MailError.permanentFailure(code: 553, message: "the addresses are not ASCII and the server does not offer SMTPUTF8 (RFC 6531)")
        }
        try expect(try await command("MAIL FROM:<\(message.from.address)>" + (needsUTF8 ? " SMTPUTF8" : "")), "MAIL FROM")
        try expect(try await command("RCPT TO:<\(message.to.address)>"), "RCPT TO")
        let data = try await command("DATA")
        guard data.code == 354 else { throw Self.failure(data, "DATA") }
        try await write(SMTPTransport.dataPayload(MIMEMessage.render(message)) + ".\r\n")
        try expect(try await reply(), "the message")
        // Delivered; a QUIT that goes wrong (RFC 5321 §4.1.1.10) changes nothing for the sender.
        _ = try? await command("QUIT")
    }

    /// EHLO, or HELO when the server does not know EHLO (RFC 5321 §3.2).
    private mutating func hello(_ name: String) async throws -> SMTPExtensions {
        let ehlo = try await command("EHLO \(name)")
        if ehlo.isPositive { return SMTPExtensions(ehlo: ehlo) }
        guard [500, 501, 502, 504, 550].contains(ehlo.code) else { throw Self.failure(ehlo, "EHLO") }
        try expect(try await command("HELO \(name)"), "HELO")
        return SMTPExtensions(ehlo: nil)
    }

    /// RFC 4954: PLAIN (RFC 4616) when offered, else LOGIN. Never over plaintext unless tls=none said so.
    private mutating func authenticate(username: String, password: String, offered: SMTPExtensions, settings: MailSettings) async throws {
        if offered.authMechanisms.contains("PLAIN") {
            // RFC 4616 §2: authzid (empty) NUL authcid NUL passwd, as the initial response (RFC 4954 §4).
            let token = Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            try expect(try await command("AUTH PLAIN \(token)"), "AUTH PLAIN")
        } else if offered.authMechanisms.contains("LOGIN") {
            let start = try await command("AUTH LOGIN")
            guard start.code == 334 else { throw Self.failure(start, "AUTH LOGIN") }
            let user = try await command(Data(username.utf8).base64EncodedString())
            guard user.code == 334 else { throw Self.failure(user, "AUTH LOGIN") }
            try expect(try await command(Data(password.utf8).base64EncodedString()), "AUTH LOGIN")
        } else {
            let mechanisms = offered.authMechanisms.sorted().joined(separator: " ")
            throw MailError.invalidConfiguration(
                "\(settings.host) offers AUTH \(mechanisms.isEmpty ? "nothing" : mechanisms); Lamba speaks PLAIN and LOGIN (RFC 4954)")
        }
    }

    /// Failures name the step, never the line sent: some lines carry credentials.
    private mutating func command(_ line: String) async throws -> SMTPReply {
        try await write(line + "\r\n")
        return try await reply()
    }

    /// Within `timeout` too: a server that stops reading would otherwise hold the write forever.
    private func write(_ text: String) async throws {
        let (timer, timedOut) = startTimer()
        defer { timer.cancel() }
        do {
            try await outbound.write(ByteBuffer(string: text))
        } catch {
            if timedOut.value.load(ordering: .sequentiallyConsistent) { throw timeoutError }
            throw MailError.unavailable("writing to the server failed: \(error)")
        }
    }

    /// When `timeout` passes, closes the channel, which ends a pending read or write.
    private func startTimer() -> (Scheduled<Void>, TimedOut) {
        let timedOut = TimedOut()
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.value.store(true, ordering: .sequentiallyConsistent)
            channel.close(promise: nil)
        }
        return (timer, timedOut)
    }

    /// The next reply, within `timeout`.
    private mutating func reply() async throws -> SMTPReply {
        if let reply = try parser.next() { return reply }
        let (timer, timedOut) = startTimer()
        defer { timer.cancel() }
        do {
            while let bytes = try await inbound.next() {
                parser.append(bytes.readableBytesView)
                if let reply = try parser.next() { return reply }
            }
        } catch let error as MailError {
            throw error
        } catch {
            if timedOut.value.load(ordering: .sequentiallyConsistent) { throw timeoutError }
            throw MailError.unavailable("reading from the server failed: \(error)")
        }
        if timedOut.value.load(ordering: .sequentiallyConsistent) { throw timeoutError }
        throw MailError.unavailable("the server closed the connection")
    }

    private var timeoutError: MailError {
        .unavailable("no reply within \(timeout.nanoseconds / 1_000_000) ms")
    }

    private func expect(_ reply: SMTPReply, _ step: String) throws {
        guard reply.isPositive else { throw Self.failure(reply, step) }
    }

    /// RFC 5321 §4.2.1: 4yz is transient, 5yz permanent; anything else here is a broken conversation.
    static func failure(_ reply: SMTPReply, _ step: String) -> MailError {
        let message = "\(step): \(reply.text)"
        switch reply.code {
        case 400..<500: return .temporaryFailure(code: reply.code, message: message)
        case 500..<600: return .permanentFailure(code: reply.code, message: message)
        default: return .unavailable("unexpected reply \(reply.code) to \(message)")
        }
    }
}
