import ArgumentParser
import LambaJOSE

/// `lamba webhooks …`: webhook endpoints of one Project environment, their deliveries and the
/// environment's webhook settings.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "Manage the webhook endpoints of a Project environment.",
        subcommands: [List.self, Create.self, Show.self, Update.self, Delete.self, RotateSecret.self, Enable.self, Deliveries.self, Replay.self,
                      SettingsCommand.self])
    static let columns = ["id", "url", "status", "event_types", "max_concurrency"]
    static let path = "/projects/{project_id}/environments/{environment}/webhooks"

    struct One: ParsableArguments {
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "Webhook endpoint id.") var endpoint: String
        var parameters: [String: String] { scope.parameters(["endpoint_id": endpoint]) }
    }

    /// What `create` and `update` send; `create` needs `--target`.
    struct Changes: ParsableArguments {
        @Option(name: .customLong("target"), help: "https URL the events are posted to.") var url: String?
        @Option(help: "Description.") var description: String?
        @Option(help: "Event type such as user.created (repeat; none means every type).") var eventType: [String] = []
        @Option(help: "Deliveries in flight at once.") var maxConcurrency: Int?
        var body: JSONObject { .given(["url": url, "description": description, "event_types": eventType, "max_concurrency": maxConcurrency]) }
    }

    struct List: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        var parameters: [String: String] { scope.parameters() }
    }

    struct Create: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Add a webhook endpoint (--target URL); its signing secret is shown once.")
        static let operation = ConsoleOperation("POST", path, columns: columns + ["secret"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @OptionGroup var changes: Changes
        var parameters: [String: String] { scope.parameters() }
        func body() -> JSONObject? { changes.body }
    }

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path + "/{endpoint_id}", columns: columns + ["disabled_reason"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        var parameters: [String: String] { endpoint.parameters }
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", path + "/{endpoint_id}", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        @OptionGroup var changes: Changes
        var parameters: [String: String] { endpoint.parameters }
        func body() -> JSONObject? { changes.body }
    }

    struct Delete: ConsoleCommand {
        static let operation = ConsoleOperation("DELETE", path + "/{endpoint_id}")
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        var parameters: [String: String] { endpoint.parameters }
    }

    struct RotateSecret: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "A new signing secret, shown once; the previous one signs too for the grace period.")
        static let operation = ConsoleOperation("POST", path + "/{endpoint_id}/rotate-secret", columns: ["id", "secret", "previous_secret_expires_at"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        @Option(help: "Seconds the previous secret keeps signing (default 24 hours).") var gracePeriodSeconds: Int?
        var parameters: [String: String] { endpoint.parameters }
        func body() -> JSONObject? { .given(["grace_period_seconds": gracePeriodSeconds]) }
    }

    struct Enable: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Enable an endpoint that failures disabled.")
        static let operation = ConsoleOperation("POST", path + "/{endpoint_id}/enable", columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        var parameters: [String: String] { endpoint.parameters }
    }

    struct Deliveries: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's delivery log, newest first.")
        static let operation = ConsoleOperation("GET", path + "/{endpoint_id}/deliveries",
                                                columns: ["id", "event_type", "state", "attempt_count", "created_at", "last_error"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        @Option(help: "Page size (default 50).") var limit: Int?
        @Option(help: "pending, in_flight, succeeded or failed_permanently.") var state: String?
        @Option(help: "next_cursor of the previous page.") var cursor: String?
        var parameters: [String: String] { endpoint.parameters }
        var query: [(String, String?)] { [("limit", limit.map(String.init)), ("state", state), ("cursor", cursor)] }
    }

    struct Replay: ConsoleCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver one event (--event) or a range (--since, --until) again.")
        static let operation = ConsoleOperation("POST", path + "/{endpoint_id}/replay", columns: ["queued"])
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var endpoint: One
        @Option(help: "Event id.") var event: String?
        @Option(help: "RFC 3339 time.") var since: String?
        @Option(help: "RFC 3339 time.") var until: String?
        var parameters: [String: String] { endpoint.parameters }
        func body() -> JSONObject? { .given(["event_id": event, "since": since, "until": until]) }
    }
}

/// `lamba webhooks settings show|update`: whether the environment's webhooks may target private addresses.
struct SettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "Show and change an environment's webhook settings.",
                                                    subcommands: [Show.self, Update.self])
    static let columns = ["environment", "allow_private_targets"]
    static let path = "/projects/{project_id}/environments/{environment}/webhook-settings"

    struct Show: ConsoleCommand {
        static let operation = ConsoleOperation("GET", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        var parameters: [String: String] { scope.parameters() }
    }

    struct Update: ConsoleCommand {
        static let operation = ConsoleOperation("PATCH", path, columns: columns)
        @OptionGroup var console: ConsoleOptions
        @OptionGroup var scope: EnvironmentScope
        @Option(help: "true or false: private and loopback targets allowed.") var allowPrivateTargets: Bool
        var parameters: [String: String] { scope.parameters() }
        func body() -> JSONObject? { ["allow_private_targets": .bool(allowPrivateTargets)] }
    }
}
