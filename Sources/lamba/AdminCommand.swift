import ArgumentParser
import Foundation
import LambaJOSE
import LambaModel
import LambaPostgres
import LambaServer
import LambaStore

/// `lamba admin …`: the installation, straight on the database (no server, no key): sign-in links,
/// administrators, who may create Workspaces, and reactivating a Workspace whose keys stopped with it.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer the installation on its database: sign-in links, administrators, Workspace creation, reactivation.",
        subcommands: [SignInLink.self, AddAdministrator.self, WorkspaceCreation.self, ReactivateWorkspace.self]
    )

    struct Database: ParsableArguments {
        @Option(help: "sqlite:///path or postgres://… (default: $LAMBA_DATABASE_URL, else sqlite:./data/lamba.sqlite).")
        var database: String?

        @Option(name: .customLong("public-url"), help: "Public base URL of the server (LAMBA_PUBLIC_URL, default http://127.0.0.1:8080).")
        var publicURL: String?

        @Flag(help: "Print the result as JSON.") var json = false

        func run<T>(_ body: (DomainIdentityStore, String) async throws -> T) async throws -> T {
            try await AdminCommand.withStore(database: database, publicURL: publicURL, body)
        }

        func print(_ text: String, _ object: JSONObject) {
            Swift.print(json ? JSON.encodeString(.object(object)) : text)
        }
    }

    /// Opens and migrates the store, makes sure the installation exists, runs `body`, closes; a
    /// refusal of the domain is a usage error. `lamba api-keys create --database` runs on it too.
    static func withStore<T>(database: String?, publicURL: String? = nil, _ body: (DomainIdentityStore, String) async throws -> T) async throws -> T {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(publicURL: publicURL, database: database)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        let store = try await StoreFactory.open(configuration.databaseURL, poolSize: 1)
        do {
            try await store.migrate()
            let identity = DomainIdentityStore(store: store)
            try await InstallationSetup(store: identity).ensure(publicBaseURL: configuration.publicBaseURL)
            let result = try await body(identity, configuration.publicBaseURL)
            await store.close()
            return result
        } catch let error as DomainError {
            await store.close()
            throw ValidationError(error.description)
        } catch {
            await store.close()
            throw error
        }
    }

    struct SignInLink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sign-in-link",
                                                        abstract: "Print a one-time console sign-in link (valid 24 hours) for a person.")
        @Option(help: "The person's email address.") var email: String
        @OptionGroup var options: Database

        func run() async throws {
            let (user, url) = try await options.run { identity, base in
                let (user, token) = try await ConsoleAccessAdministration(store: identity).issueSignInLink(email: email, actor: "cli")
                return (user, base + "/console/sign-in-link?token=" + token)
            }
            options.print("One-time sign-in link for \(user.email) (valid 24 hours, shown once):\n  \(url)",
                          ["user_id": .string(user.id), "email": .string(user.email), "sign_in_link": .string(url)])
        }
    }

    struct AddAdministrator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add",
                                                        abstract: "Make a person (created when new) an installation administrator, and print their sign-in link.")
        @Option(help: "The person's email address.") var email: String
        @Option(help: "Their name, for a new person.") var name = "Administrator"
        @OptionGroup var options: Database

        func run() async throws {
            let (user, url) = try await options.run { identity, base in
                let user = try await InstallationSetup(store: identity).addAdministrator(email: email, name: name)
                let (_, token) = try await ConsoleAccessAdministration(store: identity).issueSignInLink(email: user.email, actor: "cli")
                return (user, base + "/console/sign-in-link?token=" + token)
            }
            options.print("\(user.email) is an administrator. One-time sign-in link (valid 24 hours):\n  \(url)",
                          ["user_id": .string(user.id), "email": .string(user.email), "sign_in_link": .string(url)])
        }
    }

    struct WorkspaceCreation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "workspace-creation",
                                                        abstract: "Show or set who may create Workspaces: open, invite_only or administrators.")
        @Argument(help: "open, invite_only or administrators; leave out to show the setting.") var policy: String?
        @OptionGroup var options: Database

        func run() async throws {
            let chosen: WorkspaceCreationPolicy?
            if let policy {
                guard let parsed = WorkspaceCreationPolicy(rawValue: policy) else { throw ValidationError("policy must be open, invite_only or administrators") }
                chosen = parsed
            } else {
                chosen = nil
            }
            let installation = try await options.run { identity, _ in
                try await ConsoleAccessAdministration(store: identity).setWorkspaceCreation(chosen, actor: "cli")
            }
            options.print("workspace creation: \(installation.workspaceCreation.rawValue)", ["workspace_creation": .string(installation.workspaceCreation.rawValue)])
        }
    }

    struct ReactivateWorkspace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reactivate-workspace", abstract: "Reactivate a deactivated Workspace.")
        @Option(help: "The Workspace slug.") var workspace: String
        @OptionGroup var options: Database

        func run() async throws {
            let reactivated = try await options.run { identity, _ in
                try await ConsoleAccessAdministration(store: identity).reactivateWorkspace(slug: workspace, actor: "cli")
            }
            options.print("workspace \(reactivated.slug) (\(reactivated.id)) is active", ["workspace_id": .string(reactivated.id), "status": "active"])
        }
    }
}
