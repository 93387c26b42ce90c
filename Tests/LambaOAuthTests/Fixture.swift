import Foundation
import LambaJOSE
import LambaPasswords
import LambaModel
import LambaOAuth
import LambaPostgres
import LambaStore
import LambaStoreTestSupport
import Testing

/// A fresh store on `backend` (a SQLite file, or a database on the tests' PostgreSQL cluster) with a Workspace, public Project `alpha` and
/// Project `beta`, clients in alpha's sandbox and production, and a Project Member of alpha.
struct Fixture: Sendable {
    let database: DatabaseURL
    let store: any Store
    let oauth: SQLOAuthStore
    let provider: OpenIDProvider
    let caller: ConsoleCaller
    let alpha: Project
    let beta: Project
    /// alpha sandbox: confidential first-party, confidential third-party, public; alpha production; beta sandbox.
    let confidential: OAuthClient
    let confidentialSecret: String
    let thirdParty: OAuthClient
    let thirdPartySecret: String
    let publicClient: OAuthClient
    let productionClient: OAuthClient
    let productionSecret: String
    let betaClient: OAuthClient
    let betaSecret: String
    let member: LambaUser
    let memberRecord: ProjectMember
    static let password = "correct horse battery"
    static let redirect = "http://127.0.0.1:9999/callback"

