import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Testing

/// The OpenID Provider's rules at the engine level (docs/sessions-and-scopes.md for codes, refresh
/// rotation, liveness and auto-heal; the specs for the rest), plus the grants and documents they
/// rest on. The end-to-end browser flow runs over HTTP in LambaServerTests.
@Suite("OpenID Provider rules", .serialized)
struct OpenIDProviderRuleTests {
    @Test("RFC 6749 §4.1.2: a code is single-use; a replayed code fails and revokes what it issued", arguments: Backend.underTest)
    func test_replayedCode_revokesIssuedTokens(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let session = try await f.login(ctx, client: f.confidential)
        let code = try await f.code(ctx, client: f.confidential, session: session)
        let first = await f.exchange(ctx, code: code)
        #expect(first.status == 200)
        let access = try #require(first.object["access_token"]?.stringValue)
        let refresh = try #require(first.object["refresh_token"]?.stringValue)
        #expect(await f.userinfo(ctx, access).status == 200)

        let replay = await f.exchange(ctx, code: code)
        #expect(replay.status == 400)
        #expect(replay.errorCode == "invalid_grant")
        #expect(await f.userinfo(ctx, access).status == 401)
        #expect(await f.refresh(ctx, refresh).errorCode == "invalid_grant")
        let events = try await f.store.read { r in try r.query("SELECT type FROM events WHERE type = 'authorization_code.replayed'") }
        #expect(events.count == 1)
    }

    @Test("Security BCP §4.14.2: a reused rotated refresh token revokes its whole runtime scope", arguments: Backend.underTest)
    func test_reusedRefreshToken_revokesRuntimeScope(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (session, body) = try await f.tokens(ctx)
        let refresh1 = try #require(body["refresh_token"]?.stringValue)
        let rotated = await f.refresh(ctx, refresh1)
        #expect(rotated.status == 200)
        let refresh2 = try #require(rotated.object["refresh_token"]?.stringValue)
        let access2 = try #require(rotated.object["access_token"]?.stringValue)
        #expect(refresh2 != refresh1)
        // Another client of the same Project shares the runtime scope (same session).
        let otherCode = try await f.code(ctx, client: f.publicClient, session: session)
        let other = await f.exchange(ctx, code: otherCode, client: f.publicClient)
        let otherAccess = try #require(other.object["access_token"]?.stringValue)

        let reuse = await f.refresh(ctx, refresh1)
        #expect(reuse.errorCode == "invalid_grant")
        #expect(await f.refresh(ctx, refresh2).errorCode == "invalid_grant")
        #expect(await f.userinfo(ctx, access2).status == 401)
        #expect(await f.userinfo(ctx, otherAccess).status == 401)
        // Other Projects stay.
        let beta = try await f.context("beta")
        let betaOutcome = await f.authorize(beta, f.authorizeParameters(client: f.betaClient), session: session)
        #expect(betaOutcome.redirectParameters?["code"] != nil)
    }

