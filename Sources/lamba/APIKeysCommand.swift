import ArgumentParser
import LambaJOSE
import LambaModel
import LambaStore

/// `lamba api-keys …`: Workspace API keys, shown once and stored hashed.
struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api-keys", abstract: "List, create and revoke Workspace API keys.",
                                                    subcommands: [List.self, Create.self, Revoke.self])
    static let columns = ["id", "name", "role", "prefix", "created_at", "revoked_at"]

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/api-keys", columns: APIKeysCommand.columns)
        @OptionGroup var console: ConsoleOptions
    }

    /// Through the API, or with `--database` offline on the store for automation: the same domain
    /// service mints the key either way.
    struct Create: ConsoleCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key; its secret is shown once.",
            discussion: "With --database (and --workspace) it runs on the database, no server needed; otherwise it calls the API.")
        static let operation = ConsoleOperation("POST", "/api-keys", columns: APIKeysCommand.columns + ["secret"])
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Key name.") var name: String
        @Option(help: "owner, admin, developer, billing or viewer.") var role = "admin"
        @Option(help: "sqlite:///path or postgres://…: create the key on the database instead of through the API.") var database: String?
        @Option(help: "Workspace slug (with --database).") var workspace: String?

        func body() -> JSONObject? { ["name": .string(name), "role": .string(role)] }

        func run() async throws {
            guard let database else {
                if workspace != nil { throw ValidationError("--workspace goes with --database; an API key names its own Workspace") }
                return try await call()
            }
            guard let workspace else { throw ValidationError("--database needs --workspace SLUG") }
            guard let role = WorkspaceRole(rawValue: role) else { throw ValidationError("--role must be owner, admin, developer, billing or viewer") }
            let (key, secret) = try await AdminCommand.withStore(database: database) { identity, _ in
                guard let found = try await identity.read({ tx in try tx.workspace(slug: workspace) }), found.status == .active else {
                    throw DomainError.notFound("active workspace \(workspace)")
                }
                // The CLI on the database acts as an owner of the Workspace, as `lamba admin` does for the installation.
                let caller = ConsoleCaller(actor: "cli", workspaceID: found.id, workspaceRole: .owner)
                return try await WorkspaceAdministration(store: identity).createAPIKey(caller, name: name, role: role)
            }
            let object: JSONObject = [
                "id": .string(key.id), "name": .string(key.name), "role": .string(key.role.rawValue), "prefix": .string(key.displayPrefix),
                "workspace_id": .string(key.workspaceID), "secret": .string(secret),
            ]
            ConsoleClient.show(.object(object), json: console.json, columns: Array(object.names))
        }
    }

    struct Revoke: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", "/api-keys/{api_key_id}")
        @OptionGroup var console: ConsoleOptions
        @Option(help: "API key id.") var id: String
        var parameters: [String: String] { ["api_key_id": id] }
    }
}
