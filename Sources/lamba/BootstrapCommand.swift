import ArgumentParser
import Foundation
import LambaJOSE
import LambaModel
import LambaPostgres
import LambaServer
import LambaStore

/// First run on an empty database: migrates, then creates the installation's first administrator
/// (docs/console-access.md#first-run), their Workspace and an owner API key, and prints the key and
/// a one-time console sign-in link once.
struct BootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Create the first administrator, their Workspace, an owner API key and a console sign-in link on an empty database."
    )

    @Option(help: "sqlite:///path (its directory must exist) or postgres://… (default: $LAMBA_DATABASE_URL, else sqlite:./data/lamba.sqlite).")
    var database: String?

    @Option(help: "The owner's email address.") var email: String
    @Option(help: "The owner's name.") var name: String
    @Option(help: "The Workspace slug (3-40 lowercase letters, digits, hyphens).") var workspaceSlug: String
    @Option(help: "The Workspace's display name.") var workspaceName: String
    @Option(help: "The owner's console password (at least 10 characters); omit for API-key-only access.") var password: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() async throws {
        let url: DatabaseURL
        do {
            url = try ServerConfiguration.databaseURL(flag: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let publicBaseURL: String
        do {
            publicBaseURL = try ServerConfiguration.load(database: database).publicBaseURL
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let store = try await StoreFactory.open(url, poolSize: 1)
        let result: WorkspaceAdministration.Bootstrap
        let signInLink: String
        do {
            try await store.migrate()
            let identity = DomainIdentityStore(store: store)
            let setup = InstallationSetup(store: identity)
            try await setup.ensure(publicBaseURL: publicBaseURL)
            if try await setup.hasAdministrator() {
                throw DomainError.refused("the installation has an administrator already: bootstrap runs once; use lamba admin sign-in-link")
            }
            result = try await WorkspaceAdministration(store: identity).bootstrap(
                email: email, password: password, name: name, workspaceSlug: workspaceSlug, workspaceName: workspaceName)
            _ = try await setup.addAdministrator(email: email, name: name)
            let (_, token) = try await ConsoleAccessAdministration(store: identity).issueSignInLink(email: email, actor: "cli")
            signInLink = publicBaseURL + "/console/sign-in-link?token=" + token
        } catch let error as DomainError {
            await store.close()
            throw ValidationError(error.description)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        if json {
            let object: JSONObject = [
                "user_id": .string(result.user.id), "email": .string(result.user.email), "workspace_id": .string(result.workspace.id),
                "workspace_slug": .string(result.workspace.slug), "api_key_id": .string(result.apiKey.id), "api_key": .string(result.apiKeySecret),
                "console": .string(publicBaseURL + "/console"), "sign_in_link": .string(signInLink),
            ]
            print(JSON.encodeString(.object(object)))
        } else {
            print("""
                user       \(result.user.id) \(result.user.email)
                workspace  \(result.workspace.id) \(result.workspace.slug)
                api key    \(result.apiKey.id)
                
                Owner API key (shown once, store it now):
                \(result.apiKeySecret)

                Console: \(publicBaseURL)/console
                One-time console sign-in link (valid 24 hours, shown once):
                \(signInLink)
                """)
        }
    }
}
