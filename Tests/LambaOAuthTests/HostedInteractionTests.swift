import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Testing

/// The flows behind the hosted pages (docs/access-model.md#member-lifecycle): no layer is a
/// fallback for another, public join and register, RP-initiated logout, CSRF on every form.
@Suite("Hosted interaction", .serialized)
struct HostedInteractionTests {
    func form(_ f: Fixture, _ csrf: String, _ pairs: [(String, String)]) -> OAuthParameters {
        OAuthParameters([("csrf_token", f.provider.interaction.csrfToken(cookie: csrf))] + pairs)
    }

    @Test("No fallback: a Team Member without Project membership gets access_denied, not runtime access", arguments: Backend.underTest)
    func test_teamMemberWithoutMembership_getsAccessDenied(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let production = try await f.context("alpha", "production")
        let session = try await f.login(production, client: f.productionClient, email: "owner@example.com", password: "owner password 1")
        let outcome = await f.authorize(production, f.authorizeParameters(client: f.productionClient), session: session)
        #expect(outcome.redirectParameters?["error"] == "access_denied")
    }

    @Test("Public and private Projects: public join from the hosted page makes a viewer and enters the Project", arguments: Backend.underTest)
    func test_publicJoin_fromHostedPage_entersProject(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        // The owner is no Project Member of alpha; alpha's sandbox allows public join.
        let session = try await f.login(ctx, client: f.confidential, email: "owner@example.com", password: "owner password 1")
        guard case .interaction(let interaction) = await f.authorize(ctx, f.authorizeParameters(client: f.confidential), session: session) else {
            Issue.record("expected the join page")
            return
        }
        #expect(interaction.kind == .join)
        let csrf = HostedInteraction.newCSRFCookie()
        let result = await f.provider.interaction.join(ctx, form: form(f, csrf, [("authz", interaction.resumeQuery)]), sessionToken: session, csrfCookie: csrf)
        guard case .resume = result else { Issue.record("join failed: \(result)"); return }
        let code = try await f.code(ctx, client: f.confidential, session: session)
        let tokens = await f.exchange(ctx, code: code)
        let access = try #require(tokens.object["access_token"]?.stringValue)
        let check = try await f.accessCheck(ctx, access, "project:read")
        #expect(check["allowed"] == .bool(true))
        #expect(check["roles"] == .array(["viewer"]))
        #expect(try await f.accessCheck(ctx, access, "project:write")["allowed"] == .bool(false))
    }

    @Test("Member lifecycle: hosted signup registers a user who becomes a member and gets a code", arguments: Backend.underTest)
    func test_signup_registersMember(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let csrf = HostedInteraction.newCSRFCookie()
        let authz = OAuthParameters.encode(f.authorizeParameters(client: f.confidential))
        let result = await f.provider.interaction.signup(ctx, form: form(f, csrf, [
            ("authz", authz), ("name", "New Person"), ("email", "new@example.com"), ("password", "a long enough password"),
        ]), csrfCookie: csrf)
        guard case .resume(_, let session?) = result else { Issue.record("signup failed: \(result)"); return }
        _ = try await f.code(ctx, client: f.confidential, session: session)
        let short = await f.provider.interaction.signup(ctx, form: form(f, csrf, [
            ("authz", authz), ("name", "Short"), ("email", "short@example.com"), ("password", "short"),
        ]), csrfCookie: csrf)
        guard case .failed = short else { Issue.record("a short password was accepted"); return }
    }

    @Test("CSRF: a hosted form without the token bound to the browser's cookie is refused", arguments: Backend.underTest)
    func test_csrf_formWithoutMatchingToken_refused(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let authz = OAuthParameters.encode(f.authorizeParameters(client: f.confidential))
        let csrf = HostedInteraction.newCSRFCookie()
        let other = HostedInteraction.newCSRFCookie()
        let result = await f.provider.interaction.login(ctx, form: form(f, other, [
            ("authz", authz), ("email", f.member.email), ("password", Fixture.password),
        ]), csrfCookie: csrf)
        guard case .failed = result else { Issue.record("forged login accepted: \(result)"); return }
        let wrong = await f.provider.interaction.login(ctx, form: form(f, csrf, [
            ("authz", authz), ("email", "nobody@example.com"), ("password", Fixture.password),
        ]), csrfCookie: csrf)
        guard case .failed(let message) = wrong else { Issue.record("unknown email accepted"); return }
        #expect(message == "email or password is wrong")
    }

    @Test("RP-Initiated Logout 1.0 §2-3: the confirmed logout ends the session and its scopes, then returns with state", arguments: Backend.underTest)
    func test_rpInitiatedLogout_endsSessionAndScopes(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (session, body) = try await f.tokens(ctx)
        let access = try #require(body["access_token"]?.stringValue)
        let idToken = try #require(body["id_token"]?.stringValue)
        let csrf = HostedInteraction.newCSRFCookie()
        let result = try await f.provider.logout.confirm(form(f, csrf, [
            ("id_token_hint", idToken), ("post_logout_redirect_uri", "http://127.0.0.1:9999/bye"), ("state", "s1"),
        ]), ctx, sessionToken: session, csrfCookie: csrf)
        guard case .redirect(let location) = result else { Issue.record("no redirect"); return }
        #expect(location == "http://127.0.0.1:9999/bye?state=s1")
        #expect(await f.userinfo(ctx, access).status == 401)
        let silent = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "none"), session: session)
        #expect(silent.redirectParameters?["error"] == "login_required")
        await #expect(throws: OAuthError.self) {
            _ = try await f.provider.logout.validate(OAuthParameters([("client_id", f.confidential.id), ("post_logout_redirect_uri", "https://evil.example/")]), ctx)
        }
    }
}
