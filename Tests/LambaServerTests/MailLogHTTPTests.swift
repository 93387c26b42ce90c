import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaMail
import LambaModel
import LambaOAuth
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Logging
import Testing

@Suite("mail delivery log over HTTP", .serialized)
struct MailLogHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    @Test("the console's mail log shows each mail's status and attempts, never its body, and only to its own Workspace's environment",
          arguments: Backend.underTest)
    func mailLog_showsAttempts_notBodies(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            _ = try await AccountRecoveryHTTPTests.forgot(client, &browser, email: Setup.email)

            // First a mail server that is not there: the attempt is a retry with the connection error.
            let closed = try SMTPTransport(settings: try MailSettings(url: "smtp://127.0.0.1:1?tls=none"))
            let down = MailDispatcher(store: dependencies.store, transport: closed, configuration: MailDispatchConfiguration(from: "no-reply@rides.example"),
                                      logger: Logger(label: "mail-test"))
            #expect(try await down.deliverDue() == 1)
            let path = "/console/v1/projects/\(setup.projectID)/environments/sandbox/mail"
            var log = try await client.execute(uri: path, method: .get, headers: bearer(setup.apiKey))
            #expect(log.status == .ok, "\(log.text)")
            var mail = try #require(log.json?["mail"]?.arrayValue?.first?.objectValue)
            #expect(mail["status"] == "queued" && mail["attempt_count"] == 1 && mail["kind"] == "password_reset" && mail["recipient"] == .string(Setup.email))
            let retry = try #require(mail["attempts"]?.arrayValue?.first?.objectValue)
            #expect(retry["outcome"] == "retry" && retry["detail"]?.stringValue?.isEmpty == false)
            #expect(mail["next_attempt_at"]?.stringValue != nil)

            // Then a real one, once the retry is due.
            let world = try MailWorld(dependencies)
            try await world.dispatcher.deliverDue(now: Date().addingTimeInterval(3600))
            #expect(try world.server.received().count == 1)
            log = try await client.execute(uri: path, method: .get, headers: bearer(setup.apiKey))
            mail = try #require(log.json?["mail"]?.arrayValue?.first?.objectValue)
            #expect(mail["status"] == "sent" && mail["attempt_count"] == 2 && mail["sent_at"]?.stringValue != nil)
            #expect(mail["attempts"]?.arrayValue?.compactMap { $0.objectValue?["outcome"]?.stringValue } == ["retry", "sent"])
            #expect(!log.text.contains("token=") && !log.text.contains("lmb_pr_"), "the reset link is a secret: no body in the log")

            #expect(try await client.execute(uri: path.replacingOccurrences(of: "sandbox", with: "production"), method: .get,
                                             headers: bearer(setup.apiKey)).json?["mail"] == [])
            let foreign = try await client.execute(uri: "/console/v1/projects/prj_notmine/environments/sandbox/mail", method: .get,
                                                   headers: bearer(setup.apiKey))
            #expect(foreign.status == .notFound)
            let bad = try await client.execute(uri: path + "?limit=0", method: .get, headers: bearer(setup.apiKey))
            #expect(bad.status == .badRequest)
        }
    }

    @Test("a Workspace's own sender address is what its mail comes from; a malformed one is refused", arguments: Backend.underTest)
    func workspaceSender_isTheFromAddress(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let bad = try await client.execute(uri: "/console/v1/workspace", method: .patch, headers: bearer(setup.apiKey), body: body(["mail_from": "not an address"]))
            #expect(bad.status == .badRequest && bad.json?["field"] == "mail_from", "\(bad.text)")
            let set = try await client.execute(uri: "/console/v1/workspace", method: .patch, headers: bearer(setup.apiKey),
                                               body: body(["mail_from": "Security@Rides.Example"]))
            #expect(set.status == .ok && set.json?["mail_from"] == "security@rides.example", "\(set.text)")
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            _ = try await AccountRecoveryHTTPTests.forgot(client, &browser, email: Setup.email)
            let world = try MailWorld(dependencies)
            try await world.dispatcher.deliverDue()
            let received = try #require(try world.server.received().first)
            #expect(received.mail_from == "security@rides.example" && received.from.contains("Rides <security@rides.example>"), "\(received.from)")
            let cleared = try await client.execute(uri: "/console/v1/workspace", method: .patch, headers: bearer(setup.apiKey), body: body(["mail_from": ""]))
            #expect(cleared.status == .ok && cleared.json?["mail_from"] == .null)
        }
    }
}
