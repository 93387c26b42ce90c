import ArgumentParser
import LambaJOSE

/// `lamba audit workspace|project`: the audit log, Workspace-wide or one Project's, newest first,
/// with every filter the API takes.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Read the audit log, Workspace-wide or of one Project.",
                                                    subcommands: [Workspace.self, Project.self])
    static let columns = ["seq", "occurred_at", "type", "actor", "project_id", "environment"]

    struct Filters: ParsableArguments {
        @Option(help: "Page size (default 50).") var limit: Int?
        @Option(help: "next_cursor of the previous page.") var cursor: Int?
        @Option(help: "sandbox or production.") var environment: String?
        @Option(help: "Actor: a user or API key id.") var actor: String?
        @Option(help: "Event type, such as user.created.") var type: String?
        @Option(help: "RFC 3339 time: events at or after it.") var since: String?
        @Option(help: "RFC 3339 time: events before it.") var until: String?
        var query: [(String, String?)] {
            [("limit", limit.map(String.init)), ("cursor", cursor.map(String.init)), ("environment", environment), ("actor", actor),
             ("type", type), ("since", since), ("until", until)]
        }
    }

    /// Every Project the caller may read the log of, or one (`--project`).
    struct Workspace: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/audit", columns: AuditCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @Option(help: "Only this Project's events.") var project: String?
        @OptionGroup var filters: Filters
        var query: [(String, String?)] { [("project_id", project)] + filters.query }
    }

    /// One Project's log, for a caller whose access is that Project's console role.
    struct Project: ConsoleCommand {
        static let operation = ConsoleOperation("GET", "/projects/{project_id}/audit", columns: AuditCommand.columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: ProjectScope
        @OptionGroup var filters: Filters
        var parameters: [String: String] { scope.parameters }
        var query: [(String, String?)] { filters.query }
    }
}

/// `lamba events`: events after a sequence number, oldest first, waiting up to `--wait` seconds.
struct EventsCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Read the event stream after a cursor, oldest first.")
    static let operation = ConsoleOperation("GET", "/events/stream", columns: AuditCommand.columns)
    @OptionGroup var console: ConsoleOptions
    @Option(help: "Only this Project's events.") var project: String?
    @Option(help: "The cursor of the previous answer.") var after: Int?
    @Option(help: "Seconds to wait for the first event.") var wait: Int?
    @Option(help: "Page size (default 50).") var limit: Int?
    var query: [(String, String?)] {
        [("project_id", project), ("after", after.map(String.init)), ("wait", wait.map(String.init)), ("limit", limit.map(String.init))]
    }
}
