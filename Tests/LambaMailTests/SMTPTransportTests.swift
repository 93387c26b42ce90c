import LambaStoreTestSupport
import Foundation
import Testing
@testable import LambaMail

/// SMTPTransport against a real server (aiosmtpd, started per test by smtp_server.py).
@Suite struct SMTPTransportTests {
    static let user = "lamba-mailer"
    static let password = "p@ss:wörd/1"

    func message(subject: String = "Your sign-in code", text: String = "Your code is 123456.\nIt expires in 10 minutes.",
                 html: String? = "<p>Your code is <b>123456</b>.</p>", fromName: String? = "Lamba") throws -> MailMessage {
        MailMessage(from: try MailAddress("noreply@lamba.example", name: fromName), to: try MailAddress("alice@example.com", name: "Alice"),
                    subject: subject, text: text, html: html, messageID: "\(UUID().uuidString)@lamba.example")
    }

    /// Settings for the server, with short timeouts so a failure does not stall the suite.
    func settings(_ url: String) throws -> MailSettings {
        var settings = try MailSettings(url: url)
        settings.connectTimeout = .seconds(5)
        settings.replyTimeout = .seconds(15)
        return settings
    }

    var encodedPassword: String { Self.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    func sendExpectingError(_ settings: MailSettings, _ message: MailMessage) async throws -> MailError {
        do {
            try await SMTPTransport(settings: settings).send(message)
        } catch {
            return error
        }
        Issue.record("the send succeeded")
        throw TestSetupError(description: "expected a failure")
    }

    @Test func plainDeliveryArrivesWithHeadersBodyAndEnvelope() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let mail = try message()
        try await SMTPTransport(settings: settings("smtp://127.0.0.1:\(server.port)?tls=none")).send(mail)
        let received = try server.received()
        try #require(received.count == 1)
        let got = received[0]
        #expect(got.mail_from == "noreply@lamba.example")
        #expect(got.rcpt_tos == ["alice@example.com"])
        #expect(got.auth_mechanism == nil)
        #expect(got.tls == false)
        #expect(got.extended)
        #expect(got.subject == "Your sign-in code")
        #expect(got.from == "Lamba <noreply@lamba.example>")
        #expect(got.to == "Alice <alice@example.com>")
        // Each part's last CRLF belongs to the boundary that follows it (RFC 2046 §5.1.1).
        #expect(got.text.map(normalized) == mail.text)
        #expect(got.html.map(normalized) == mail.html)
        #expect(got.defects.isEmpty)
        #expect(got.raw.contains("Message-ID: <\(mail.messageID)>\r\n"))
        #expect(got.raw.contains("Content-Type: multipart/alternative;"))
        for name in ["Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Auto-Submitted", "Content-Type"] {
            #expect(got.header_names.contains(name))
        }
    }

