import ArgumentParser
import Foundation
import LambaJOSE
import LambaPasswords
import LambaModel
import LambaOAuth
import LambaPostgres
import LambaServer
import LambaStore

/// `lamba demo --json`: a demo Workspace, a public Project, a confidential and a public client and
/// a user, created once and found again on later runs. Client secrets are stored hashed, so a rerun
/// can only print the confidential client's secret by rotating it: it does so with `--rotate-secret`.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create (or find) the demo Workspace, Project, clients and user, and print how to use them."
    )

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Database URL: sqlite:///path or postgres://… (LAMBA_DATABASE_URL).")
    var database: String?

    @Option(name: .customLong("public-url"), help: "Public base URL that issuers are built from (LAMBA_PUBLIC_URL).")
    var publicURL: String?

    @Flag(help: "On a rerun, replace the confidential client's secret and print the new one.")
    var rotateSecret = false

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(publicURL: publicURL, database: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let store = try await StoreFactory.open(configuration.databaseURL)
        do {
            try await store.migrate()
            let demo = try await DemoSetup.ensure(store: store, publicBaseURL: configuration.publicBaseURL, rotateSecret: rotateSecret)
            print(json ? JSON.encodeString(.object(demo.json)) : demo.instructions)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// The demo data set, shared by `lamba demo` and the first run of `lamba serve`.
enum DemoSetup {
    static let workspaceSlug = "demo"
    static let projectSlug = "demo"
    static let ownerEmail = "owner@demo.lamba.test"
    static let userEmail = "user@demo.lamba.test"
    /// Fixed so the demo can be tried by hand; it satisfies the 10-character rule.
    static let userPassword = "lamba-demo-password"
    static let confidentialName = "Demo confidential app"
    static let publicName = "Demo public app"
    static let redirectURI = "http://127.0.0.1:9876/callback"
    static let postLogoutRedirectURI = "http://127.0.0.1:9876/signed-out"

    struct Demo: Sendable {
        let issuer: String
        let workspaceID: String
        let projectID: String
        let confidentialClientID: String
        /// Nil on a rerun that kept the secret: it is stored hashed and cannot be shown again.
        let confidentialSecret: String?
        let publicClientID: String

        var json: JSONObject {
            [
                "issuer": .string(issuer),
                "discovery": .string(issuer + "/.well-known/openid-configuration"),
                "workspace_id": .string(workspaceID),
                "project_id": .string(projectID),
                "environment": "sandbox",
                "confidential_client": .object([
                    "client_id": .string(confidentialClientID), "client_secret": confidentialSecret.map(JSONValue.string) ?? .null,
                    "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": [.string(redirectURI)],
                ]),
                "public_client": .object([
                    "client_id": .string(publicClientID), "token_endpoint_auth_method": "none", "redirect_uris": [.string(redirectURI)],
                    "pkce": "S256 required",
                ]),
                "post_logout_redirect_uris": [.string(postLogoutRedirectURI)],
                "user": .object(["email": .string(userEmail), "password": .string(userPassword)]),
                "dynamic_client_registration": "loopback_only",
                "note": .string(confidentialSecret == nil ? Self.unchanged : "client secrets are stored hashed: this one is shown once"),
            ]
        }

        static let unchanged = "the confidential client's secret is unchanged (stored hashed, not shown again); `lamba demo --rotate-secret` replaces it and prints the new one"

        var instructions: String {
            let secret = confidentialSecret ?? "SECRET"
            let authorize = issuer + "/authorize?" + OAuthParameters.encode([
                ("response_type", "code"), ("client_id", confidentialClientID), ("redirect_uri", redirectURI), ("scope", "openid profile email offline_access"),
                ("state", "demo"), ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256"),
            ])
            return """
                Demo OpenID Provider ready (sandbox of Project "\(projectSlug)"):
                  issuer          \(issuer)
                  discovery       \(issuer)/.well-known/openid-configuration
                  client          \(confidentialClientID)  secret \(confidentialSecret ?? "unchanged (lamba demo --rotate-secret prints a new one)")
                  public client   \(publicClientID)  (PKCE S256)
                  user            \(userEmail) / \(userPassword)

                Try it:
                  1. Open in a browser and sign in as the user:
                     \(authorize)
                  2. The browser lands on \(redirectURI)?code=…; copy the code, then:
                     curl -s -u '\(confidentialClientID):\(secret)' \(issuer)/token \\
                       -d grant_type=authorization_code -d code=CODE -d redirect_uri=\(redirectURI) \\
                       -d code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
                  3. Machine to machine:
                     curl -s -u '\(confidentialClientID):\(secret)' \(issuer)/token -d grant_type=client_credentials
                """
        }
    }

    /// Idempotent: finds what exists and leaves it as it is, creates what is missing; the confidential
    /// client's secret is replaced only when `rotateSecret` says so.
    static func ensure(store: any Store, publicBaseURL: String, rotateSecret: Bool = false) async throws -> Demo {
        let identity = SQLIdentityStore(store: store)
        let workspaces = WorkspaceAdministration(store: identity)
        let projects = ProjectAdministration(store: identity)
        let existing = try await identity.read { tx -> (Workspace, String)? in
            guard let workspace = try tx.workspace(slug: workspaceSlug),
                let owner = try tx.teamMembers(workspaceID: workspace.id).first(where: { $0.workspaceRole == .owner })
            else { return nil }
            return (workspace, owner.userID)
        }
        let workspace: Workspace
        let ownerID: String
        if let existing {
            (workspace, ownerID) = existing
        } else {
            let boot = try await workspaces.bootstrap(email: ownerEmail, password: nil, name: "Demo Owner", workspaceSlug: workspaceSlug,
                                                      workspaceName: "Demo Workspace")
            (workspace, ownerID) = (boot.workspace, boot.user.id)
        }
        let caller = ConsoleCaller(actor: ownerID, workspaceID: workspace.id, workspaceRole: .owner)
        let project: Project
        if let found = try await identity.read({ tx in try tx.project(slug: projectSlug) }) {
            project = found
        } else {
            project = try await projects.createProject(caller, slug: projectSlug, name: "Demo Project", visibility: .public)
            // Only on creation: a rerun keeps whatever the sandbox was changed to since.
            var changes = ProjectAdministration.EnvironmentChanges()
            changes.allowPublicJoin = true
            changes.allowRegister = true
            changes.dynamicClientRegistration = .loopbackOnly
            _ = try await projects.updateEnvironment(caller, projectID: project.id, environment: .sandbox, changes)
        }

        let clients = try await identity.read { tx in try tx.clients(projectID: project.id, environment: .sandbox) }
        let confidentialID: String, secret: String?
        if let confidential = clients.first(where: { $0.name == confidentialName }) {
            confidentialID = confidential.id
            if rotateSecret {
                secret = try await projects.rotateClientSecret(caller, projectID: project.id, clientID: confidential.id)
            } else {
                secret = nil
            }
        } else {
            var registration = ProjectAdministration.ClientRegistration(name: confidentialName, type: .confidential, redirectURIs: [redirectURI])
            registration.postLogoutRedirectURIs = [postLogoutRedirectURI]
            registration.grantTypes = ["authorization_code", "refresh_token", "client_credentials"]
            registration.firstParty = true
            let (client, created) = try await projects.createClient(caller, projectID: project.id, environment: .sandbox, registration)
            confidentialID = client.id
            secret = created
        }
        let publicID: String
        if let publicClient = clients.first(where: { $0.name == publicName }) {
            publicID = publicClient.id
        } else {
            var registration = ProjectAdministration.ClientRegistration(name: publicName, type: .public, redirectURIs: [redirectURI])
            registration.postLogoutRedirectURIs = [postLogoutRedirectURI]
            registration.firstParty = true
            publicID = try await projects.createClient(caller, projectID: project.id, environment: .sandbox, registration).0.id
        }

        if try await identity.read({ tx in try tx.user(email: userEmail) }) == nil {
            let user = LambaUser(email: userEmail, emailVerified: true, name: "Demo User", passwordHash: try PasswordHasher.hash(userPassword))
            try await identity.write { tx in
                try tx.insert(user)
                try tx.append(DomainEvent(type: .userCreated, actor: "system", workspaceID: workspace.id, data: ["user_id": .string(user.id)]))
            }
        }
        let isMember = try await identity.read { tx -> Bool in
            guard let user = try tx.user(email: userEmail), let member = try tx.projectMember(projectID: project.id, userID: user.id) else { return false }
            return member.status == .active
        }
        if !isMember {
            _ = try await MemberLifecycle(store: identity).admitExistingUser(caller, projectID: project.id, email: userEmail, roles: [ProjectRole.member])
        }
        let base = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        return Demo(issuer: "\(base)/p/\(projectSlug)/sandbox", workspaceID: workspace.id, projectID: project.id,
                    confidentialClientID: confidentialID, confidentialSecret: secret, publicClientID: publicID)
    }

    /// First run of `lamba serve` on the embedded default: an empty database gets the demo.
    static func isEmpty(_ store: any Store) async throws -> Bool {
        try await store.read { reader in try reader.queryOne("SELECT COUNT(*) AS n FROM workspaces").int("n") == 0 }
    }
}

/// `lamba keys rotate --project SLUG --environment ENV`: publish-then-promote rotation of a Project
/// environment's signing keys. A `next` key signs only once it has been in JWKS for as long as JWKS
/// may be cached; until then a rotation publishes it and says when to run again. Retired keys stay
/// in JWKS until the tokens they signed expire.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate", abstract: "Rotate a Project environment's signing keys.")

    @Option(help: "The Project slug.")
    var project: String

    @Option(help: "sandbox or production.")
    var environment: String

    @Option(help: "Database URL (LAMBA_DATABASE_URL).")
    var database: String?

    @Flag(help: "Promote now, even a next key published less than 300 seconds ago: for a key that must stop signing at once.")
    var now = false

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(database: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let store = try await StoreFactory.open(configuration.databaseURL)
        do {
            try await store.migrate()
            // New keys sealed under a key other than the database's would never open in `serve`.
            let (masterKey, _) = try await MasterKeyLocation.verified(try MasterKeyLocation.configured(), for: store, at: configuration.databaseURL)
            let provider = OpenIDProvider(configuration: ProviderConfiguration(publicBaseURL: configuration.publicBaseURL,
                                                                               masterKey: masterKey),
                                          store: SQLOAuthStore(store: store))
            let context: ProviderContext
            do {
                context = try await provider.context(slug: project, environment: environment)
            } catch {
                throw ValidationError("no active project \(project) with environment \(environment)")
            }
            let clients = try await store.read { r in try SQLIdentityRecords(reader: r, transaction: nil).clients(projectID: context.project.id,
                                                                                                                    environment: context.environment) }
            let algorithms = SigningKeyRing.algorithms(context.settings, clients: clients)
            let keep = TimeInterval(max(context.settings.accessTokenLifetimeSeconds, context.settings.idTokenLifetimeSeconds) + 300)
            let rotation = try await provider.keys.rotate(projectID: context.project.id, workspaceID: context.workspace.id,
                                                          environment: context.environment, algorithms: algorithms, keepOldFor: keep,
                                                          immediately: now, actor: "cli")
            let current = try await provider.keys.published(projectID: context.project.id, environment: context.environment)
                .filter { $0.status == .current }.map(\.kid)
            print(JSON.encodeString(.object([
                "issuer": .string(context.issuer), "promoted_kids": .array(rotation.promoted.map(JSONValue.string)),
                "current_kids": .array(current.map(JSONValue.string)),
                "staged": .array(rotation.staged.map { staged in
                    .object(["algorithm": .string(staged.algorithm.rawValue), "kid": .string(staged.kid),
                             "promotable_at": .string(staged.promotableAt.formatted(.iso8601))])
                }),
                "old_keys_published_for_seconds": .integer(Int64(keep)),
            ])))
            if let last = rotation.staged.map(\.promotableAt).max() {
                FileHandle.standardError.write(Data(("keys rotate: the next keys are published; they sign once JWKS caches have them. "
                    + "Run `lamba keys rotate` again after \(last.formatted(.iso8601)) (or with --now for a key that must stop signing at once).\n").utf8))
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