    static func make(_ backend: Backend) async throws -> Fixture {
        let database = try TestDatabases.makeURL(backend, prefix: "oauth")
        let store = try await StoreFactory.open(database, poolSize: 3)
        try await store.migrate()
        let oauth = SQLOAuthStore(store: store)
        let identity = oauth.identity
        let boot = try await WorkspaceAdministration(store: identity).bootstrap(
            email: "owner@example.com", password: "owner password 1", name: "Owner", workspaceSlug: "acme", workspaceName: "Acme")
        let caller = ConsoleCaller(actor: boot.user.id, workspaceID: boot.workspace.id, workspaceRole: .owner)
        let projects = ProjectAdministration(store: identity)
        let alpha = try await projects.createProject(caller, slug: "alpha", name: "Alpha", visibility: .public)
        let beta = try await projects.createProject(caller, slug: "beta", name: "Beta", visibility: .public)
        var changes = ProjectAdministration.EnvironmentChanges()
        changes.allowPublicJoin = true
        changes.allowRegister = true
        changes.dynamicClientRegistration = .loopbackOnly
        _ = try await projects.updateEnvironment(caller, projectID: alpha.id, environment: .sandbox, changes)

        func client(_ project: Project, _ environment: LambaModel.Environment, type: OAuthClient.ClientType, firstParty: Bool,
                    grants: [String] = ["authorization_code", "refresh_token", "client_credentials"]) async throws -> (OAuthClient, String?) {
            // Sandbox and production never share redirect URIs.
            let port = environment == .sandbox ? 9999 : 9998
            var registration = ProjectAdministration.ClientRegistration(name: "App", type: type, redirectURIs: ["http://127.0.0.1:\(port)/callback"])
            registration.firstParty = firstParty
            registration.grantTypes = type == .public ? ["authorization_code", "refresh_token"] : grants
            registration.postLogoutRedirectURIs = ["http://127.0.0.1:\(port)/bye"]
            return try await projects.createClient(caller, projectID: project.id, environment: environment, registration)
        }
        let (confidential, secret) = try await client(alpha, .sandbox, type: .confidential, firstParty: true)
        let (thirdParty, thirdSecret) = try await client(alpha, .sandbox, type: .confidential, firstParty: false)
        let (publicClient, _) = try await client(alpha, .sandbox, type: .public, firstParty: true)
        let (production, productionSecret) = try await client(alpha, .production, type: .confidential, firstParty: true)
        let (betaClient, betaSecret) = try await client(beta, .sandbox, type: .confidential, firstParty: true)

        let user = LambaUser(email: "member@example.com", emailVerified: true, name: "Mia Member", passwordHash: try PasswordHasher.hash(password))
        try await identity.write { tx in try tx.insert(user) }
        let member = try await MemberLifecycle(store: identity).admitExistingUser(caller, projectID: alpha.id, email: user.email, roles: ["member"])
        _ = try await MemberLifecycle(store: identity).admitExistingUser(caller, projectID: beta.id, email: user.email, roles: ["member"])

        let provider = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: "http://127.0.0.1:8080", masterKey: try MasterKey.generate()),
                                      store: oauth)
        return Fixture(database: database, store: store, oauth: oauth, provider: provider, caller: caller, alpha: alpha, beta: beta,
                       confidential: confidential, confidentialSecret: secret!, thirdParty: thirdParty, thirdPartySecret: thirdSecret!,
                       publicClient: publicClient, productionClient: production, productionSecret: productionSecret!, betaClient: betaClient,
                       betaSecret: betaSecret!, member: user, memberRecord: member)
    }

    func close() async {
        await store.close()
        TestDatabases.remove(database)
    }

    func context(_ slug: String = "alpha", _ environment: String = "sandbox") async throws -> ProviderContext {
        try await provider.context(slug: slug, environment: environment)
    }

    // MARK: Flows

    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  // RFC 7636 Appendix B

    func authorizeParameters(client: OAuthClient, scope: String = "openid profile email offline_access", prompt: String? = nil,
                             pkce: Bool = true, extra: [(String, String)] = []) -> [(String, String)] {
        var pairs: [(String, String)] = [("response_type", "code"), ("client_id", client.id), ("redirect_uri", client.redirectURIs.first ?? Self.redirect), ("scope", scope),
                                         ("state", "st-1"), ("nonce", "n-1")]
        if pkce { pairs += [("code_challenge", Self.challenge), ("code_challenge_method", "S256")] }
        if let prompt { pairs.append(("prompt", prompt)) }
        return pairs + extra
    }

    func authorize(_ context: ProviderContext, _ pairs: [(String, String)], session: String?) async -> AuthorizationOutcome {
        await provider.authorization.handle(EndpointRequest(method: "GET", parameters: OAuthParameters(pairs)), context, sessionToken: session)
    }

    /// Signs in through the hosted login decision; returns the session cookie value.
    func login(_ context: ProviderContext, client: OAuthClient, email: String? = nil, password: String = Fixture.password) async throws -> String {
        let csrf = HostedInteraction.newCSRFCookie()
        let authz = OAuthParameters.encode(authorizeParameters(client: client))
        let form = OAuthParameters([("csrf_token", provider.interaction.csrfToken(cookie: csrf)), ("authz", authz),
                                    ("email", email ?? member.email), ("password", password)])
        guard case .resume(_, let token?) = await provider.interaction.login(context, form: form, csrfCookie: csrf) else {
            throw TestFailure("login did not resume with a session")
        }
        return token
    }

    /// authorize → code for a signed-in session, with PKCE.
    func code(_ context: ProviderContext, client: OAuthClient, session: String, scope: String = "openid profile email offline_access") async throws -> String {
        let outcome = await authorize(context, authorizeParameters(client: client, scope: scope), session: session)
        guard case .redirect(let response) = outcome, let code = response.parameters.first(where: { $0.0 == "code" })?.1 else {
            throw TestFailure("no code: \(outcome)")
        }
        return code
    }

    func tokenRequest(_ context: ProviderContext, client: OAuthClient, secret: String?, _ pairs: [(String, String)]) async -> EndpointResponse {
        var parameters = pairs
        var authorization: String?
        if let secret {
            authorization = "Basic " + Data("\(OAuthParameters.escape(client.id)):\(OAuthParameters.escape(secret))".utf8).base64EncodedString()
        } else {
            parameters.append(("client_id", client.id))
        }
        return await provider.token.handle(EndpointRequest(method: "POST", parameters: OAuthParameters(parameters), authorization: authorization),
                                           context, isForm: true)
    }

    func exchange(_ context: ProviderContext, code: String, client: OAuthClient? = nil, secret: String? = nil) async -> EndpointResponse {
        let client = client ?? confidential
        return await tokenRequest(context, client: client, secret: client.type == .public ? nil : (secret ?? confidentialSecret), [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Self.redirect), ("code_verifier", Self.verifier),
        ])
    }

    func refresh(_ context: ProviderContext, _ token: String) async -> EndpointResponse {
        await tokenRequest(context, client: confidential, secret: confidentialSecret, [("grant_type", "refresh_token"), ("refresh_token", token)])
    }

    /// A signed-in member's tokens from the confidential client.
    func tokens(_ context: ProviderContext) async throws -> (session: String, body: JSONObject) {
        let session = try await login(context, client: confidential)
        let response = await exchange(context, code: try await code(context, client: confidential, session: session))
        guard response.status == 200 else { throw TestFailure("token exchange failed: \(String(decoding: response.body, as: UTF8.self))") }
        return (session, try JSON.decodeObject(response.body))
    }

    func userinfo(_ context: ProviderContext, _ accessToken: String) async -> EndpointResponse {
        await provider.userInfo.handle(EndpointRequest(method: "GET", parameters: OAuthParameters([]), authorization: "Bearer " + accessToken), context)
    }

    func introspect(_ context: ProviderContext, _ token: String) async throws -> JSONObject {
        let response = await provider.introspection.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", token)]),
                                                                           authorization: basic(confidential, confidentialSecret)), context, isForm: true)
        return try JSON.decodeObject(response.body)
    }

    func accessCheck(_ context: ProviderContext, _ token: String, _ permission: String) async throws -> JSONObject {
        let response = await provider.accessCheck.handle(EndpointRequest(method: "POST", parameters: OAuthParameters([("token", token), ("permission", permission)]),
                                                                         authorization: basic(confidential, confidentialSecret)), context)
        return try JSON.decodeObject(response.body)
    }

    func basic(_ client: OAuthClient, _ secret: String) -> String {
        "Basic " + Data("\(OAuthParameters.escape(client.id)):\(OAuthParameters.escape(secret))".utf8).base64EncodedString()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension EndpointResponse {
    var object: JSONObject { (try? JSON.decodeObject(body)) ?? JSONObject() }
    var errorCode: String? { object["error"]?.stringValue }
}

extension AuthorizationOutcome {
    var redirectParameters: [String: String]? {
        guard case .redirect(let response) = self else { return nil }
        return Dictionary(response.parameters, uniquingKeysWith: { a, _ in a })
    }
}