    @Test func heloWhenTheServerDoesNotKnowEHLO() async throws {
        let server = try SMTPTestServer(mode: .noehlo)
        defer { server.stop() }
        try await SMTPTransport(settings: settings("smtp://127.0.0.1:\(server.port)?tls=none&helo=mailer.lamba.example")).send(message())
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].extended == false)
        #expect(received[0].helo == "mailer.lamba.example")
        #expect(received[0].rcpt_tos == ["alice@example.com"])
    }

    @Test func startTLSWithAuthPlain() async throws {
        let server = try SMTPTestServer(security: .startTLS, auth: (Self.user, Self.password))
        defer { server.stop() }
        let ca = try TestCertificates.shared.get().caFile
        try await SMTPTransport(settings: settings("smtp://\(Self.user):\(encodedPassword)@localhost:\(server.port)?ca=\(ca)")).send(message())
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].auth_mechanism == "PLAIN")
        #expect(received[0].auth_login == Self.user)
        #expect(received[0].rcpt_tos == ["alice@example.com"])
    }

    @Test func startTLSWithAuthLoginWhenOnlyLoginIsOffered() async throws {
        let server = try SMTPTestServer(security: .startTLS, auth: (Self.user, Self.password), authOnly: "LOGIN")
        defer { server.stop() }
        let ca = try TestCertificates.shared.get().caFile
        try await SMTPTransport(settings: settings("smtp://\(Self.user):\(encodedPassword)@127.0.0.1:\(server.port)?ca=\(ca)")).send(message())
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].auth_mechanism == "LOGIN")
        #expect(received[0].auth_login == Self.user)
    }

    @Test func implicitTLSWithAuth() async throws {
        let server = try SMTPTestServer(security: .implicitTLS, auth: (Self.user, Self.password))
        defer { server.stop() }
        let ca = try TestCertificates.shared.get().caFile
        try await SMTPTransport(settings: settings("smtps://\(Self.user):\(encodedPassword)@localhost:\(server.port)?ca=\(ca)")).send(message())
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].auth_login == Self.user)
        #expect(received[0].subject == "Your sign-in code")
    }

    @Test func wrongPasswordIsPermanent() async throws {
        let server = try SMTPTestServer(security: .startTLS, auth: (Self.user, Self.password))
        defer { server.stop() }
        let ca = try TestCertificates.shared.get().caFile
        let error = try await sendExpectingError(settings("smtp://\(Self.user):wrong@localhost:\(server.port)?ca=\(ca)"), message())
        guard case .permanentFailure(let code, _) = error else { Issue.record("got \(error)"); return }
        #expect(code == 535)
        #expect(!error.description.contains("wrong"))
        #expect(try server.received().isEmpty)
    }

    @Test func certificateFromAnotherCAIsUnavailable() async throws {
        let certificates = try TestCertificates.shared.get()
        let implicit = try SMTPTestServer(security: .implicitTLS)
        defer { implicit.stop() }
        let error = try await sendExpectingError(settings("smtps://localhost:\(implicit.port)?ca=\(certificates.otherCAFile)"), message())
        guard case .unavailable = error else { Issue.record("got \(error)"); return }

        let startTLS = try SMTPTestServer(security: .startTLS, auth: (Self.user, Self.password))
        defer { startTLS.stop() }
        let other = try await sendExpectingError(
            settings("smtp://\(Self.user):\(encodedPassword)@localhost:\(startTLS.port)?ca=\(certificates.otherCAFile)"), message())
        guard case .unavailable = other else { Issue.record("got \(other)"); return }
        #expect(try implicit.received().isEmpty)
        #expect(try startTLS.received().isEmpty)
    }

    @Test func plaintextInjectedAfterStartTLSIsRefused() async throws {
        let server = try SMTPTestServer(mode: .inject)
        defer { server.stop() }
        let ca = try TestCertificates.shared.get().caFile
        let started = ContinuousClock.now
        let error = try await sendExpectingError(settings("smtp://\(Self.user):\(encodedPassword)@127.0.0.1:\(server.port)?ca=\(ca)"), message())
        // Whichever comes first refuses it: the reply parser's leftover bytes, the gate, or the TLS handler.
        guard case .unavailable = error else { Issue.record("got \(error)"); return }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func serverWithoutStartTLSIsRefusedUnlessTLSNone() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let error = try await sendExpectingError(settings("smtp://\(Self.user):\(encodedPassword)@127.0.0.1:\(server.port)"), message())
        guard case .unavailable(let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("STARTTLS"))
        #expect(try server.received().isEmpty)
    }

    @Test func rcpt451IsTemporary() async throws {
        let server = try SMTPTestServer(mode: .rcpt451)
        defer { server.stop() }
        let error = try await sendExpectingError(settings("smtp://127.0.0.1:\(server.port)?tls=none"), message())
        #expect(error == .temporaryFailure(code: 451, message: "RCPT TO: 4.3.0 Try again later"))
        #expect(error.isTemporary)
    }

    @Test func rcpt550IsPermanent() async throws {
        let server = try SMTPTestServer(mode: .rcpt550)
        defer { server.stop() }
        let error = try await sendExpectingError(settings("smtp://127.0.0.1:\(server.port)?tls=none"), message())
        #expect(error == .permanentFailure(code: 550, message: "RCPT TO: 5.1.1 No such user"))
        #expect(!error.isTemporary)
    }

    @Test func serverDownIsUnavailableAndTemporary() async throws {
        let server = try SMTPTestServer()
        let port = server.port
        server.stop()
        let error = try await sendExpectingError(settings("smtp://127.0.0.1:\(port)?tls=none"), message())
        guard case .unavailable = error else { Issue.record("got \(error)"); return }
        #expect(error.isTemporary)
    }

    @Test func silentServerTimesOut() async throws {
        let server = try SMTPTestServer(mode: .silent)
        defer { server.stop() }
        var settings = try settings("smtp://127.0.0.1:\(server.port)?tls=none")
        settings.replyTimeout = .milliseconds(700)
        let started = ContinuousClock.now
        let error = try await sendExpectingError(settings, message())
        let elapsed = ContinuousClock.now - started
        guard case .unavailable(let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("no reply within 700 ms"))
        #expect(elapsed < .seconds(10))
    }

    @Test func linesStartingWithADotArriveIntact() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let text = ".hidden line\n.\n..two dots\nend."
        let html = ".<p>dot</p>\n.\n"
        try await SMTPTransport(settings: settings("smtp://127.0.0.1:\(server.port)?tls=none")).send(message(text: text, html: html))
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].text.map(normalized) == text)
        #expect(received[0].html.map(normalized) == html)
        #expect(received[0].defects.isEmpty)
    }

    @Test func nonASCIISubjectNameAndBodyArriveIntact() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let subject = "Grüße — ваш код ✓ 你好"
        let text = "Zoë, ваш код: 123456 ✓\nΚαλημέρα — " + String(repeating: "é", count: 120)
        try await SMTPTransport(settings: settings("smtp://127.0.0.1:\(server.port)?tls=none"))
            .send(message(subject: subject, text: text, html: "<p>Zoë ✓</p>", fromName: "Lamba — Ünïcode"))
        let received = try server.received()
        try #require(received.count == 1)
        #expect(received[0].subject == subject)
        #expect(received[0].from == "Lamba — Ünïcode <noreply@lamba.example>")
        #expect(received[0].text.map(normalized) == text)
        #expect(received[0].html.map(normalized) == "<p>Zoë ✓</p>")
        // 7-bit on the wire: the encoding did the work, not an 8BITMIME server.
        #expect(received[0].raw.utf8.allSatisfy { $0 < 0x80 })
    }

    @Test func headerInjectionInNameAndSubjectMakesNoHeaders() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let mail = try message(subject: "Hello\r\nBcc: evil@attacker.example\r\n\r\nfake body", fromName: "Eve\r\nBcc: evil@attacker.example")
        try await SMTPTransport(settings: settings("smtp://127.0.0.1:\(server.port)?tls=none")).send(mail)
        let received = try server.received()
        try #require(received.count == 1)
        #expect(!received[0].header_names.contains { $0.lowercased() == "bcc" })
        #expect(!received[0].raw.contains("\r\nBcc:"))
        #expect(received[0].rcpt_tos == ["alice@example.com"])
        #expect(received[0].header_names.filter { $0 == "Subject" }.count == 1)
        #expect(received[0].defects.isEmpty)
    }

    func normalized(_ text: String) -> String { text.replacingOccurrences(of: "\r\n", with: "\n") }
}
