import LambaStoreTestSupport
import Foundation
import Testing
@testable import LambaMail

@Suite struct MailSettingsTests {
    @Test func startTLSURL() throws {
        let settings = try MailSettings(url: "smtp://mailer:s%40cr%3At%2F@mail.example.com")
        #expect(settings.host == "mail.example.com")
        #expect(settings.port == 587)
        #expect(settings.security == .startTLS)
        #expect(settings.username == "mailer")
        #expect(settings.password == "s@cr:t/")
        #expect(settings.caFile == nil)
        #expect(settings.connectTimeout == .seconds(10))
        #expect(settings.replyTimeout == .seconds(30))
    }

    @Test func implicitTLSURL() throws {
        let settings = try MailSettings(url: "smtps://u%20x:pw@relay.example:2465")
        #expect(settings.port == 2465)
        #expect(settings.security == .implicitTLS)
        #expect(settings.username == "u x")
        #expect(try MailSettings(url: "smtps://relay.example").port == 465)
    }

    @Test func options() throws {
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-settings-ca-\(UUID().uuidString).pem")
        try "x".write(to: ca, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: ca) }
        let settings = try MailSettings(url: "smtp://127.0.0.1:2525?tls=none&ca=\(ca.path)&helo=lamba.example")
        #expect(settings.security == .none)
        #expect(settings.caFile == ca.path)
        #expect(settings.heloName == "lamba.example")
        #expect(settings.username == nil && settings.password == nil)
        #expect(try MailSettings(url: "smtp://h.example?tls=starttls").security == .startTLS)
    }

    @Test(arguments: [
        ("http://mail.example.com", "scheme"),
        ("mail.example.com:587", "scheme"),
        ("smtp://", "no host"),
        ("smtp://mail.example.com?tls_verify=false", "tls_verify"),
        ("smtp://mail.example.com?verify=0", "verify"),
        ("smtp://mail.example.com?tls=off", "tls=off"),
        ("smtps://mail.example.com?tls=none", "smtps"),
        ("smtp://mail.example.com?tls=none&tls=starttls", "repeats"),
        ("smtp://user@mail.example.com", "without a password"),
        ("smtp://mail.example.com:0", "port"),
        ("smtp://mail.example.com:587/path", "path"),
        ("smtp://mail.example.com?ca=relative.pem", "absolute"),
        ("smtp://mail.example.com?ca=/nonexistent/ca.pem", "readable"),
        ("smtp://mail.example.com?helo=a%0D%0AQUIT", "helo"),
    ])
    func refusals(url: String, mentions: String) {
        do {
            _ = try MailSettings(url: url)
            Issue.record("accepted \(url)")
        } catch {
            guard case .invalidConfiguration(let reason) = error else { Issue.record("got \(error)"); return }
            #expect(reason.contains(mentions), "\(reason)")
        }
    }

    @Test func descriptionHidesThePassword() throws {
        let settings = try MailSettings(url: "smtps://mailer:hunter2%21secret@mail.example.com")
        #expect(settings.description == "smtps://mailer:***@mail.example.com:465")
        #expect(!settings.description.contains("hunter2"))
        #expect(!String(describing: settings).contains("hunter2"))
        #expect(!"\(settings)".contains("hunter2"))
        #expect(!String(reflecting: settings).contains("hunter2"))
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(!String(describing: try settings.transport()).contains("hunter2"))
        #expect(try MailSettings(url: "smtp://127.0.0.1:25?tls=none").description == "smtp://127.0.0.1:25?tls=none")
    }

    @Test func transportForTLSLoadsTheCAFile() throws {
        let ca = FileManager.default.temporaryDirectory.appendingPathComponent("lamba-settings-bad-\(UUID().uuidString).pem")
        try "not a certificate".write(to: ca, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: ca) }
        #expect(throws: MailError.self) { _ = try MailSettings(url: "smtps://mail.example.com?ca=\(ca.path)").transport() }
        #expect(try MailSettings(url: "smtps://mail.example.com").transport() is SMTPTransport)
    }
}
