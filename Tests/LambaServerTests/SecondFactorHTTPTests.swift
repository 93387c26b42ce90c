import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaServer
import LambaStore
import LambaStoreTestSupport
import Testing

/// The second step of hosted sign-in over HTTP (docs/account-security.md): authenticator-app
/// enrolment, codes, recovery codes, step-up by `acr_values`, and the `amr`/`acr` the ID token carries.
@Suite("second factor over HTTP", .serialized)
struct SecondFactorHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup
    static let issuerPath = "/p/rides/sandbox"

    /// An authenticator app: the code for a time step, from the secret the enrolment page showed.
    struct AuthenticatorApp {
        let secret: [UInt8]

        init(page: String) throws {
            let marker = "<code class=\"secret\">"
            let start = try #require(page.range(of: marker)).upperBound
            let end = try #require(page[start...].range(of: "</code>")).lowerBound
            secret = try Self.base32Decode(page[start..<end].replacingOccurrences(of: " ", with: ""))
        }

        func code(step: Int64) -> String { TOTP.code(secret: secret, step: step) }
        func code(at date: Date = Date(), offset: Int64 = 0) -> String { code(step: TOTP.step(at: date) + offset) }

        static func base32Decode(_ text: String) throws -> [UInt8] {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            var out: [UInt8] = [], buffer = 0, bits = 0
            for character in text {
                let value = try #require(alphabet.firstIndex(of: character))
                buffer = (buffer << 5) | value
                bits += 5
                if bits >= 8 {
                    out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                    bits -= 8
                }
            }
            return out
        }
    }

    static func authorizeQuery(_ setup: Setup, extra: [(String, String)] = []) -> String {
        OAuthParameters.encode([
            ("response_type", "code"), ("client_id", setup.client.id), ("redirect_uri", Setup.redirect), ("scope", "openid email"),
            ("state", "s1"), ("nonce", "n1"), ("code_challenge", OpenIDProviderHTTPTests.challenge), ("code_challenge_method", "S256"),
        ] + extra)
    }

    /// authorize → login → the page `/authorize` sends the signed-in browser to next.
    static func signInWithPassword(_ client: any TestClientProtocol, _ browser: inout Browser, _ setup: Setup,
                                   extra: [(String, String)] = []) async throws -> TestResponse {
        var response = try await browser.get(client, issuerPath + "/authorize?" + authorizeQuery(setup, extra: extra))
        response = try await browser.get(client, try #require(response.headers[.location]))
        let html = response.text
        response = try await browser.post(client, issuerPath + "/login", [
            ("csrf_token", try #require(Browser.hidden(html, "csrf_token"))), ("authz", try #require(Browser.hidden(html, "authz"))),
            ("email", Setup.email), ("password", Setup.password),
        ])
        #expect(response.status == .seeOther, "\(response.text)")
        return try await browser.get(client, try #require(response.headers[.location]))
    }

    static func submitCode(_ client: any TestClientProtocol, _ browser: inout Browser, page: TestResponse, _ code: String) async throws -> TestResponse {
        try await browser.post(client, issuerPath + "/second-factor", [
            ("csrf_token", try #require(Browser.hidden(page.text, "csrf_token"))), ("authz", try #require(Browser.hidden(page.text, "authz"))),
            ("code", code),
        ])
    }

    /// The callback's code exchanged at the token endpoint; the ID token's claims.
    static func idTokenClaims(_ client: any TestClientProtocol, _ browser: inout Browser, _ setup: Setup, callback: TestResponse) async throws -> JSONObject {
        let location = try #require(callback.headers[.location])
        #expect(location.hasPrefix(Setup.redirect + "?"), "\(location)")
        let parameters = try OAuthParameters.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
        let code = try #require(try parameters.single("code"))
        let token = try await client.execute(uri: issuerPath + "/token", method: .post, headers: InvalidationTriggerHTTPTests.backChannel(setup),
                                             body: ByteBuffer(string: OAuthParameters.encode([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Setup.redirect), ("code_verifier", OpenIDProviderHTTPTests.verifier),
        ])))
        #expect(token.status == .ok, "\(token.text)")
        let claims = try payload(try #require(token.json?["id_token"]?.stringValue))
        // OIDC Core §12.2: the ID token a refresh yields tells how the user signed in, as the first did.
        let refreshToken = try #require(token.json?["refresh_token"]?.stringValue)
        let refreshed = try await client.execute(uri: issuerPath + "/token", method: .post, headers: InvalidationTriggerHTTPTests.backChannel(setup),
                                                 body: ByteBuffer(string: OAuthParameters.encode([
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken),
        ])))
        #expect(refreshed.status == .ok, "\(refreshed.text)")
        let again = try payload(try #require(refreshed.json?["id_token"]?.stringValue))
        #expect(again["amr"] == claims["amr"] && again["acr"] == claims["acr"] && again["auth_time"] == claims["auth_time"],
                "a refreshed ID token: \(again)")
        return claims
    }

    static func payload(_ jwt: String) throws -> JSONObject {
        try #require(try JSON.decode(try Base64URL.decode(String(jwt.split(separator: ".")[1]))).objectValue)
    }

    static func enableRequireMFA(_ client: any TestClientProtocol, _ setup: Setup) async throws {
        let changed = try await client.execute(uri: "/console/v1/projects/\(setup.projectID)/environments/sandbox", method: .patch,
                                               headers: bearer(setup.apiKey), body: body(["require_mfa": true]))
        #expect(changed.status == .ok && changed.json?["require_mfa"] == true, "\(changed.text)")
    }

    static func events(_ dependencies: ServerDependencies, _ type: String) async throws -> [OutboxEvent] {
        try await dependencies.store.read { reader in try reader.events(after: 0, limit: 10_000).map(\.event) }.filter { $0.type == type }
    }

    @Test("RFC 6238 under require_mfa: enrolment with a QR code, then every password sign-in asks for a code, and a used code is refused",
          arguments: Backend.underTest)
    func requireMFA_enrolsThenAsksEverySignIn_andRefusesReplay(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            try await Self.enableRequireMFA(client, setup)

            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let next = try await Self.signInWithPassword(client, &browser, setup)
            let location = try #require(next.headers[.location])
            #expect(location.contains("/second-factor?"), "a password alone does not finish the sign-in: \(location)")
            let enrol = try await browser.get(client, location)
            #expect(enrol.status == .ok && enrol.text.contains("Set up two-step verification"))
            #expect(enrol.text.contains("<svg") && enrol.text.contains("<path"), "the QR code is drawn into the page")
            #expect(!enrol.text.contains("<script"), "no script on the page")
            let app = try AuthenticatorApp(page: enrol.text)
            #expect(app.secret.count == TOTP.secretByteCount)
            // The same secret until it is confirmed: a reload does not invalidate what was scanned.
            #expect(try AuthenticatorApp(page: try await browser.get(client, location).text).secret == app.secret)

            let wrong = try await Self.submitCode(client, &browser, page: enrol, app.code(offset: 5))
            #expect(wrong.status == .badRequest && wrong.text.contains("code is not right"), "\(wrong.text)")
            // The step whose code confirms the app: that code is spent from now on.
            let enrolStep = TOTP.step(at: Date())
            let confirmed = try await Self.submitCode(client, &browser, page: enrol, app.code(step: enrolStep))
            #expect(confirmed.status == .ok && confirmed.text.contains("Save your recovery codes"), "\(confirmed.text)")
            let recoveryCodes = confirmed.text.components(separatedBy: "<li><code>").dropFirst().map { String($0.prefix(11)) }
            #expect(recoveryCodes.count == RecoveryCodes.count && recoveryCodes.allSatisfy { RecoveryCodes.normalize($0) != nil })
            let resume = try #require(confirmed.text.components(separatedBy: "class=\"button\" href=\"").dropFirst().first?.split(separator: "\"").first)
            let callback = try await browser.get(client, String(resume).replacingOccurrences(of: "&amp;", with: "&"))
            let claims = try await Self.idTokenClaims(client, &browser, setup, callback: callback)
            #expect(claims["amr"] == ["pwd", "otp", "mfa"])
            #expect(claims["acr"] == .string(AuthenticationContextClass.multiFactor.rawValue))
            #expect(try await Self.events(dependencies, "user.totp_enrolled").count == 1)
            #expect(try await Self.events(dependencies, "session.stepped_up").count == 1)
            let stored = try #require(try await SQLIdentityStore(store: dependencies.store).read { tx in
                try tx.user(email: Setup.email).flatMap { try tx.totpCredential(userID: $0.id) }
            })
            #expect(!stored.sealedSecret.contains(subsequence: app.secret), "the secret is stored sealed, never in the clear")

            // A new browser: the code the enrolment used is spent; the next one works.
            var second = Browser(base: dependencies.configuration.publicBaseURL)
            let ask = try await second.get(client, try #require(try await Self.signInWithPassword(client, &second, setup).headers[.location]))
            #expect(ask.text.contains("Enter your code") && !ask.text.contains("<svg"))
            let replayed = try await Self.submitCode(client, &second, page: ask, app.code(step: enrolStep))
            #expect(replayed.status == .badRequest && replayed.text.contains("not right"), "a used code is refused (RFC 6238 §5.2)")
            // A step not used yet and within the allowed drift, however long the run took so far.
            let accepted = try await Self.submitCode(client, &second, page: ask, app.code(step: max(TOTP.step(at: Date()), enrolStep + 1)))
            #expect(accepted.status == .seeOther, "\(accepted.text)")
            let secondClaims = try await Self.idTokenClaims(client, &second, setup, callback: try await second.get(client, try #require(accepted.headers[.location])))
            #expect(secondClaims["acr"] == .string(AuthenticationContextClass.multiFactor.rawValue))

            // A recovery code works once.
            var third = Browser(base: dependencies.configuration.publicBaseURL)
            let askAgain = try await third.get(client, try #require(try await Self.signInWithPassword(client, &third, setup).headers[.location]))
            let recovered = try await Self.submitCode(client, &third, page: askAgain, recoveryCodes[0].uppercased())
            #expect(recovered.status == .seeOther, "\(recovered.text)")
            var fourth = Browser(base: dependencies.configuration.publicBaseURL)
            let askOnceMore = try await fourth.get(client, try #require(try await Self.signInWithPassword(client, &fourth, setup).headers[.location]))
            let reused = try await Self.submitCode(client, &fourth, page: askOnceMore, recoveryCodes[0])
            #expect(reused.status == .badRequest)
            #expect(try await Self.events(dependencies, "user.recovery_code_used").first?.data.contains("\"recovery_codes_left\":9") == true)
        }
    }

    @Test("OIDC Core §3.1.2.1: acr_values asks a password session for a second factor; prompt=none cannot give one", arguments: Backend.underTest)
    func acrValues_stepsUpAPasswordSession(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            // No app and no requirement: one factor, and the ID token says so.
            let callback = try await Self.signInWithPassword(client, &browser, setup)
            let claims = try await Self.idTokenClaims(client, &browser, setup, callback: callback)
            #expect(claims["amr"] == ["pwd"] && claims["acr"] == .string(AuthenticationContextClass.singleFactor.rawValue))

            let multi = [("acr_values", AuthenticationContextClass.multiFactor.rawValue)]
            let silent = try await browser.get(client, Self.issuerPath + "/authorize?" + Self.authorizeQuery(setup, extra: multi + [("prompt", "none")]))
            let silentLocation = try #require(silent.headers[.location])
            #expect(silentLocation.hasPrefix(Setup.redirect) && silentLocation.contains("error=interaction_required"), "\(silentLocation)")

            let stepUp = try await browser.get(client, Self.issuerPath + "/authorize?" + Self.authorizeQuery(setup, extra: multi))
            let location = try #require(stepUp.headers[.location])
            #expect(location.contains("/second-factor?"), "the signed-in session steps up, it does not sign in again: \(location)")
            let enrol = try await browser.get(client, location)
            let app = try AuthenticatorApp(page: enrol.text)
            let confirmed = try await Self.submitCode(client, &browser, page: enrol, app.code())
            #expect(confirmed.status == .ok && confirmed.text.contains("Save your recovery codes"))

            // Discovery advertises exactly the values issued.
            let metadata = try await client.execute(uri: Self.issuerPath + "/.well-known/openid-configuration", method: .get)
            #expect(metadata.json?["acr_values_supported"] == .array(AuthenticationContextClass.allCases.map { .string($0.rawValue) }))
        }
    }

    @Test("a second-step form without a session, with a foreign CSRF token or with an oversized code changes nothing", arguments: Backend.underTest)
    func secondStep_hostileForms(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            try await Self.enableRequireMFA(client, setup)
            var browser = Browser(base: dependencies.configuration.publicBaseURL)
            let location = try #require(try await Self.signInWithPassword(client, &browser, setup).headers[.location])
            let enrol = try await browser.get(client, location)

            var stranger = Browser(base: dependencies.configuration.publicBaseURL)
            let noSession = try await stranger.get(client, location)
            #expect(noSession.status == .seeOther && noSession.headers[.location]?.contains("/login?") == true)
            let forged = try await stranger.post(client, Self.issuerPath + "/second-factor", [
                ("csrf_token", try #require(Browser.hidden(enrol.text, "csrf_token"))), ("authz", try #require(Browser.hidden(enrol.text, "authz"))),
                ("code", "123456"),
            ])
            // Refused as a form that expired; with no session the stranger is sent to sign in.
            #expect(forged.status == .seeOther && forged.headers[.location]?.contains("/login?") == true, "\(forged.status)")
            let huge = try await Self.submitCode(client, &browser, page: enrol, String(repeating: "9", count: 5000))
            #expect(huge.status == .badRequest && !huge.text.contains("99999999"))
            #expect(try await Self.events(dependencies, "user.totp_enrolled").isEmpty)
        }
    }
}

extension [UInt8] {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, count >= subsequence.count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}

@Suite("second factor self-service over HTTP", .serialized)
struct SecondFactorSelfServiceHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    static func call(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ access: String,
                     form: [(String, String)]? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer " + access]
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await client.execute(uri: "/p/rides/sandbox" + path, method: method, headers: headers,
                                        body: form.map { ByteBuffer(string: OAuthParameters.encode($0)) })
    }

    @Test("/me/factors: set up an app with a code, read the state, and remove it only with a recent sign-in (RFC 9470)", arguments: Backend.underTest)
    func selfService_enrolAndRemove_needsRecentAuthentication(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let (access, _) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            #expect(try await Self.call(client, .get, "/me/factors", access).json?["totp"]?.objectValue?["status"] == "none")

            let started = try await Self.call(client, .post, "/me/factors/totp", access)
            #expect(started.status == .created, "\(started.text)")
            let secret = try SecondFactorHTTPTests.AuthenticatorApp.base32Decode(try #require(started.json?["secret"]?.stringValue))
            #expect(started.json?["otpauth_uri"]?.stringValue?.hasPrefix("otpauth://totp/Rides:rider@example.com?secret=") == true)
            #expect(try await Self.call(client, .get, "/me/factors", access).json?["totp"]?.objectValue?["status"] == "pending")

            let wrong = try await Self.call(client, .post, "/me/factors/totp/confirm", access, form: [("code", "000000x")])
            #expect(wrong.status == .badRequest && wrong.json?["error"] == "invalid_request")
            let confirmed = try await Self.call(client, .post, "/me/factors/totp/confirm", access,
                                                form: [("code", TOTP.code(secret: secret, step: TOTP.step(at: Date())))])
            #expect(confirmed.status == .ok && confirmed.json?["recovery_codes"]?.arrayValue?.count == RecoveryCodes.count, "\(confirmed.text)")
            #expect(try await Self.call(client, .get, "/me", access).json?["totp_enabled"] == true)
            let again = try await Self.call(client, .post, "/me/factors/totp", access)
            #expect(again.status == .conflict, "a second app needs the first removed")

            // A sign-in twenty minutes old is too old to remove a factor.
            let identity = SQLIdentityStore(store: dependencies.store)
            let userID = try #require(try await identity.read { tx in try tx.user(email: Setup.email) }).id
            let sessions = try await identity.read { tx in try AccountLinking.sessions(tx, userID: userID, workspaceID: setup.client.workspaceID) }
            var session = try #require(sessions.first?.session)
            let signedInAt = session.authTime
            session.authTime = signedInAt.addingTimeInterval(-1200)
            let aged = session
            try await identity.write { tx in try tx.update(aged) }
            let stale = try await Self.call(client, .delete, "/me/factors/totp", access)
            #expect(stale.status == .unauthorized && stale.json?["error"] == "insufficient_user_authentication")
            #expect(stale.headers[.wwwAuthenticate]?.contains("error=\"insufficient_user_authentication\"") == true)
            #expect(stale.headers[.wwwAuthenticate]?.contains("max_age=600") == true)
            #expect(try await Self.call(client, .post, "/me/factors/recovery-codes", access).status == .unauthorized)

            session.authTime = signedInAt
            let fresh = session
            try await identity.write { tx in try tx.update(fresh) }
            let codes = try await Self.call(client, .post, "/me/factors/recovery-codes", access)
            #expect(codes.status == .ok && codes.json?["recovery_codes"]?.arrayValue?.count == RecoveryCodes.count)
            #expect(try await Self.call(client, .delete, "/me/factors/totp", access).status == .noContent)
            #expect(try await Self.call(client, .delete, "/me/factors/totp", access).status == .notFound)
            #expect(try await SecondFactorHTTPTests.events(dependencies, "user.totp_removed").count == 1)
        }
    }
}

@Suite("password change over HTTP", .serialized)
struct PasswordChangeHTTPTests {
    typealias Setup = InvalidationTriggerHTTPTests.Setup

    @Test("/me/password: the current password is required, and a change ends every session of the user", arguments: Backend.underTest)
    func changePassword_needsCurrent_andEndsSessions(backend: Backend) async throws {
        try await withServer(backend, maxRequestBodySize: 64 * 1024) { client, dependencies in
            let setup = try await InvalidationTriggerHTTPTests.setUp(dependencies)
            let (access, refresh) = try await InvalidationTriggerHTTPTests.signIn(client, dependencies, setup)
            let wrong = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/password", access, form: [
                ("current_password", "not it at all"), ("new_password", "a brand new password"),
            ])
            #expect(wrong.status == .badRequest && wrong.json?["error_description"] == "the current password is wrong", "\(wrong.text)")
            let short = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/password", access, form: [
                ("current_password", Setup.password), ("new_password", "short"),
            ])
            #expect(short.status == .badRequest)
            #expect(try await InvalidationTriggerHTTPTests.introspect(client, setup, access)["active"] == .bool(true), "refusals change nothing")

            let changed = try await SecondFactorSelfServiceHTTPTests.call(client, .post, "/me/password", access, form: [
                ("current_password", Setup.password), ("new_password", "a brand new password"),
            ])
            #expect(changed.status == .noContent, "\(changed.text)")
            #expect(try await InvalidationTriggerHTTPTests.introspect(client, setup, access) == ["active": false])
            let refreshed = try await InvalidationTriggerHTTPTests.refresh(client, setup, refresh)
            #expect(refreshed.status == .badRequest && refreshed.json?["error"] == "invalid_grant")
            let event = try #require(try await SecondFactorHTTPTests.events(dependencies, "user.password_changed").first)
            #expect(event.data.contains("\"sessions_revoked\":1"))
            let mail = try await dependencies.store.read { reader in
                try reader.query("SELECT kind, recipient FROM mail_outbox WHERE kind = 'password_changed'", [])
            }
            #expect(mail.count == 1, "the user is told by mail")
        }
    }
}
