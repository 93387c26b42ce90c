import ArgumentParser
import LambaJOSE

/// `lamba projects list|create` against a running server's console API.
struct ProjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "projects", abstract: "List and create Projects.",
                                                    subcommands: [List.self, Create.self])

    struct List: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            ConsoleClient.show(try await console.client().call("GET", "/projects"), json: json, columns: ["id", "slug", "name", "visibility", "status"])
        }
    }

    struct Create: AsyncParsableCommand {
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Globally unique slug; names the issuer /p/{slug}/{environment}.") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "public or private.") var visibility = "private"
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            let created = try await console.client().call("POST", "/projects", ["slug": .string(slug), "name": .string(name), "visibility": .string(visibility)])
            ConsoleClient.show(created, json: json, columns: ["id", "slug", "name", "visibility", "status"])
        }
    }
}
