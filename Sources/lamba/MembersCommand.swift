import ArgumentParser
import LambaJOSE

/// `lamba members list|add|set-roles|remove`: Project Members (runtime access) of one Project.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "Manage the Project Members of a Project.",
                                                    subcommands: [List.self, Add.self, SetRoles.self, Remove.self])
    static let columns = ["id", "user", "roles", "status", "joined_via"]

    struct List: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            ConsoleClient.show(try await console.client().call("GET", "/projects/\(project)/members"), json: json, columns: MembersCommand.columns)
        }
    }

    struct Add: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Email of an existing Lamba User.") var email: String
        @Option(help: "Project role (repeat for several; default viewer).") var role: [String] = []
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            var body: JSONObject = ["email": .string(email)]
            if !role.isEmpty { body["roles"] = .array(role.map(JSONValue.string)) }
            ConsoleClient.show(try await console.client().call("POST", "/projects/\(project)/members", body), json: json, columns: MembersCommand.columns)
        }
    }

    struct SetRoles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-roles")
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Project member id.") var member: String
        @Option(help: "Project role (repeat for several).") var role: [String]
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let changed = try await console.client().call("PATCH", "/projects/\(project)/members/\(member)", ["roles": .array(role.map(JSONValue.string))])
            ConsoleClient.show(changed, json: json, columns: MembersCommand.columns)
        }
    }

    struct Remove: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "Project member id.") var member: String
        func run() async throws {
            try await console.client().call("DELETE", "/projects/\(project)/members/\(member)")
            print("removed \(member)")
        }
    }
}
