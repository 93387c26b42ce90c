import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaPasswords
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// docs/account-recovery.md#email-change, through a real server and a real SMTP server.
@Suite("email change over HTTP", .serialized)
struct EmailChangeHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    static func userinfo(_ client: any TestClientProtocol, _ access: String) async throws -> JSONObject {
        let response = try await client.execute(uri: "/p/rides/sandbox/userinfo", method: .get, headers: [.authorization: "Bearer " + access])
        #expect(response.status == .ok, "\(response.text)")
        return try #require(response.json)
    }

    static func requestChange(_ client: any TestClientProtocol, _ access: String, to email: String, password: String = Setup.password) async throws -> TestResponse {
        try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/email", access, form: [("email", email), ("current_password", password)])
    }

    @Test("the change waits for the link mailed to the new address; the page does not use it up; confirming applies it once, here only",
          arguments: Backend.underTest)
    func emailChange_confirmedByMailedLink_once_inItsEnvironment(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let mail = try MailWorld(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let base = dependencies.configuration.publicBaseURL

            // A token alone does not move the account: the current password is required, and a wrong one is refused.
            let missing = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/email", access, form: [("email", "new@example.com")])
            #expect(missing.status == .badRequest && missing.json?["error_description"] == "current_password is required", "\(missing.text)")
            let wrong = try await Self.requestChange(client, access, to: "new@example.com", password: "not it at all")
            #expect(wrong.status == .badRequest && wrong.json?["error_description"] == "the current password is wrong", "\(wrong.text)")
            let malformed = try await Self.requestChange(client, access, to: "not an address")
            #expect(malformed.status == .badRequest && malformed.json?["error_description"] == "email is not an email address", "\(malformed.text)")
            #expect(try await mail.deliver().isEmpty, "refusals send nothing")

            let asked = try await Self.requestChange(client, access, to: "New@Example.com")
            #expect(asked.status == .accepted && asked.json?["pending_email"] == "new@example.com", "\(asked.text)")
            let me = try await SecondFactorSelfServiceHTTPTests.call(client, .get, "/me", access)
            #expect(me.json?["pending_email"] == "new@example.com" && me.json?["email"] == .string(Setup.email), "\(me.text)")
            #expect(try await Self.userinfo(client, access)["email"] == .string(Setup.email), "nothing changed yet")

            let sent = try await mail.deliver()
            #expect(sent.count == 2, "\(sent.map(\.subject))")
            let confirmation = try #require(sent.first { $0.to == "new@example.com" })
            #expect(confirmation.subject == "[sandbox] Confirm your new email for Rides")
            let notice = try #require(sent.first { $0.to == Setup.email })
            #expect(notice.subject == "[sandbox] Your Rides email is about to change" && notice.text.contains("new@example.com"))
            #expect(notice.link(base) == nil, "the old address gets no link")
            let link = try #require(confirmation.link(base + "/p/rides/sandbox/email/change?token="))
            let token = String(link.dropFirst((base + "/p/rides/sandbox/email/change?token=").count))

            // Opening the link (as a mail scanner does) shows the change and uses nothing up.
            var browser = Browser(base: base)
            _ = try await browser.get(client, String(link.dropFirst(base.count)))
            let page = try await browser.get(client, String(link.dropFirst(base.count)))
            #expect(page.status == .ok && page.text.contains("Confirm your new email") && page.text.contains("new@example.com"), "\(page.text)")
            #expect(try await Self.userinfo(client, access)["email"] == .string(Setup.email))
            let csrf = try #require(Browser.hidden(page.text, "csrf_token"))

            // The link belongs to the sandbox of Rides: production neither shows nor applies it.
            let foreignPage = try await browser.get(client, "/p/rides/production/email/change?token=" + token)
            #expect(foreignPage.status == .badRequest && foreignPage.text.contains("This link cannot be used"))
            let productionForm = try await browser.get(client, "/p/rides/production/password/forgot")
            #expect(productionForm.status == .ok)
            let foreign = try await browser.post(client, "/p/rides/production/email/change", [
                ("csrf_token", try #require(Browser.hidden(productionForm.text, "csrf_token"))), ("token", token),
            ])
            #expect(foreign.status == .badRequest && foreign.text.contains("This link cannot be used"), "\(foreign.text)")
            #expect(try await Self.userinfo(client, access)["email"] == .string(Setup.email))

            let confirmed = try await browser.post(client, "/p/rides/sandbox/email/change", [("csrf_token", csrf), ("token", token)])
            #expect(confirmed.status == .ok && confirmed.text.contains("Email changed") && confirmed.text.contains("new@example.com"), "\(confirmed.text)")

            // Not a credential change: the same token still works, and userinfo answers the new address, verified.
            let info = try await Self.userinfo(client, access)
            #expect(info["email"] == "new@example.com" && info["email_verified"] == true, "\(info)")
            #expect(try await SecondFactorSelfServiceHTTPTests.call(client, .get, "/me", access).json?["pending_email"] == .null)
            let event = try #require(try await SecondFactorHTTPTests.events(dependencies, "user.email_changed").first)
            #expect(event.data.contains("\"email\":\"new@example.com\"") && event.data.contains("\"previous_email\":\"rider@example.com\""), "\(event.data)")
            #expect(event.projectID == setup.projectID && event.environment == "sandbox")

            // Once only.
            let replay = try await browser.post(client, "/p/rides/sandbox/email/change", [("csrf_token", csrf), ("token", token)])
            #expect(replay.status == .badRequest && replay.text.contains("This link cannot be used"))
            #expect(try await browser.get(client, String(link.dropFirst(base.count))).status == .badRequest)
            // A forged form does nothing.
            let forged = try await browser.post(client, "/p/rides/sandbox/email/change", [("csrf_token", "forged"), ("token", token)])
            #expect(forged.status == .forbidden)
        }
    }

    @Test("an address that another account took while the link waited is refused with a clear error, and the email stays", arguments: Backend.underTest)
    func emailChange_addressTakenMeanwhile_refused(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let mail = try MailWorld(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let base = dependencies.configuration.publicBaseURL

            // A request does not say whether the address has an account (docs/account-recovery.md#no-account-oracle).
            let asked = try await Self.requestChange(client, access, to: "taken@example.com")
            #expect(asked.status == .accepted, "\(asked.text)")
            // Meanwhile the address becomes another account's.
            let identity = SQLIdentityStore(store: dependencies.store)
            let other = LambaUser(email: "taken@example.com", emailVerified: true, name: "Other", passwordHash: nil)
            try await identity.write { tx in try tx.insert(other) }

            let confirmation = try #require(try await mail.deliver().first { $0.to == "taken@example.com" })
            let link = try #require(confirmation.link(base + "/p/rides/sandbox/email/change?token="))
            var browser = Browser(base: base)
            let page = try await browser.get(client, String(link.dropFirst(base.count)))
            #expect(page.status == .ok)
            let refused = try await browser.post(client, "/p/rides/sandbox/email/change", [
                ("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))), ("token", try #require(Browser.hidden(page.text, "token"))),
            ])
            #expect(refused.status == .conflict && refused.text.contains("taken@example.com belongs to another account now"), "\(refused.text)")
            #expect(try await Self.userinfo(client, access)["email"] == .string(Setup.email))
            #expect(try await identity.read { tx in try tx.user(id: other.id) }?.email == "taken@example.com")
            #expect(try await SecondFactorHTTPTests.events(dependencies, "user.email_changed").isEmpty)

            // A newer request voids the older link, and the same address as now is no change.
            let again = try await Self.requestChange(client, access, to: "fresh@example.com")
            #expect(again.status == .accepted)
            let stale = try await browser.post(client, "/p/rides/sandbox/email/change", [
                ("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))), ("token", try #require(Browser.hidden(page.text, "token"))),
            ])
            #expect(stale.status == .badRequest && stale.text.contains("This link cannot be used"))
            let same = try await Self.requestChange(client, access, to: Setup.email)
            #expect(same.status == .badRequest && same.json?["error_description"] == "email is the account's email already", "\(same.text)")

            // At most five links an hour; past that the request is refused, sends nothing, and the event says so.
            for n in 3...EmailChange.requestsPerHour {
                #expect(try await Self.requestChange(client, access, to: "try\(n)@example.com").status == .accepted)
            }
            let queued = try await mail.deliver().count
            let throttled = try await Self.requestChange(client, access, to: "one-more@example.com")
            #expect(throttled.status == .conflict && throttled.json?["error"] == "refused", "\(throttled.text)")
            #expect(try await mail.deliver().count == queued)
            #expect(try await SecondFactorHTTPTests.events(dependencies, "user.account_link_throttled").count == 1)
        }
    }
    @Test("a user without a password (social sign-in) changes the email with a recent sign-in instead (RFC 9470)", arguments: Backend.underTest)
    func emailChange_withoutPassword_needsRecentSignIn(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let identity = SQLIdentityStore(store: dependencies.store)
            var user = try #require(try await identity.read { tx in try tx.user(email: Setup.email) })
            user.passwordHash = nil
            let passwordless = user
            try await identity.write { tx in try tx.update(passwordless) }

            // A sign-in twenty minutes old is too old.
            let sessions = try await identity.read { tx in try AccountLinking.sessions(tx, userID: passwordless.id, workspaceID: setup.client.workspaceID) }
            var session = try #require(sessions.first?.session)
            let signedInAt = session.authTime
            session.authTime = signedInAt.addingTimeInterval(-1200)
            let aged = session
            try await identity.write { tx in try tx.update(aged) }
            let stale = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/email", access, form: [("email", "new@example.com")])
            #expect(stale.status == .unauthorized && stale.json?["error"] == "insufficient_user_authentication", "\(stale.text)")
            #expect(stale.headers[.wwwAuthenticate]?.contains("max_age=600") == true)

            session.authTime = signedInAt
            let fresh = session
            try await identity.write { tx in try tx.update(fresh) }
            let asked = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/email", access, form: [("email", "new@example.com")])
            #expect(asked.status == .accepted && asked.json?["pending_email"] == "new@example.com", "\(asked.text)")
        }
    }
}
