import Foundation
import LambaJOSE
import LambaModel
import LambaOAuth
import LambaStore
import LambaStoreTestSupport
import Testing

extension StoreTests {
    /// What an unauthenticated caller can do to an environment with open dynamic registration
    /// (RFC 7591 §3): register only so many clients, and never crash the server with the numbers
    /// of a client assertion (RFC 7523 §3, RFC 7519 §2). On both databases, through the engine.
    @Suite("dynamic registration abuse")
    struct RegistrationAbuse {
        static let registration = Array(#"{"redirect_uris":["http://127.0.0.1:5000/cb"],"client_name":"Probe"}"#.utf8)

        struct World {
            let provider: OpenIDProvider
            let context: ProviderContext
        }

        /// Registrations are counted against the provider's clock; a fixed one makes `Retry-After` exact.
        func world(_ store: any Store, limits: ClientRegistrationLimits, now: Date? = nil) async throws -> World {
            let oauth = SQLOAuthStore(store: store)
            let boot = try await WorkspaceAdministration(store: oauth.identity).bootstrap(
                email: "owner@example.com", password: nil, name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
            let caller = ConsoleCaller(actor: boot.user.id, workspaceID: boot.workspace.id, workspaceRole: .owner)
            let projects = ProjectAdministration(store: oauth.identity)
            let project = try await projects.createProject(caller, slug: "alpha", name: "Alpha", visibility: .public)
            var changes = ProjectAdministration.EnvironmentChanges()
            changes.dynamicClientRegistration = .loopbackOnly
            _ = try await projects.updateEnvironment(caller, projectID: project.id, environment: .sandbox, changes)
            var configuration = ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: try MasterKey.generate(),
                                                      now: { now ?? Date() })
            configuration.registrationLimits = limits
            let provider = OpenIDProvider(configuration: configuration, store: oauth)
            return World(provider: provider, context: try await provider.context(slug: "alpha", environment: "sandbox"))
        }

        func register(_ world: World, from address: String, body: [UInt8] = registration) async -> EndpointResponse {
            await world.provider.registration.handle(body: body, isJSON: true, clientAddress: address, world.context)
        }

        func error(_ response: EndpointResponse) -> String? {
            (try? JSON.decodeObject(response.body))?["error"]?.stringValue
        }

        @Test("test_registrationsPerAddress_areLimited_with429AndRetryAfter", arguments: Backend.underTest)
        func test_registrationsPerAddress_areLimited(backend: Backend) async throws {
            try await withStore(backend) { store in
                let world = try await world(store, limits: ClientRegistrationLimits(perAddress: 3, window: 3600, perEnvironment: 100), now: Date())
                for _ in 0..<3 { #expect(await register(world, from: "192.0.2.1").status == 201) }
                let refused = await register(world, from: "192.0.2.1")
                #expect(refused.status == 429)
                #expect(error(refused) == "too_many_requests")
                let retryAfter = refused.headers.first { $0.0 == "Retry-After" }.flatMap { Int($0.1) }
                #expect(retryAfter == 3600)
                // Another address has its own window; the refused attempt wrote no client.
                #expect(await register(world, from: "192.0.2.2").status == 201)
                #expect(try await store.read { tx in try SQLIdentityRecords(reader: tx, transaction: nil).dynamicClientCount(
                    projectID: world.context.project.id, environment: .sandbox) } == 4)
            }
        }

        @Test("test_selfRegisteredClientsPerEnvironment_areCapped_evenWhenConcurrent", arguments: Backend.underTest)
        func test_selfRegisteredClients_areCapped(backend: Backend) async throws {
            try await withStore(backend) { store in
                let world = try await world(store, limits: ClientRegistrationLimits(perAddress: 100, window: 3600, perEnvironment: 4))
                let statuses = await withTaskGroup(of: Int.self) { group in
                    for index in 0..<10 { group.addTask { await register(world, from: "198.51.100.\(index)").status } }
                    return await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 201 }.count == 4)
                #expect(statuses.filter { $0 == 403 }.count == 6)
                let more = await register(world, from: "203.0.113.9")
                #expect(more.status == 403)
                #expect(error(more) == "access_denied")
            }
        }

        @Test("test_clientAssertionWithHostileNumericDates_isInvalidClient_andTheServerLives", arguments: Backend.underTest)
        func test_clientAssertion_hostileNumericDates(backend: Backend) async throws {
            try await withStore(backend) { store in
                let world = try await world(store, limits: ClientRegistrationLimits())
                let key = try AsymmetricKey.generate(.ecP256)
                var jwk = try key.jwk()
                jwk.kid = "probe"
                let jwks = JSON.encodeString(.object(["keys": .array([.object(jwk.json)])]))
                let body = #"{"redirect_uris":["http://127.0.0.1:5000/cb"],"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":"#
                    + jwks + "}"
                let registered = await register(world, from: "127.0.0.1", body: Array(body.utf8))
                #expect(registered.status == 201)
                let clientID = try #require((try? JSON.decodeObject(registered.body))?["client_id"]?.stringValue)
                let now = Int64(Date().timeIntervalSince1970)

                func assertion(_ edit: (inout JWTClaims) -> Void) throws -> String {
                    var claims = JWTClaims()
                    claims.issuer = clientID
                    claims.subject = clientID
                    claims.setAudience([world.context.endpoint("/token")])
                    claims.jwtID = UUID().uuidString
                    claims.expiration = NumericDate(secondsSince1970: now + 60)
                    edit(&claims)
                    return try JWT.sign(claims, algorithm: .es256, key: key, kid: "probe")
                }
                func token(_ assertion: String) async -> EndpointResponse {
                    let parameters = OAuthParameters([
                        ("grant_type", "client_credentials"), ("client_id", clientID), ("client_assertion", assertion),
                        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ])
                    return await world.provider.token.handle(EndpointRequest(method: "POST", parameters: parameters), world.context, isForm: true)
                }
                // Each of these trapped once: exp + leeway, or the expiry in milliseconds for the jti record.
                let hostile: [(String, JSONValue)] = [
                    ("exp", .integer(.max)), ("exp", .integer(.max - 20)), ("exp", .integer(9_300_000_000_000_000)),
                    ("exp", .integer(9_200_000_000_000_000_000)), ("exp", .real(9.2e18)), ("nbf", .integer(.min)), ("iat", .integer(.max)),
                ]
                for (name, value) in hostile {
                    let refused = await token(try assertion { $0[name] = value })
                    #expect(refused.status == 401, "\(name)=\(value)")
                    #expect(error(refused) == "invalid_client")
                }
                let early = await token(try assertion { $0.notBefore = NumericDate(secondsSince1970: now + 3600) })
                #expect(early.status == 401)
                let good = await token(try assertion { _ in })
                #expect(good.status == 200)
            }
        }
    }
}
