import ArgumentParser

/// `lamba mail log`: the mail delivery log of one Project environment (never the bodies).
struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mail", abstract: "Read the mail Lamba sent for a Project environment.",
                                                    subcommands: [Log.self])

    struct Log: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "The environment's outgoing mail, newest first, with each delivery attempt.")
        static let operation = ConsoleOperation("GET", "/projects/{project_id}/environments/{environment}/mail",
                                                columns: ["id", "kind", "recipient", "status", "attempt_count", "created_at", "last_error"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Page size (default 50).") var limit: Int?
        @Option(help: "next_cursor of the previous page.") var cursor: String?
        var parameters: [String: String] { scope.parameters() }
        var query: [(String, String?)] { [("limit", limit.map(String.init)), ("cursor", cursor)] }
    }
}
