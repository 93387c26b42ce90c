import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaMail
import LambaModel
import LambaOAuth
import LambaPasswords
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Logging
import Testing

/// A mail as the receiving SMTP server got it.
struct DeliveredMail {
    let text: String
    let subject: String
    let to: String

    /// The first link in the text that starts with `prefix`.
    func link(_ prefix: String) -> String? {
        text.components(separatedBy: .whitespacesAndNewlines).first { $0.hasPrefix(prefix) }
    }
}

/// A real SMTP server on 127.0.0.1 (aiosmtpd, with STARTTLS and AUTH) and the dispatcher that
/// delivers the outbox to it, as `lamba serve` does with `LAMBA_SMTP_URL`.
struct MailWorld {
    static let user = "lamba-mailer", password = "mailer password"
    let server: SMTPTestServer
    let dispatcher: MailDispatcher

    init(_ dependencies: ServerDependencies) throws {
        server = try SMTPTestServer(security: .startTLS, auth: (Self.user, Self.password))
        let certificates = try TestCertificates.shared.get()
        let settings = try MailSettings(url: "smtp://\(Self.user):\(Self.password.replacingOccurrences(of: " ", with: "%20"))@localhost:\(server.port)?ca=\(certificates.caFile)")
        dispatcher = MailDispatcher(store: dependencies.store, transport: try settings.transport(),
                                    configuration: MailDispatchConfiguration(from: "no-reply@rides.example"), logger: Logger(label: "mail-test"))
    }

    /// Delivers what is due and answers every mail the server received so far, in order.
    func deliver() async throws -> [DeliveredMail] {
        try await dispatcher.deliverDue()
        return try server.received().map { mail in
            #expect(mail.tls && mail.auth_login == Self.user, "delivered over TLS, authenticated")
            return DeliveredMail(text: (mail.text ?? "").replacingOccurrences(of: "\r\n", with: "\n"), subject: mail.subject, to: mail.to)
        }
    }
}

@Suite("account recovery over HTTP", .serialized)
struct AccountRecoveryHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    static func forgot(_ client: any TestClientProtocol, _ browser: inout Browser, email: String) async throws -> TestResponse {
        let page = try await browser.get(client, "/p/rides/sandbox/password/forgot")
        #expect(page.status == .ok)
        return try await browser.post(client, "/p/rides/sandbox/password/forgot", [
            ("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))), ("authz", ""), ("email", email),
        ])
    }

    @Test("password reset: the answer never tells whether an account exists; the link works once and ends every session of the user", arguments: Backend.underTest)
    func passwordReset_linkWorksOnce_andEndsEverySession(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let mail = try MailWorld(dependencies)
            let (access, refresh) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)