    @Test("RFC 7636: PKCE is required for public clients; plain is refused; a wrong verifier fails", arguments: Backend.underTest)
    func test_pkceRequiredForPublicClients_plainRefused_wrongVerifierFails(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let session = try await f.login(ctx, client: f.publicClient)
        let without = await f.authorize(ctx, f.authorizeParameters(client: f.publicClient, pkce: false), session: session)
        #expect(without.redirectParameters?["error"] == "invalid_request")
        let plain = await f.authorize(ctx, f.authorizeParameters(client: f.publicClient, pkce: false, extra: [
            ("code_challenge", Fixture.verifier), ("code_challenge_method", "plain"),
        ]), session: session)
        #expect(plain.redirectParameters?["error"] == "invalid_request")
        let code = try await f.code(ctx, client: f.publicClient, session: session)
        let wrong = await f.tokenRequest(ctx, client: f.publicClient, secret: nil, [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Fixture.redirect),
            ("code_verifier", String(repeating: "a", count: 43)),
        ])
        #expect(wrong.errorCode == "invalid_grant")
        let missing = await f.tokenRequest(ctx, client: f.publicClient, secret: nil, [
            ("grant_type", "authorization_code"), ("code", try await f.code(ctx, client: f.publicClient, session: session)),
            ("redirect_uri", Fixture.redirect),
        ])
        #expect(missing.errorCode == "invalid_grant")
        let good = await f.exchange(ctx, code: try await f.code(ctx, client: f.publicClient, session: session), client: f.publicClient)
        #expect(good.status == 200)
    }

    @Test("RFC 6749 §3.1.2.3, §4.1.2.1: redirect URIs match exactly; an unregistered one never receives a redirect", arguments: Backend.underTest)
    func test_unregisteredRedirectURI_getsErrorPage_neverRedirect(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        for uri in [Fixture.redirect + "/", Fixture.redirect + "?x=1", "http://127.0.0.1:9999/CALLBACK", "https://evil.example/callback"] {
            var pairs = f.authorizeParameters(client: f.confidential).filter { $0.0 != "redirect_uri" }
            pairs.append(("redirect_uri", uri))
            guard case .errorPage(let error) = await f.authorize(ctx, pairs, session: nil) else {
                Issue.record("\(uri) got a redirect")
                continue
            }
            #expect(error.code == .invalidRequest)
        }
        var unknownClient = f.authorizeParameters(client: f.confidential).filter { $0.0 != "client_id" }
        unknownClient.append(("client_id", "cli_unknown"))
        guard case .errorPage = await f.authorize(ctx, unknownClient, session: nil) else { Issue.record("unknown client redirected"); return }
        // A client of production is unknown in sandbox.
        guard case .errorPage = await f.authorize(ctx, f.authorizeParameters(client: f.productionClient), session: nil) else {
            Issue.record("production client redirected from sandbox")
            return
        }
    }

    @Test("Never auto-heal, OIDC Core §3.1.2.6: prompt=none without a session, or after the Project's scope was revoked, gives login_required", arguments: Backend.underTest)
    func test_promptNone_withoutSession_orRevokedScope_loginRequired(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let none = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "none"), session: nil)
        #expect(none.redirectParameters?["error"] == "login_required")
        #expect(none.redirectParameters?["state"] == "st-1")
        #expect(none.redirectParameters?["iss"] == ctx.issuer)

        let session = try await f.login(ctx, client: f.confidential)
        let silent = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "none"), session: session)
        #expect(silent.redirectParameters?["code"] != nil)

        let (_, body) = try await f.tokens(ctx)
        _ = body
        // Revoke the member's scopes in alpha (role change); the global session lives on.
        _ = try await MemberLifecycle(store: f.oauth.identity).changeProjectMemberRoles(f.caller, projectID: f.alpha.id,
                                                                                      memberID: f.memberRecord.id, roles: ["viewer"])
        let healed = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "none"), session: session)
        #expect(healed.redirectParameters?["error"] == "login_required")
        // Interactive: explicit re-entry through the account chooser, then a code again.
        guard case .interaction(let interaction) = await f.authorize(ctx, f.authorizeParameters(client: f.confidential), session: session) else {
            Issue.record("no interaction")
            return
        }
        #expect(interaction.kind == .selectAccount)
        let csrf = HostedInteraction.newCSRFCookie()
        let result = await f.provider.interaction.selectAccount(ctx, form: OAuthParameters([
            ("csrf_token", f.provider.interaction.csrfToken(cookie: csrf)), ("authz", interaction.resumeQuery), ("action", "continue"),
        ]), sessionToken: session, csrfCookie: csrf)
        guard case .resume = result else { Issue.record("re-entry failed: \(result)"); return }
        let again = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "none"), session: session)
        #expect(again.redirectParameters?["code"] != nil)
    }

    @Test("RFC 9068 §4: a token of Project A is refused at Project B; a sandbox token is refused at production", arguments: Backend.underTest)
    func test_tokenOfProjectA_refusedAtProjectB_sandboxRefusedAtProduction(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        let access = try #require(body["access_token"]?.stringValue)
        #expect(await f.userinfo(ctx, access).status == 200)
        let beta = try await f.context("beta")
        let production = try await f.context("alpha", "production")
        // Make sure the other environments have keys, so the refusal is about the issuer.
        _ = try await f.provider.discovery.jwks(beta)
        _ = try await f.provider.discovery.jwks(production)
        #expect(await f.userinfo(beta, access).status == 401)
        #expect(await f.userinfo(production, access).status == 401)
        let introspected = await f.provider.introspection.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", access)]),
                                                                                 authorization: f.basic(f.productionClient, f.productionSecret)),
                                                                 production, isForm: true)
        #expect(introspected.object["active"] == .bool(false))
        // A sandbox client cannot authenticate at production either.
        let cc = await f.tokenRequest(production, client: f.confidential, secret: f.confidentialSecret, [("grant_type", "client_credentials")])
        #expect(cc.status == 401)
        #expect(cc.errorCode == "invalid_client")
    }

    @Test("Liveness: userinfo, introspection and access check turn inactive/denied at once on scope revocation, member removal or role change", arguments: Backend.underTest)
    func test_revokedScope_removedMember_changedRole_inactiveBeforeExpiry(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let lifecycle = MemberLifecycle(store: f.oauth.identity)

        // Role changed.
        var (_, body) = try await f.tokens(ctx)
        var access = try #require(body["access_token"]?.stringValue)
        #expect(try await f.accessCheck(ctx, access, "project:write")["allowed"] == .bool(true))
        #expect(try await f.introspect(ctx, access)["active"] == .bool(true))
        _ = try await lifecycle.changeProjectMemberRoles(f.caller, projectID: f.alpha.id, memberID: f.memberRecord.id, roles: ["viewer"])
        #expect(await f.userinfo(ctx, access).status == 401)
        #expect(try await f.introspect(ctx, access)["active"] == .bool(false))
        #expect(try await f.accessCheck(ctx, access, "project:read")["allowed"] == .bool(false))

        // New login after the change: viewer may read, not write.
        (_, body) = try await f.tokens(ctx)
        access = try #require(body["access_token"]?.stringValue)
        #expect(try await f.accessCheck(ctx, access, "project:read")["allowed"] == .bool(true))
        let write = try await f.accessCheck(ctx, access, "project:write")
        #expect(write["allowed"] == .bool(false))
        #expect(write["reason"] == .string("permission_not_granted"))

        // Scope revoked directly.
        let sid = try #require(try await f.introspect(ctx, access)["sid"]?.stringValue)
        _ = try await f.oauth.identity.write { tx in try tx.revokeRuntimeScopes(.scope(id: sid), reason: "test", at: Date()) }
        #expect(try await f.introspect(ctx, access)["active"] == .bool(false))
        #expect(try await f.accessCheck(ctx, access, "project:read")["reason"] == .string("scope_revoked"))

        // Member removed.
        (_, body) = try await f.tokens(ctx)
        access = try #require(body["access_token"]?.stringValue)
        let refresh = try #require(body["refresh_token"]?.stringValue)
        try await lifecycle.removeProjectMember(f.caller, projectID: f.alpha.id, memberID: f.memberRecord.id)
        #expect(await f.userinfo(ctx, access).status == 401)
        #expect(try await f.introspect(ctx, access)["active"] == .bool(false))
        #expect(try await f.introspect(ctx, refresh)["active"] == .bool(false))
        #expect(try await f.accessCheck(ctx, access, "project:read")["allowed"] == .bool(false))
        #expect(await f.refresh(ctx, refresh).errorCode == "invalid_grant")
    }

    @Test("RFC 7009 §2.1, §2.2: revocation answers 200 for unknown tokens and requires client authentication", arguments: Backend.underTest)
    func test_revocation_unknownToken200_requiresClientAuthentication(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let unknown = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", "nonsense")]),
                                                                         authorization: f.basic(f.confidential, f.confidentialSecret)), ctx, isForm: true)
        #expect(unknown.status == 200)
        let anonymous = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", "nonsense")])),
                                                           ctx, isForm: true)
        #expect(anonymous.status == 401)
        let wrong = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", "x")]),
                                                                       authorization: f.basic(f.confidential, "wrong")), ctx, isForm: true)
        #expect(wrong.status == 401)
        #expect(wrong.headers.contains { $0.0 == "WWW-Authenticate" && $0.1.hasPrefix("Basic") })

        let (_, body) = try await f.tokens(ctx)
        let access = try #require(body["access_token"]?.stringValue)
        let refresh = try #require(body["refresh_token"]?.stringValue)
        for token in [access, refresh] {
            let revoked = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", token)]),
                                                                             authorization: f.basic(f.confidential, f.confidentialSecret)), ctx, isForm: true)
            #expect(revoked.status == 200)
        }
        #expect(await f.userinfo(ctx, access).status == 401)
        #expect(await f.refresh(ctx, refresh).errorCode == "invalid_grant")
    }

    @Test("RFC 7009 §2.1: revoking a refresh token revokes the access tokens of its grant, first and refreshed, and no other grant's",
          arguments: Backend.underTest)
    func test_revocation_refreshTokenRevokesItsGrantsAccessTokens(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        let first = try #require(body["access_token"]?.stringValue)
        let refreshed = await f.refresh(ctx, try #require(body["refresh_token"]?.stringValue))
        let second = try #require(refreshed.object["access_token"]?.stringValue)
        let latestRefresh = try #require(refreshed.object["refresh_token"]?.stringValue)
        let (_, otherBody) = try await f.tokens(ctx)
        let otherGrant = try #require(otherBody["access_token"]?.stringValue)
        for token in [first, second, otherGrant] { #expect(await f.userinfo(ctx, token).status == 200) }

        let revoked = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([
            ("token", latestRefresh), ("token_type_hint", "refresh_token"),
        ]), authorization: f.basic(f.confidential, f.confidentialSecret)), ctx, isForm: true)
        #expect(revoked.status == 200)
        #expect(await f.userinfo(ctx, first).status == 401, "the grant's first access token")
        #expect(await f.userinfo(ctx, second).status == 401, "the access token minted with the revoked refresh token")
        #expect(try await f.introspect(ctx, second)["active"] == .bool(false))
        #expect(await f.userinfo(ctx, otherGrant).status == 200, "another grant of the same user and client is untouched")
    }

    @Test("RFC 6749 §5.2: every error has the error/error_description shape and status; malformed input never gives a 500", arguments: Backend.underTest)
    func test_errorShape_malformedInput_never500(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let basic = f.basic(f.confidential, f.confidentialSecret)
        let cases: [(EndpointRequest, Bool, Int, String)] = [
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "password")]), authorization: basic), true, 400, "unsupported_grant_type"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([]), authorization: basic), true, 400, "invalid_request"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "client_credentials"), ("grant_type", "client_credentials")]),
                             authorization: basic), true, 400, "invalid_request"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "client_credentials")]), authorization: "Basic %%%"), true, 401, "invalid_client"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "client_credentials")]), authorization: basic), false, 400, "invalid_request"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", "y")]),
                             authorization: basic), true, 400, "invalid_grant"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "refresh_token"), ("refresh_token", String(repeating: "\u{0}", count: 5000))]),
                             authorization: basic), true, 400, "invalid_grant"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "client_credentials"), ("scope", "openid")]), authorization: basic),
             true, 400, "invalid_scope"),
            (EndpointRequest(method: "POST", parameters: OAuthParameters([("grant_type", "client_credentials"), ("client_id", f.confidential.id),
                                                                          ("client_secret", f.confidentialSecret)])), true, 401, "invalid_client"),
        ]
        for (request, isForm, status, code) in cases {
            let response = await f.provider.token.handle(request, ctx, isForm: isForm)
            #expect(response.status == status, "\(code)")
            #expect(response.errorCode == code)
            #expect(response.object["error_description"]?.stringValue != nil)
            #expect(response.headers.contains { $0 == ("Cache-Control", "no-store") })
        }
        // Userinfo: bad bearer tokens.
        for token in ["", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", String(repeating: "x", count: 70_000)] {
            let response = await f.userinfo(ctx, token)
            #expect(response.status == 401)
            #expect(response.headers.contains { $0.0 == "WWW-Authenticate" && $0.1.hasPrefix("Bearer") })
        }
        // Malformed percent-encoding is a protocol error, not a crash.
        #expect(throws: OAuthError.self) { try OAuthParameters.decode("a=%zz&b=%") }
        // Authorize with duplicate parameters after a good client and redirect URI: redirected error.
        let duplicate = await f.authorize(ctx, f.authorizeParameters(client: f.confidential) + [("scope", "openid")], session: nil)
        #expect(duplicate.redirectParameters?["error"] == "invalid_request")
        let badType = await f.authorize(ctx, f.authorizeParameters(client: f.confidential).map { $0.0 == "response_type" ? ($0.0, "token") : $0 },
                                        session: nil)
        #expect(badType.redirectParameters?["error"] == "unsupported_response_type")
        // Unknown issuer.
        await #expect(throws: OAuthError.self) { _ = try await f.provider.context(slug: "nope", environment: "sandbox") }
        await #expect(throws: OAuthError.self) { _ = try await f.provider.context(slug: "alpha", environment: "staging") }
    }

    @Test("RFC 6749 §4.4: client_credentials issues an RFC 9068 access token without sid", arguments: Backend.underTest)
    func test_clientCredentials_issuesAccessTokenWithoutSid(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let response = await f.tokenRequest(ctx, client: f.confidential, secret: f.confidentialSecret, [("grant_type", "client_credentials")])
        #expect(response.status == 200)
        let token = try #require(response.object["access_token"]?.stringValue)
        let header = try JSON.decodeObject(try Base64URL.decode(String(token.split(separator: ".")[0])))
        #expect(header["typ"] == .string("at+jwt"))
        #expect(header["alg"] == .string("ES256"))
        let introspected = try await f.introspect(ctx, token)
        #expect(introspected["active"] == .bool(true))
        #expect(introspected["sid"] == nil)
        #expect(introspected["sub"] == .string(f.confidential.id))
        // client_secret_post is refused for a client registered with client_secret_basic.
        let post = await f.tokenRequest(ctx, client: f.confidential, secret: nil, [("grant_type", "client_credentials"), ("client_secret", f.confidentialSecret)])
        #expect(post.status == 401)
    }

    @Test("OIDC Core §3.1.3.6: the ID token carries nonce, auth_time, sid, at_hash and verifies with the JWKS", arguments: Backend.underTest)
    func test_idToken_claims_verifyWithJWKS(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        let idToken = try #require(body["id_token"]?.stringValue)
        let access = try #require(body["access_token"]?.stringValue)
        let jwks = try JWKSet(json: try await f.provider.discovery.jwks(ctx))
        let verified = try JWT.verify(idToken, with: try JWSVerifier(allowedAlgorithms: [.rs256], jwks: jwks),
                                      validation: JWTValidation(issuer: ctx.issuer, audience: f.confidential.id))
        #expect(verified.claims["nonce"] == .string("n-1"))
        #expect(verified.claims["auth_time"] != nil)
        #expect(verified.claims["sid"] != nil)
        #expect(verified.claims["email"] == .string(f.member.email))
        let expected = Base64URL.encode(Digest.sha256(Array(access.utf8)).prefix(16))
        #expect(verified.claims["at_hash"] == .string(expected))
        let accessClaims = try JWT.verify(access, with: try JWSVerifier(allowedAlgorithms: [.es256], jwks: jwks),
                                          validation: JWTValidation(issuer: ctx.issuer, type: "at+jwt")).claims
        #expect(accessClaims["roles"] == nil)
        #expect(accessClaims["sid"] == verified.claims["sid"])
        #expect(accessClaims["project_id"] == .string(f.alpha.id))
    }

    @Test("Key rotation: a next key signs only after JWKS caches hold it; old keys stay in JWKS and old tokens keep verifying",
          arguments: Backend.underTest)
    func test_keyRotation_publishesBeforeUse_keepsOldKeyPublished(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let (_, body) = try await f.tokens(ctx)
        func signingKid() async throws -> String? {
            let fresh = await f.tokenRequest(ctx, client: f.confidential, secret: f.confidentialSecret, [("grant_type", "client_credentials")])
            let token = try #require(fresh.object["access_token"]?.stringValue)
            return try JSON.decodeObject(try Base64URL.decode(String(token.split(separator: ".")[0])))["kid"]?.stringValue
        }
        func jwksKids() async throws -> Set<String> {
            Set(try await f.provider.discovery.jwks(ctx)["keys"]?.arrayValue?.compactMap { $0.objectValue?["kid"]?.stringValue } ?? [])
        }
        func ring(after seconds: TimeInterval) -> SigningKeyRing {
            let start = Date()
            return OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: f.provider.configuration.masterKey,
                                                                       now: { start.addingTimeInterval(seconds) }), store: f.oauth).keys
        }
        let signing = try await signingKid()
        let before = try await jwksKids()
        func rotate(_ keys: SigningKeyRing, immediately: Bool = false) async throws -> SigningKeyRing.Rotation {
            try await keys.rotate(projectID: f.alpha.id, workspaceID: f.alpha.workspaceID, environment: .sandbox, algorithms: [.es256, .rs256],
                                  keepOldFor: 3600, immediately: immediately, actor: "test")
        }

        // No next key yet: one is published, and nothing signs with it.
        let staged = try await rotate(f.provider.keys)
        #expect(staged.promoted.isEmpty && staged.staged.count == 2)
        let published = try await jwksKids()
        #expect(published.isSuperset(of: before) && published.count == before.count + 2)
        #expect(try await signingKid() == signing, "a key published just now does not sign")
        // Again before JWKS caches expire: still not promoted, the same next keys.
        let early = try await rotate(ring(after: TimeInterval(SigningKeyRing.jwksMaxAgeSeconds) - 5))
        #expect(early.promoted.isEmpty && Set(early.staged.map(\.kid)) == Set(staged.staged.map(\.kid)))

        // Once every cache has seen them, the next keys sign; the old ones stay published.
        let promoted = try await rotate(ring(after: TimeInterval(SigningKeyRing.jwksMaxAgeSeconds) + 1))
        #expect(Set(promoted.promoted) == Set(staged.staged.map(\.kid)) && promoted.staged.isEmpty)
        let after = try await jwksKids()
        #expect(after.isSuperset(of: published) && after.count == published.count + 2, "old keys and fresh next keys are all published")
        let access = try #require(body["access_token"]?.stringValue)
        #expect(await f.userinfo(ctx, access).status == 200, "a token signed before the rotation still verifies")
        #expect(promoted.promoted.contains(try await signingKid() ?? ""))

        // An emergency rotation promotes at once, even a next key published a moment ago.
        let emergency = try await rotate(f.provider.keys, immediately: true)
        #expect(emergency.promoted.count == 2 && emergency.staged.isEmpty)
        #expect(emergency.promoted.contains(try await signingKid() ?? ""))
    }

    @Test("RFC 7591 §2: a client is registered for the scope it asked, never more; the default set only when it asked none",
          arguments: Backend.underTest)
    func test_dynamicRegistration_registersTheScopeAsked(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        func register(_ extra: String) async -> EndpointResponse {
            await f.provider.registration.handle(body: Array(#"{"redirect_uris":["http://127.0.0.1:5000/cb"]\#(extra)}"#.utf8), isJSON: true,
                                                 clientAddress: "127.0.0.1", ctx)
        }
        let narrow = await register(#","scope":"openid""#)
        #expect(narrow.status == 201 && narrow.object["scope"] == .string("openid"), "\(narrow.object)")
        let narrowID = narrow.object["client_id"]?.stringValue ?? ""
        let stored = try await f.oauth.identity.read { tx in try tx.client(id: narrowID) }
        #expect(stored?.scopes == ["openid"])
        let two = await register(#","scope":"email  openid email""#)
        #expect(two.object["scope"] == .string("email openid"), "duplicates and extra spaces are not scopes")
        let omitted = await register("")
        #expect(omitted.object["scope"] == .string(Discovery.scopesSupported.joined(separator: " ")))
        for bad in [#","scope":"openid admin""#, #","scope":"""#, #","scope":["openid"]"#, #","scope":"openid\"x""#] {
            let refused = await register(bad)
            #expect(refused.status == 400 && refused.errorCode == "invalid_client_metadata", "\(bad): \(refused.object)")
        }
    }

    @Test("RFC 7592 §2: a self-registered client reads, replaces and deletes its registration with its registration access token, and nothing else's",
          arguments: Backend.underTest)
    func test_clientConfiguration_readUpdateDelete_onlyWithItsToken(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let endpoint = f.provider.clientConfiguration
        func register(_ name: String) async throws -> JSONObject {
            let made = await f.provider.registration.handle(
                body: Array(#"{"redirect_uris":["http://127.0.0.1:5000/cb"],"client_name":"\#(name)"}"#.utf8), isJSON: true, clientAddress: "127.0.0.1", ctx)
            #expect(made.status == 201)
            return made.object
        }
        let mine = try await register("Mine")
        let other = try await register("Other")
        let id = try #require(mine["client_id"]?.stringValue)
        let token = try #require(mine["registration_access_token"]?.stringValue)
        let secret = try #require(mine["client_secret"]?.stringValue)
        #expect(mine["registration_client_uri"] == .string(ctx.endpoint("/register/") + id))
        func call(_ method: String, _ clientID: String = id, token: String? = nil, body: String = "", in context: ProviderContext? = nil) async -> EndpointResponse {
            await endpoint.handle(method: method, clientID: clientID, authorization: token.map { "Bearer " + $0 }, body: Array(body.utf8), isJSON: true,
                                  context ?? ctx)
        }

        // §2.1 read: only with this client's token, in this environment.
        let read = await call("GET", token: token)
        #expect(read.status == 200 && read.object["client_name"] == .string("Mine") && read.object["client_secret"] == nil)
        #expect(read.object["registration_access_token"] == .string(token))
        let bare = await call("GET")
        #expect(bare.status == 401 && bare.body.isEmpty, "no credentials: a challenge without an error code (RFC 6750 §3.1)")
        for (clientID, presented) in [(id, "lmb_rat_wrong"), (id, try #require(other["registration_access_token"]?.stringValue)), (f.confidential.id, token)] {
            let refused = await call("GET", clientID, token: presented)
            #expect(refused.status == 401 && refused.errorCode == "invalid_token")
        }
        let production = try await f.context("alpha", "production")
        #expect(await call("GET", token: token, in: production).status == 401, "another environment does not know the client")

        // §2.2 update: the whole metadata; the id and the secret stay.
        let update = #"{"client_id":"\#(id)","client_name":"Renamed","redirect_uris":["http://127.0.0.1:5001/cb"],"scope":"openid"}"#
        let updated = await call("PUT", token: token, body: update)
        #expect(updated.status == 200 && updated.object["client_name"] == .string("Renamed") && updated.object["client_secret"] == nil, "\(updated.object)")
        #expect(updated.object["redirect_uris"] == ["http://127.0.0.1:5001/cb"] && updated.object["scope"] == .string("openid"))
        let storedClient = try await f.oauth.identity.read { tx in try tx.client(id: id) }
        let stored = try #require(storedClient)
        #expect(stored.name == "Renamed" && stored.secretHash == OpaqueSecret.hash(secret))
        let withSecret = await call("PUT", token: token, body: #"{"client_id":"\#(id)","client_secret":"\#(secret)","redirect_uris":["http://127.0.0.1:5001/cb"]}"#)
        #expect(withSecret.status == 200)
        let wrongSecret = await call("PUT", token: token, body: #"{"client_id":"\#(id)","client_secret":"nope","redirect_uris":["http://127.0.0.1:5001/cb"]}"#)
        #expect(wrongSecret.status == 400 && wrongSecret.errorCode == "invalid_client_metadata")
        let otherID = await call("PUT", token: token, body: #"{"client_id":"cl_else","redirect_uris":["http://127.0.0.1:5001/cb"]}"#)
        #expect(otherID.status == 400 && otherID.errorCode == "invalid_request")
        let notLoopback = await call("PUT", token: token, body: #"{"client_id":"\#(id)","redirect_uris":["https://rp.example.com/cb"]}"#)
        #expect(notLoopback.status == 400 && notLoopback.errorCode == "invalid_redirect_uri")
        let broken = await call("PUT", token: token, body: "{")
        #expect(broken.status == 400 && broken.errorCode == "invalid_client_metadata")
        let afterRefusalsClient = try await f.oauth.identity.read { tx in try tx.client(id: id) }
        let afterRefusals = try #require(afterRefusalsClient)
        #expect(afterRefusals.redirectURIs == ["http://127.0.0.1:5001/cb"], "a refused update changes nothing")

        // §2.3 delete: the client and its token are gone; the other client stays.
        #expect(await call("DELETE", token: token).status == 204)
        #expect(await call("GET", token: token).status == 401)
        let deleted = try await f.oauth.identity.read { tx in try tx.client(id: id) }
        #expect(deleted == nil)
        let otherToken = try #require(other["registration_access_token"]?.stringValue)
        #expect(await call("GET", try #require(other["client_id"]?.stringValue), token: otherToken).status == 200)
    }

    @Test("RFC 7591 §3: loopback_only registration admits loopback clients and refuses others", arguments: Backend.underTest)
    func test_dynamicRegistration_loopbackOnly(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let good = await f.provider.registration.handle(body: Array(#"{"redirect_uris":["http://127.0.0.1:5000/cb"],"client_name":"Conformance"}"#.utf8),
                                                        isJSON: true, clientAddress: "127.0.0.1", ctx)
        #expect(good.status == 201)
        #expect(good.object["client_secret"]?.stringValue != nil)
        let bad = await f.provider.registration.handle(body: Array(#"{"redirect_uris":["https://rp.example.com/cb"]}"#.utf8), isJSON: true, clientAddress: "127.0.0.1", ctx)
        #expect(bad.status == 400)
        #expect(bad.errorCode == "invalid_redirect_uri")
        let production = try await f.context("alpha", "production")
        let off = await f.provider.registration.handle(body: Array(#"{"redirect_uris":["http://127.0.0.1:5000/cb"]}"#.utf8), isJSON: true, clientAddress: "127.0.0.1", production)
        #expect(off.status == 404)
        #expect(f.provider.discovery.metadata(production)["registration_endpoint"] == nil)
        #expect(f.provider.discovery.metadata(ctx)["registration_endpoint"] != nil)
    }
}
