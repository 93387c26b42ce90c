import ArgumentParser
import LambaJOSE

/// `lamba roles list|create|delete`: a Project's runtime role catalog.
struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "roles", abstract: "Manage a Project's role catalog.",
                                                    subcommands: [List.self, Create.self, Delete.self])
    static let columns = ["name", "permissions", "built_in", "description"]

    struct List: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            ConsoleClient.show(try await console.client().call("GET", "/projects/\(project)/roles"), json: json, columns: RolesCommand.columns)
        }
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Role name.") var name: String
        @Option(help: "Permission resource:action (repeat for several).") var permission: [String]
        @Option(help: "Description.") var description = ""
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let created = try await console.client().call("POST", "/projects/\(project)/roles", [
                "name": .string(name), "description": .string(description), "permissions": .array(permission.map(JSONValue.string)),
            ])
            ConsoleClient.show(created, json: json, columns: RolesCommand.columns)
        }
    }

    struct Delete: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Role name.") var name: String
        func run() async throws {
            try await console.client().call("DELETE", "/projects/\(project)/roles/\(name)")
            print("deleted \(name)")
        }
    }
}
