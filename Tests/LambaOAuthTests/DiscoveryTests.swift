import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStoreTestSupport
import Testing

/// OIDC Discovery 1.0 §3 and RFC 8414 §2: the metadata says exactly what the server does. Each
/// advertised value is exercised, and values the server does not support are refused.
@Suite("Discovery metadata matches behaviour", .serialized)
struct DiscoveryTests {
    static func strings(_ document: JSONObject, _ name: String) -> [String] {
        document[name]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    static func payload(_ jwt: String) throws -> JSONObject {
        let parts = jwt.split(separator: ".")
        return try JSON.decodeObject(try Base64URL.decode(String(parts[1])))
    }

    @Test("claims_supported is exactly the set of claims issued in ID tokens and userinfo", arguments: Backend.underTest)
    func test_claimsSupported_areTheClaimsIssued(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let document = f.provider.discovery.metadata(ctx)
        let (_, body) = try await f.tokens(ctx)
        let idToken = try #require(body["id_token"]?.stringValue)
        let access = try #require(body["access_token"]?.stringValue)
        var issued = Set(try Self.payload(idToken).map(\.name))
        let userinfo = await f.userinfo(ctx, access)
        #expect(userinfo.status == 200)
        issued.formUnion(userinfo.object.map(\.name))
        #expect(Set(Self.strings(document, "claims_supported")) == issued)
        // `acr` is issued with `amr`, and only the classes Lamba issues are advertised.
        #expect(Self.strings(document, "claims_supported").contains("acr"))
        #expect(Self.strings(document, "acr_values_supported") == AuthenticationContextClass.allCases.map(\.rawValue))
    }

    @Test("RFC 7009 §2.1: revocation admits a public client by client_id alone, as advertised; introspection, which does not advertise none, refuses it", arguments: Backend.underTest)
    func test_endpointAuthMethods_matchWhatTheEndpointsAccept(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let document = f.provider.discovery.metadata(ctx)
        #expect(Self.strings(document, "revocation_endpoint_auth_methods_supported").contains("none"))
        #expect(!Self.strings(document, "introspection_endpoint_auth_methods_supported").contains("none"))
        #expect(Self.strings(document, "token_endpoint_auth_methods_supported").contains("none"))
        for method in Self.strings(document, "token_endpoint_auth_methods_supported") {
            #expect(OAuthClient.AuthMethod(rawValue: method) != nil, "\(method) is not a method clients can register")
        }

        let session = try await f.login(ctx, client: f.publicClient)
        let exchanged = await f.exchange(ctx, code: try await f.code(ctx, client: f.publicClient, session: session), client: f.publicClient)
        #expect(exchanged.status == 200)
        let access = try #require(exchanged.object["access_token"]?.stringValue)
        #expect(await f.userinfo(ctx, access).status == 200)

        let publicOnly = OAuthParameters([("token", access), ("client_id", f.publicClient.id)])
        let introspected = await f.provider.introspection.handle(EndpointRequest(method: "POST", parameters: publicOnly), ctx, isForm: true)
        #expect(introspected.status == 401)
        #expect(introspected.errorCode == "invalid_client")

        let revoked = await f.provider.revocation.handle(EndpointRequest(method: "POST", parameters: publicOnly), ctx, isForm: true)
        #expect(revoked.status == 200)
        #expect(await f.userinfo(ctx, access).status == 401)
    }

    @Test("Every advertised grant type, response type, response mode, prompt value, scope and PKCE method is accepted; others are refused", arguments: Backend.underTest)
    func test_advertisedProtocolValues_areAccepted(backend: Backend) async throws {
        let f = try await Fixture.make(backend)
        defer { Task { await f.close() } }
        let ctx = try await f.context()
        let document = f.provider.discovery.metadata(ctx)
        let session = try await f.login(ctx, client: f.confidential)

        #expect(Set(Self.strings(document, "grant_types_supported")) == ["authorization_code", "refresh_token", "client_credentials"])
        for grant in Self.strings(document, "grant_types_supported") {
            let response = await f.tokenRequest(ctx, client: f.confidential, secret: f.confidentialSecret, [("grant_type", grant)])
            #expect(response.errorCode != "unsupported_grant_type", "\(grant)")
        }
        for grant in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"] {
            let response = await f.tokenRequest(ctx, client: f.confidential, secret: f.confidentialSecret, [("grant_type", grant)])
            #expect(response.errorCode == "unsupported_grant_type", "\(grant)")
        }

        #expect(Self.strings(document, "response_types_supported") == ["code"])
        let token = await f.authorize(ctx, f.authorizeParameters(client: f.confidential).map { $0.0 == "response_type" ? ($0.0, "token") : $0 },
                                      session: session)
        #expect(token.redirectParameters?["error"] == "unsupported_response_type")

        for mode in Self.strings(document, "response_modes_supported") {
            let outcome = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, extra: [("response_mode", mode)]), session: session)
            guard case .redirect(let response) = outcome else { Issue.record("response_mode \(mode): \(outcome)"); continue }
            #expect(response.mode.rawValue == mode)
            #expect(response.parameters.contains { $0.0 == "code" }, "response_mode \(mode)")
        }

        for prompt in Self.strings(document, "prompt_values_supported") {
            let outcome = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: prompt), session: session)
            #expect(outcome.redirectParameters?["error"] != "invalid_request", "prompt=\(prompt)")
        }
        let bogus = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, prompt: "bogus"), session: session)
        #expect(bogus.redirectParameters?["error"] == "invalid_request")

        let scopes = Self.strings(document, "scopes_supported").joined(separator: " ")
        let allScopes = await f.authorize(ctx, f.authorizeParameters(client: f.confidential, scope: scopes), session: session)
        #expect(allScopes.redirectParameters?["code"] != nil, "scope=\(scopes)")

        #expect(Self.strings(document, "code_challenge_methods_supported") == ["S256"])
        let plain = await f.authorize(ctx, f.authorizeParameters(client: f.publicClient, pkce: false,
                                                                  extra: [("code_challenge", Fixture.verifier), ("code_challenge_method", "plain")]),
                                      session: session)
        #expect(plain.redirectParameters?["error"] == "invalid_request")

        for algorithm in Self.strings(document, "id_token_signing_alg_values_supported") {
            #expect(JWSAlgorithm(rawValue: algorithm) != nil, "\(algorithm)")
        }
        // RFC 7591: the endpoint is advertised only while the environment's switch is on, and then it registers.
        #expect(document["registration_endpoint"] != nil, "this environment enables dynamic registration")
        let registered = await f.provider.registration.handle(body: Array(#"{"redirect_uris":["http://127.0.0.1:9/cb"]}"#.utf8), isJSON: true,
                                                              clientAddress: "127.0.0.1", ctx)
        #expect(registered.status == 201)
        let production = try await f.context("alpha", "production")
        let closed = f.provider.discovery.metadata(production)
        if closed["registration_endpoint"] == nil {
            let refused = await f.provider.registration.handle(body: Array(#"{"redirect_uris":["http://127.0.0.1:9/cb"]}"#.utf8), isJSON: true,
                                                               clientAddress: "127.0.0.1", production)
            #expect(refused.status == 404)
        }
    }
}
