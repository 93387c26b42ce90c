import ArgumentParser
import LambaJOSE

/// `lamba clients list|create` for one Project environment.
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clients", abstract: "List and register OAuth clients of a Project environment.",
                                                    subcommands: [List.self, Create.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "sandbox or production.") var environment = "sandbox"
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let listed = try await console.client().call("GET", "/projects/\(project)/environments/\(environment)/clients")
            ConsoleClient.show(listed, json: json, columns: ["client_id", "client_name", "client_type", "redirect_uris"])
        }
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Project id.") var project: String
        @Option(help: "sandbox or production.") var environment = "sandbox"
        @Option(help: "Client name.") var name: String
        @Option(help: "confidential or public.") var type = "confidential"
        @Option(help: "Redirect URI (repeat for several).") var redirectURI: [String] = []
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let created = try await console.client().call("POST", "/projects/\(project)/environments/\(environment)/clients", [
                "client_name": .string(name), "client_type": .string(type), "redirect_uris": .array(redirectURI.map(JSONValue.string)),
            ])
            // The secret is shown once: print it whatever the format.
            ConsoleClient.show(created, json: json, columns: ["client_id", "client_name", "client_type", "client_secret"])
        }
    }
}