            // The sign-in page offers the way in.
            let authorize = try await browser.get(client, "/p/rides/sandbox/authorize?" + OAuthParameters.encode([
                ("response_type", "code"), ("client_id", setup.client.id), ("redirect_uri", Setup.redirect), ("scope", "openid"),
                ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
            ]))
            let login = try await browser.get(client, try #require(authorize.headers[.location]))
            #expect(login.text.contains("Forgot password?") && login.text.contains("/password/forgot?"))

            let known = try await Self.forgot(client, &browser, email: Setup.email)
            let unknown = try await Self.forgot(client, &browser, email: "nobody@example.com")
            #expect(known.status == .ok && unknown.status == .ok)
            #expect(known.text == unknown.text, "the same page either way")
            #expect(known.text.contains("Check your inbox"))

            let sent = try await mail.deliver()
            #expect(sent.count == 1, "only the known address gets mail")
            let reset = try #require(sent.first)
            #expect(reset.to == Setup.email && reset.subject.contains("Reset your Rides password") && reset.subject.hasPrefix("[sandbox]"))
            let link = try #require(reset.link(dependencies.configuration.publicBaseURL + "/p/rides/sandbox/password/reset?token="))
            let path = String(link.dropFirst(dependencies.configuration.publicBaseURL.count))

            let form = try await browser.get(client, path)
            #expect(form.status == .ok && form.text.contains("Choose a new password"))
            let short = try await browser.post(client, "/p/rides/sandbox/password/reset", [
                ("csrf_token", try #require(Browser.hidden(form.text, "csrf_token"))), ("token", try #require(Browser.hidden(form.text, "token"))),
                ("password", "short"),
            ])
            #expect(short.status == .badRequest && short.text.contains("at least 10 characters"))
            let done = try await browser.post(client, "/p/rides/sandbox/password/reset", [
                ("csrf_token", try #require(Browser.hidden(form.text, "csrf_token"))), ("token", try #require(Browser.hidden(form.text, "token"))),
                ("password", "a brand new password"),
            ])
            #expect(done.status == .ok && done.text.contains("Your password was changed"), "\(done.text)")

            // A credential change: what the old password opened is closed.
            #expect(try await InvalidationTriggerHTTPTests.introspect(client, setup, access) == ["active": false])
            let refreshed = try await InvalidationTriggerHTTPTests.refresh(client, setup, refresh)
            #expect(refreshed.status == .badRequest && refreshed.json?["error"] == "invalid_grant")
            let user = try #require(try await SQLIdentityStore(store: dependencies.store).read { tx in try tx.user(email: Setup.email) })
            #expect(try PasswordHasher.verify("a brand new password", against: try #require(user.passwordHash)))
            #expect(try !PasswordHasher.verify(Setup.password, against: try #require(user.passwordHash)))

            // Once only.
            #expect(try await browser.get(client, path).status == .badRequest)
            let again = try await browser.post(client, "/p/rides/sandbox/password/reset", [
                ("csrf_token", try #require(Browser.hidden(form.text, "csrf_token"))), ("token", try #require(Browser.hidden(form.text, "token"))),
                ("password", "yet another password"),
            ])
            #expect(again.status == .badRequest && again.text.contains("cannot be used"))
            // The user is told.
            let after = try await mail.deliver()
            #expect(after.count == 2 && after.contains { $0.subject.contains("password was changed") && $0.to == Setup.email })

            let audit = try await client.execute(uri: "/console/v1/audit?type=user.password_reset", method: .get, headers: bearer(setup.apiKey, json: false))
            let event = try #require(audit.json?["events"]?.arrayValue?.first?.objectValue)
            #expect(event["data"]?.objectValue?["runtime_scopes_revoked"] == .integer(1))
            // No secret in the log: the stored token is a hash, the mail is the only place its value is.
            let stored = try await dependencies.store.read { r in try r.query("SELECT token_hash FROM account_tokens", []).map { try $0.string("token_hash") } }
            #expect(stored.count == 1 && !link.contains(stored[0]))
        }
    }

    @Test("password reset links are rate-limited per user: past the limit the same answer, no mail", arguments: Backend.underTest)
    func passwordReset_rateLimited(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            _ = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let mail = try MailWorld(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            var pages: Set<String> = []
            for _ in 0..<(AccountRecovery.resetsPerHour + 2) {
                let answer = try await Self.forgot(client, &browser, email: Setup.email.uppercased())
                #expect(answer.status == .ok)
                pages.insert(answer.text)
            }
            #expect(pages.count == 1)
            #expect(try await mail.deliver().count == AccountRecovery.resetsPerHour)
            // A form without its CSRF token does nothing.
            let forged = try await browser.post(client, "/p/rides/sandbox/password/forgot", [("csrf_token", "x"), ("email", Setup.email)])
            #expect(forged.status == .forbidden)
        }
    }

    @Test("email verification: a registered user's email_verified is false until the mailed link is confirmed, once", arguments: Backend.underTest)
    func emailVerification_onRegister(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let mail = try MailWorld(dependencies)
            let access = try await EffectiveAuthorizationHTTPTests.registerThroughPublicClient(client, dependencies, email: "new@example.com")
            let before = try await client.execute(uri: "/p/open/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
            #expect(before.status == .ok && before.json?["email_verified"] == false, "\(before.text)")

            let sent = try await mail.deliver()
            let verification = try #require(sent.first { $0.subject.contains("Confirm your email") })
            #expect(verification.to == "new@example.com")
            let link = try #require(verification.link(dependencies.configuration.publicBaseURL + "/p/open/sandbox/email/verify?token="))
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let page = try await browser.get(client, String(link.dropFirst(dependencies.configuration.publicBaseURL.count)))
            #expect(page.status == .ok && page.text.contains("Confirm your email"))
            // Opening the link alone confirms nothing (mail scanners open links).
            let still = try await client.execute(uri: "/p/open/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
            #expect(still.json?["email_verified"] == false)
            let form: [(String, String)] = [("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))),
                                            ("token", try #require(Browser.hidden(page.text, "token")))]
            let confirmed = try await browser.post(client, "/p/open/sandbox/email/verify", form)
            #expect(confirmed.status == .ok && confirmed.text.contains("Email confirmed"), "\(confirmed.text)")
            let after = try await client.execute(uri: "/p/open/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
            #expect(after.json?["email_verified"] == true)
            #expect(try await browser.post(client, "/p/open/sandbox/email/verify", form).status == .badRequest)
        }
    }

    @Test("invites go out by email: the link opens the hosted acceptance page, which makes the membership only when submitted", arguments: Backend.underTest)
    func inviteByEmail_acceptedOnTheHostedPage(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let fixture = try await ConsoleFixture.make(dependencies)
            let mail = try MailWorld(dependencies)
            let project = try #require(fixture.ids["project_id"])
            let invited = try await client.execute(uri: "/console/v1/projects/\(project)/members", method: .post, headers: bearer(fixture.a.apiKeySecret),
                                                   body: body(["email": "guest@elsewhere.example", "roles": ["editor"]]))
            #expect(invited.status == .created, "\(invited.text)")
            let sent = try await mail.deliver()
            let invite = try #require(sent.first)
            #expect(sent.count == 1 && invite.to == "guest@elsewhere.example" && invite.subject.contains("Portal"))
            let base = dependencies.configuration.publicBaseURL
            let link = try #require(invite.link(base + "/console/invites/accept?token="))
            var browser = Browser(base: base)
            let page = try await browser.get(client, String(link.dropFirst(base.count)))
            #expect(page.status == .ok && page.text.contains("Accept your invite"))
            let identity = SQLIdentityStore(store: dependencies.store)
            #expect(try await identity.read { tx in try tx.user(email: "guest@elsewhere.example") } == nil, "opening the link makes nothing")

            let form: [(String, String)] = [
                ("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))), ("token", try #require(Browser.hidden(page.text, "token"))),
                ("email", "guest@elsewhere.example"), ("password", "a guest password"), ("name", "Guest"),
            ]
            let accepted = try await browser.post(client, "/console/invites/accept", form)
            #expect(accepted.status == .ok && accepted.text.contains("Invite accepted"), "\(accepted.text)")
            let user = try #require(try await identity.read { tx in try tx.user(email: "guest@elsewhere.example") })
            let member = try await identity.read { tx in try tx.projectMember(projectID: project, userID: user.id) }
            #expect(member?.roles == ["editor"] && member?.joinedVia == .invite)
            // The token is spent; a forged form token is refused.
            let again = try await browser.post(client, "/console/invites/accept", form)
            #expect(again.status == .badRequest)
            var forged = form
            forged[0] = ("csrf_token", "forged")
            #expect(try await browser.post(client, "/console/invites/accept", forged).text.contains("The form expired"))
        }
    }

    @Test("an environment that requires a verified email admits an unverified user only once they have confirmed it", arguments: Backend.underTest)
    func requireVerifiedEmail_refusesUntilVerified(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let changed = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/environments/sandbox", method: .patch,
                                                   headers: bearer(setup.apiKey), body: body(["require_verified_email": true]))
            #expect(changed.status == .ok && changed.json?["require_verified_email"] == true, "\(changed.text)")
            let identity = SQLIdentityStore(store: dependencies.store)
            try await identity.write { tx in
                guard var user = try tx.user(email: Setup.email) else { return }
                user.emailVerified = false
                try tx.update(user)
            }
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            var response = try await browser.get(client, "/p/rides/sandbox/authorize?" + OAuthParameters.encode([
                ("response_type", "code"), ("client_id", setup.client.id), ("redirect_uri", Setup.redirect), ("scope", "openid"),
                ("state", "s1"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
            ]))
            response = try await browser.get(client, try #require(response.headers[.location]))
            response = try await browser.post(client, dependencies.configuration.publicBaseURL + "/p/rides/sandbox/login", [
                ("csrf_token", try #require(Browser.hidden(response.text, "csrf_token"))), ("authz", try #require(Browser.hidden(response.text, "authz"))),
                ("email", Setup.email), ("password", Setup.password),
            ])
            while let next = response.headers[.location], !next.hasPrefix(Setup.redirect) { response = try await browser.get(client, next) }
            let refused = try #require(response.headers[.location])
            #expect(refused.contains("error=access_denied") && !refused.contains("code="), "\(refused)")

            try await identity.write { tx in
                guard var user = try tx.user(email: Setup.email) else { return }
                user.emailVerified = true
                try tx.update(user)
            }
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            #expect(try await InvalidationTriggerHTTPTests.introspect(client, setup, access)["active"] == .bool(true))
        }
    }
}
