import ArgumentParser
import LambaJOSE

/// `lamba roles …`: a Project's runtime role catalog.
struct RolesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "roles", abstract: "Manage a Project's role catalog.",
                                                    subcommands: [List.self, Create.self, Update.self, Delete.self])
    static let columns = ["name", "permissions", "built_in", "description"]
    static let path = "/projects/{project_id}/roles"

    struct One: ParsableArguments {
        @OptionGroup var scope: ProjectScope
        @Option(help: "Role name.") var name: String
        var parameters: [String: String] { scope.parameters.merging(["role_name": name]) { $1 } }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        var parameters: [String: String] { scope.parameters }
    }

    struct Create: ConsoleCommand {
        static let operation = ConsoleOperation("POST", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @Option(help: "Role name.") var name: String
        @Option(help: "Permission resource:action (repeat for several).") var permission: [String]
        @Option(help: "Description.") var description: String?
        var parameters: [String: String] { scope.parameters }
        // `permissions` is required even when empty, so it is sent as given.
        func body() -> JSONObject? {
            var body = JSONObject.given(["name": name, "description": description])
            body["permissions"] = .array(permission.map(JSONValue.string))
            return body
        }
    }

    struct Update: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Change a role's description or permissions.")
        static let operation = ConsoleOperation("PATCH", path + "/{role_name}", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var role: One
        @Option(help: "Permission resource:action (repeat; replaces the list).") var permission: [String] = []
        @Option(help: "Description.") var description: String?
        var parameters: [String: String] { role.parameters }
        func body() -> JSONObject? { .given(["description": description, "permissions": permission]) }
    }

    struct Delete: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", path + "/{role_name}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var role: One
        var parameters: [String: String] { role.parameters }
    }
}
